"""FLOPs of model entries on the leaderboards: a formula over `flops` ranks by it (and picks each
team's representative by it in SQL), the page shows runtime / params / FLOPs with one unit each, the
API and the CSV export carry the counts, and the phase's plots draw quality against FLOPs."""

import csv
import io
import re
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rb_test_helpers import scored_submission
from rest_framework.test import APIClient
from restorebench.challenges.services import track_update
from restorebench.leaderboards.figures import phase_figures
from restorebench.leaderboards.report import report_archive
from restorebench.leaderboards.selectors import leaderboard_compute

pytestmark = pytest.mark.django_db

F0 = 1e9
RANKING = {
    "leaderboards": [{"slug": "lean", "title": "Lean", "score": f"flops/{F0}", "order": "lower_first"}]
}


def _model(phase, team, psnr: float, flops: int | None, params: int = 250_000):
    return scored_submission(
        phase,
        team,
        {"psnr": psnr, "ssim": 0.8},
        method_name=f"net-{flops}",
        kind="model",
        model_format="onnx",
        model_manifest={},
        model_seconds_per_image=0.125,
        model_parameters=params,
        model_flops=flops,
    )


@pytest.fixture
def board(make_arena, make_participant):
    arena = make_arena(images=1)
    track_update(
        track=arena.track, actor=arena.organizer, ranking=RANKING, efficiency={"input_size": [64, 48]}
    )
    arena.phase.refresh_from_db()
    teams = [make_participant(arena) for _ in range(3)]
    (_, a), (_, b), (user_c, c) = teams
    a_heavy = _model(arena.phase, a, 30.0, 4_000_000_000)  # a's best on PSNR, not on FLOPs
    a_light = _model(arena.phase, a, 25.0, 1_500_000_000)  # a's representative on the FLOPs board
    b_mid = _model(arena.phase, b, 28.0, 2_000_000_000)
    c_uncounted = _model(arena.phase, c, 29.0, None)  # an operator could not be counted
    return arena, user_c, {"a_heavy": a_heavy, "a_light": a_light, "b": b_mid, "c": c_uncounted}


def test_a_formula_over_flops_ranks_by_them_and_picks_each_teams_lightest_entry(board):
    arena, _, subs = board
    rows = leaderboard_compute(phase=arena.phase, board="lean", use_cache=False).rows
    by_id = {r.submission_id: r for r in rows}
    assert subs["a_heavy"].pk not in by_id  # the SQL pick: a's lower-FLOPs submission represents it
    assert [(r.submission_id, r.rank) for r in rows[:2]] == [(subs["a_light"].pk, 1), (subs["b"].pk, 2)]
    assert rows[0].score == pytest.approx(1.5) and rows[1].score == pytest.approx(2.0)
    unranked = by_id[subs["c"].pk]
    assert unranked.rank is None and unranked.flops is None and "flops" in unranked.reason


def test_the_api_and_the_csv_carry_flops_and_the_reference_input(board):
    arena, *_ = board
    client = APIClient()
    client.force_authenticate(arena.organizer)
    data = client.get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
    assert data["reference_input"] == [64, 48]
    assert [(r["method_name"], r["flops"], r["parameters"]) for r in data["rows"][:2]] == [
        ("net-1500000000", 1_500_000_000, 250_000),
        ("net-2000000000", 2_000_000_000, 250_000),
    ]
    text = client.get(f"/api/phases/{arena.phase.pk}/leaderboard.csv").content.decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["flops"] for line in lines] == ["1500000000", "2000000000", ""]


def test_the_page_shows_runtime_params_and_flops_with_one_unit_each(board):
    arena, user_c, _ = board
    page = Client()
    page.force_login(arena.organizer)
    html = page.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    for header in ("Runtime (s/image)", "Params (M)", "GFLOPs"):
        assert f">{header}</th>" in html
    # 1.5e9 FLOPs in billions, 250,000 parameters in millions, with the exact counts on hover
    assert 'title="1500000000">1.500</td>' in html and 'title="250000">0.250</td>' in html
    assert "counted at a 64×48 model input" in html


def _team_markers(svg: str) -> int:
    """Scatter markers drawn in the teams' colour (plots._scatter), one per entry."""
    return len(
        re.findall(r'<use xlink:href="#m[0-9a-f]+" x="[-0-9.]+" y="[-0-9.]+" style="fill: #1f6feb', svg)
    )


def test_the_plots_draw_quality_against_flops_for_model_entries(board):
    arena, *_ = board
    figures = {f["title"]: f for f in phase_figures(phase=arena.phase)}
    flops = figures["psnr against GFLOPs at a 64×48 input"]
    assert flops["note"] == "Model entries, log axis."
    # a's and b's entries have FLOPs; c's count was incomplete, so it has no point on this plot
    assert _team_markers(flops["svg"]) == 2
    assert _team_markers(figures["psnr against parameters"]["svg"]) == 3
    assert _team_markers(figures["psnr against seconds per image"]["svg"]) == 3
    # The challenge report's archive carries the same figure
    with zipfile.ZipFile(io.BytesIO(report_archive(track=arena.track))) as archive:
        assert any("gflops" in name for name in archive.namelist())


def test_the_reference_input_is_validated_where_the_track_is_and_shown_by_the_api(board):
    arena, *_ = board
    with pytest.raises(ValidationError, match="from 8 to 4096"):
        track_update(track=arena.track, actor=arena.organizer, efficiency={"input_size": [2, 2]})
    client = APIClient()
    client.force_authenticate(arena.organizer)
    bad = client.patch(
        f"/api/tracks/{arena.track.pk}/update/", {"efficiency": {"input_size": "big"}}, format="json"
    )
    assert bad.status_code == 400 and "efficiency" in bad.json()["errors"]
    good = client.patch(
        f"/api/tracks/{arena.track.pk}/update/", {"efficiency": {"input_size": 32}}, format="json"
    )
    assert good.status_code == 200 and good.json()["efficiency"] == {"input_size": [32, 32]}
