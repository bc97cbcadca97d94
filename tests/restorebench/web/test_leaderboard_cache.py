"""The leaderboard's cached views (the API's JSON and the page's rendered rows, shared by every viewer
of one class): every change that moves the board shows on the very next request, and nothing one
viewer may see is ever served from the cache to another."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from rb_test_helpers import scored_submission
from restorebench.challenges.services import phase_update
from restorebench.leaderboards.versions import leaderboard_view_key
from restorebench.submissions import jobs
from restorebench.submissions.models import EvaluationJob
from restorebench.submissions.services import phase_rescore, submission_disqualify, submission_requalify

from .conftest import table_rows

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_rows(client: Client, phase) -> list[tuple]:
    body = client.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    return [
        (r["rank"], r["team_name"] or f"ref:{r['method_name']}", r["scores"]["psnr"]) for r in body["rows"]
    ]


def page_rows(client: Client, phase) -> list[dict]:
    response = client.get(f"/phases/{phase.pk}/leaderboard/")
    assert response.status_code == 200
    return table_rows(response.content.decode(), "leaderboard")[1:]  # without the header row


def both(client: Client, phase) -> tuple[list[tuple], list[list[str]]]:
    return api_rows(client, phase), [row["cells"][:2] for row in page_rows(client, phase)]


@pytest.fixture
def board(make_arena, make_participant):
    arena = make_arena(images=1)
    user_a, a = make_participant(arena)
    user_b, b = make_participant(arena)
    first = scored_submission(arena.phase, a, {"psnr": 30.0, "ssim": 0.9})
    second = scored_submission(arena.phase, b, {"psnr": 25.0, "ssim": 0.8})
    return arena, (user_a, a, first), (user_b, b, second)


def test_a_new_score_shows_on_the_very_next_read(board, make_participant):
    arena, (_, a, _), (_, b, _) = board
    viewer = _client()
    assert both(viewer, arena.phase) == (
        [(1, a.name, 30.0), (2, b.name, 25.0)],
        [["1", a.name], ["2", b.name]],
    )
    scored_submission(arena.phase, b, {"psnr": 31.0, "ssim": 0.9})
    assert both(viewer, arena.phase) == (
        [(1, b.name, 31.0), (2, a.name, 30.0)],
        [["1", b.name], ["2", a.name]],
    )


def test_a_disqualification_and_a_requalification_show_on_the_very_next_read(board):
    arena, (_, a, first), (_, b, _) = board
    viewer = _client()
    assert both(viewer, arena.phase)[0] == [(1, a.name, 30.0), (2, b.name, 25.0)]
    submission_disqualify(submission=first, actor=arena.organizer, reason="copied")
    assert both(viewer, arena.phase) == ([(1, b.name, 25.0)], [["1", b.name]])
    submission_requalify(submission=first, actor=arena.organizer)
    assert both(viewer, arena.phase)[0] == [(1, a.name, 30.0), (2, b.name, 25.0)]


def test_a_finished_rescore_shows_its_new_scores_on_the_very_next_read(board, monkeypatch):
    arena, (_, a, first), (_, b, _) = board
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: True)  # run the job in-process
    viewer = _client()
    assert both(viewer, arena.phase)[0] == [(1, a.name, 30.0), (2, b.name, 25.0)]
    phase_rescore(phase=arena.phase, actor=arena.organizer, reason="metric fix")
    job = EvaluationJob.objects.get(submission=first, purpose="rescore")
    claim = jobs.evaluation_job_claim(job_id=job.pk, worker="test")
    result = {
        "aggregates": {"psnr": 20.0, "ssim": 0.5},
        "rows": [{"name": "0000.png", "scores": {"psnr": 20.0}}],
    }
    assert jobs.evaluation_job_complete(job_id=job.pk, token=claim.token, result=result)
    assert both(viewer, arena.phase) == (
        [(1, b.name, 25.0), (2, a.name, 20.0)],
        [["1", b.name], ["2", a.name]],
    )


def test_a_reveal_shows_the_frozen_ranking_to_participants_on_the_very_next_read(board):
    arena, (user_a, a, _), (_, b, _) = board
    phase_update(phase=arena.phase, actor=arena.organizer, results_hidden=True)
    participant, anonymous, organizer = _client(user_a), _client(), _client(arena.organizer)
    assert both(organizer, arena.phase)[0] == [(1, a.name, 30.0), (2, b.name, 25.0)]  # fills the caches
    assert both(participant, arena.phase) == ([], []) and both(anonymous, arena.phase) == ([], [])
    assert organizer.post(f"/api/phases/{arena.phase.pk}/reveal/").status_code == 201
    shown = ([(1, a.name, 30.0), (2, b.name, 25.0)], [["1", a.name], ["2", b.name]])
    assert both(anonymous, arena.phase) == shown
    assert api_rows(participant, arena.phase) == shown[0]


def test_visibility_and_rounding_changes_show_on_the_very_next_read(board):
    arena, (user_a, a, _), (user_b, b, _) = board
    scored_submission(arena.phase, None, {"psnr": 27.123456, "ssim": 0.7}, method_name="bm3d")
    viewer = _client(user_a)
    assert api_rows(viewer, arena.phase) == [
        (1, a.name, 30.0),
        (None, "ref:bm3d", 27.123456),
        (2, b.name, 25.0),
    ]
    phase_update(phase=arena.phase, actor=arena.organizer, leaderboard_public=False)
    assert api_rows(viewer, arena.phase) == [(None, a.name, 30.0), (None, "ref:bm3d", 27.123456)]
    assert [row["cells"][1] for row in page_rows(viewer, arena.phase)] == [f"{a.name} you", "baseline"]
    phase_update(phase=arena.phase, actor=arena.organizer, leaderboard_public=True)
    phase_update(phase=arena.phase, actor=arena.organizer, hidden_ground_truth=True, score_decimals=2)
    assert api_rows(viewer, arena.phase) == [(1, a.name, 30.0), (None, "ref:bm3d", 27.12), (2, b.name, 25.0)]


def test_each_viewer_sees_only_their_own_row_marked_whatever_the_cache_holds(board):
    arena, (user_a, a, first), (user_b, b, second) = board
    seen = {}
    for who, user in (("a", user_a), ("b", user_b), ("anonymous", None), ("a again", user_a)):
        rows = page_rows(_client(user), arena.phase)
        seen[who] = [(row["cells"][1], "mine" in row["class"].split()) for row in rows]
    assert seen["a"] == seen["a again"] == [(f"{a.name} you", True), (b.name, False)]
    assert seen["b"] == [(a.name, False), (f"{b.name} you", True)]
    assert seen["anonymous"] == [(a.name, False), (b.name, False)]
    # Only the viewer's own row links to the submission (a participant may not open another team's).
    html = _client(user_b).get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    assert f"/submissions/{second.pk}/" in html and f"/submissions/{first.pk}/" not in html


def test_what_organizers_see_is_never_served_to_participants_or_anonymous_viewers(board, make_participant):
    arena, (user_a, a, first), (_, b, _) = board
    _, c = make_participant(arena)
    scored_submission(arena.phase, c, {"psnr": 29.0, "ssim": 0.9}, fingerprint=first.content_fingerprint)
    phase_update(phase=arena.phase, actor=arena.organizer, hidden_ground_truth=True, score_decimals=0)
    organizer = _client(arena.organizer)
    body = organizer.get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
    assert [(r["scores"]["ssim"], r["flagged_identical"]) for r in body["rows"]] == [
        (0.9, True),
        (0.9, True),
        (0.8, False),
    ]
    assert "identical" in organizer.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    for viewer in (_client(user_a), _client()):
        body = viewer.get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
        assert [(r["scores"]["ssim"], r["flagged_identical"]) for r in body["rows"]] == [
            (1.0, False),
            (1.0, False),
            (1.0, False),
        ]
        page = viewer.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
        assert "identical" not in page and f"/submissions/{first.pk + 1}/" not in page


def test_a_private_board_is_never_shared_between_viewers(board):
    arena, (user_a, a, _), (user_b, b, _) = board
    phase_update(phase=arena.phase, actor=arena.organizer, leaderboard_public=False)
    assert leaderboard_view_key(phase=arena.phase, user=user_a, board=None) is None
    assert leaderboard_view_key(phase=arena.phase, user=AnonymousUser(), board=None) is None
    assert api_rows(_client(user_a), arena.phase) == [(None, a.name, 30.0)]
    assert api_rows(_client(user_b), arena.phase) == [(None, b.name, 25.0)]
    assert api_rows(_client(), arena.phase) == [] and page_rows(_client(), arena.phase) == []
    assert [row["cells"][1] for row in page_rows(_client(user_b), arena.phase)] == [f"{b.name} you"]
