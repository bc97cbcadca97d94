"""Several leaderboards per phase: formula, metrics and combined boards on the same team entries,
each its own API resource with CSV and JSON exports; references unranked on every board; a team's
representative picked by the first board (here the formula); tabs on the page."""

import csv
import io
import math

import pytest
from rb_test_helpers import scored_submission
from rest_framework.test import APIClient
from restorebench.challenges.services import track_update
from restorebench.leaderboards.selectors import leaderboards_compute

pytestmark = pytest.mark.django_db

R0, P0 = 0.02, 1000
RANKING = {
    "leaderboards": [
        {
            "slug": "main",
            "title": "Main",
            "score": f"0.5*exp(2*runtime/{R0}) + 0.5*exp(2*params/{P0})",
            "order": "lower_first",
            "gate": "psnr >= 26.90",
        },
        {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr", "ssim"]},
        {"slug": "overall", "title": "Overall", "combine": {"leaderboards": ["main", "fidelity"]}},
    ]
}


def model(phase, team, psnr: float, runtime: float, params: int, **fields):
    return scored_submission(
        phase,
        team,
        {"psnr": psnr, "ssim": 0.8},
        kind="model",
        model_format="onnx",
        model_manifest={},
        model_seconds_per_image=runtime,
        model_parameters=params,
        **fields,
    )


@pytest.fixture
def arena(make_arena):
    arena = make_arena(images=1)
    track_update(track=arena.track, actor=arena.organizer, ranking=RANKING)
    arena.phase.refresh_from_db()
    return arena


def test_every_board_ranks_the_same_team_entries_and_references_stay_unranked(arena, make_participant):
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    _, c = make_participant(arena)
    a_slow = model(arena.phase, a, 28.0, R0 * 2, P0)  # a's best on PSNR, not on the formula
    a_fast = model(arena.phase, a, 27.0, R0 / 2, P0 / 2)  # main: e^1 = 2.718: a's representative
    b_only = model(arena.phase, b, 27.5, R0, P0)  # main: e^2 = 7.389
    c_only = model(arena.phase, c, 26.0, R0 / 4, P0 / 4)  # gated out of main
    ref = scored_submission(arena.phase, None, {"psnr": 27.2, "ssim": 0.8}, method_name="bicubic")
    boards = leaderboards_compute(phase=arena.phase)
    assert list(boards) == ["main", "fidelity", "overall"]

    def summary(slug):
        return [(r.rank, r.submission_id) for r in boards[slug].rows]

    # The reference has no runtime: unranked with the reason, after the ranked entries.
    assert summary("main") == [(1, a_fast.pk), (2, b_only.pk), (None, c_only.pk), (None, ref.pk)]
    main = {r.submission_id: r for r in boards["main"].rows}
    assert main[a_fast.pk].score == pytest.approx(math.e)
    assert main[c_only.pk].gated_out and main[c_only.pk].reason.startswith("gate not met")
    assert main[ref.pk].reason == "runtime not measured; params not measured"
    assert main[a_fast.pk].inputs == {"runtime": R0 / 2, "params": P0 / 2, "psnr": 27.0}
    # Fidelity ranks the same representatives (a_fast, not a_slow); the reference stands between.
    assert summary("fidelity") == [(1, b_only.pk), (None, ref.pk), (2, a_fast.pk), (3, c_only.pk)]
    assert a_slow.pk not in {r.submission_id for r in boards["overall"].rows}
    # Overall: a (1, 2) and b (2, 1) tie at 1.5; c is not ranked on main.
    overall = [(r.rank, r.submission_id, r.score) for r in boards["overall"].rows]
    assert overall[:2] == [(1, a_fast.pk, 1.5), (1, b_only.pk, 1.5)]
    assert (None, c_only.pk) == overall[2][:2] or (None, c_only.pk) == overall[3][:2]


def test_a_chosen_submission_represents_its_team_on_every_board(arena, make_participant):
    _, a = make_participant(arena)
    model(arena.phase, a, 27.0, R0 / 2, P0 / 2)
    chosen = model(arena.phase, a, 28.0, R0 * 2, P0, is_chosen=True)
    boards = leaderboards_compute(phase=arena.phase)
    assert {slug: [r.submission_id for r in board.rows] for slug, board in boards.items()} == {
        "main": [chosen.pk],
        "fidelity": [chosen.pk],
        "overall": [chosen.pk],
    }


def test_each_board_is_an_api_resource_with_csv_and_json_exports(arena, make_participant):
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    model(arena.phase, a, 27.0, R0 / 2, P0 / 2)
    model(arena.phase, b, 26.0, R0, P0)
    client = APIClient()
    base = f"/api/phases/{arena.phase.pk}"
    assert client.get(f"{base}/leaderboards/").json() == [
        {"slug": "main", "title": "Main"},
        {"slug": "fidelity", "title": "Fidelity"},
        {"slug": "overall", "title": "Overall"},
    ]
    main = client.get(f"{base}/leaderboards/main/").json()
    assert (main["slug"], main["kind"], main["aggregation"]) == ("main", "formula", "means")
    assert main["ranking"]["gate"] == "psnr >= 26.90"
    assert [(r["rank"], r["gated_out"]) for r in main["rows"]] == [(1, False), (None, True)]
    assert client.get(f"{base}/leaderboard/").json()["slug"] == "main"  # the first board
    fidelity = client.get(f"{base}/leaderboards/fidelity/").json()
    assert [r["rank"] for r in fidelity["rows"]] == [1, 2] and fidelity["aggregation"] is None
    response = client.get(f"{base}/leaderboards/main.csv")
    assert "main-leaderboard.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows[0]
    assert [rows[1][header.index("rank")], rows[2][header.index("gated_out")]] == ["1", "yes"]
    assert float(rows[1][header.index("score")]) == pytest.approx(math.e)
    exported = client.get(f"{base}/leaderboards/overall.json")
    assert "overall-leaderboard.json" in exported["Content-Disposition"]
    assert exported.json()["kind"] == "combined"
    assert client.get(f"{base}/leaderboards/nope/").status_code == 404


def test_an_infinite_score_is_written_as_the_evaluator_writes_it(arena, make_participant):
    _, a = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": "inf", "ssim": 1.0})
    rows = APIClient().get(f"/api/phases/{arena.phase.pk}/leaderboards/fidelity/").json()["rows"]
    assert rows[0]["score"] == "inf" and rows[0]["rank"] == 1


def test_the_page_shows_a_tab_per_board_and_the_formula(client, arena, make_participant):
    _, a = make_participant(arena)
    model(arena.phase, a, 27.0, R0 / 2, P0 / 2)
    html = client.get(f"/phases/{arena.phase.pk}/leaderboard/?board=main").content.decode()
    for slug in ("main", "fidelity", "overall"):
        assert f"?board={slug}" in html
    assert f"0.5*exp(2*runtime/{R0})" in html and "computed on the per-metric means" in html
    assert client.get(f"/phases/{arena.phase.pk}/leaderboard/?board=nope").status_code == 404


def test_participants_of_a_non_public_phase_see_no_rank_made_score(arena, make_participant):
    arena.phase.leaderboard_public = False
    arena.phase.save()
    user, a = make_participant(arena)
    _, b = make_participant(arena)
    model(arena.phase, a, 27.0, R0 / 2, P0 / 2)
    model(arena.phase, b, 27.5, R0, P0)
    client = APIClient()
    client.force_authenticate(user)
    overall = client.get(f"/api/phases/{arena.phase.pk}/leaderboards/overall/").json()
    assert [(r["rank"], r["score"], r["ranks"]) for r in overall["rows"]] == [(None, None, None)]
    main = client.get(f"/api/phases/{arena.phase.pk}/leaderboards/main/").json()
    assert [r["rank"] for r in main["rows"]] == [None] and main["rows"][0]["score"] == pytest.approx(math.e)


def _with_images(phase, team, psnrs: dict[str, float]):
    from restorebench.submissions.models import EvaluationJob, ImageScore, Submission

    mean = sum(psnrs.values()) / len(psnrs)
    submission = scored_submission(phase, team, {"psnr": mean, "ssim": 0.8}, method_name=team.name)
    job = EvaluationJob.objects.create(submission=submission, status="done", attempts=1)
    Submission.objects.filter(pk=submission.pk).update(current_job=job)
    ImageScore.objects.bulk_create(
        [ImageScore(job=job, image_name=n, metric=m, value=v if m == "psnr" else 0.8)
         for n, v in psnrs.items() for m in ("psnr", "ssim")]
    )  # fmt: skip
    return submission


def test_a_per_image_board_applies_the_formula_to_each_stored_image_then_averages(
    make_arena, make_participant, client
):
    arena = make_arena(images=1)
    formula = {"score": "max(0, psnr - 30)", "order": "higher_first"}
    ranking = {
        "leaderboards": [
            {"slug": "per-image", "title": "Per image", **formula, "per_image": True},
            {"slug": "means", "title": "Means", **formula},
        ]
    }
    track_update(track=arena.track, actor=arena.organizer, ranking=ranking)
    _, uneven = make_participant(arena)
    _, even = make_participant(arena)
    # Both have a mean PSNR of 30 dB. Per image: uneven max(0, -10), max(0, 10) -> mean 5; even 0 and 0.
    _with_images(arena.phase, uneven, {"a.png": 20.0, "b.png": 40.0})
    _with_images(arena.phase, even, {"a.png": 30.0, "b.png": 30.0})
    base = f"/api/phases/{arena.phase.pk}/leaderboards"
    per_image = APIClient().get(f"{base}/per-image/").json()
    assert per_image["aggregation"] == "per_image"
    assert [(r["team_name"], r["rank"], r["score"]) for r in per_image["rows"]] == [
        (uneven.name, 1, pytest.approx(5.0)),
        (even.name, 2, pytest.approx(0.0)),
    ]
    means = APIClient().get(f"{base}/means/").json()
    assert means["aggregation"] == "means"
    assert [(r["rank"], r["score"]) for r in means["rows"]] == [(1, 0.0), (1, 0.0)]  # the same mean: a tie
    page = client.get(f"/phases/{arena.phase.pk}/leaderboard/?board=per-image").content.decode()
    assert "computed per image, then averaged" in page
