"""Who may see and change what: other teams' submissions are 404 (not 403), hidden-phase per-image
scores stay with organizers, hidden ground truth is never served, only organizers edit a challenge."""

import io
import zipfile

import pytest
from rb_test_helpers import install_phase_data, png_bytes, scored_submission
from rest_framework.test import APIClient
from restorebench.challenges.models import AuditLogEntry
from restorebench.submissions.models import ImageScore

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def two_teams(make_arena, make_participant):
    arena = make_arena(images=1)
    alice, team_a = make_participant(arena)
    bob, _ = make_participant(arena)
    submission = scored_submission(arena.phase, team_a, {"psnr": 30.0, "ssim": 0.9})
    return arena, alice, bob, submission


@pytest.mark.parametrize("suffix", ["", "scores/"])
def test_another_teams_submission_is_not_found_rather_than_forbidden(two_teams, suffix):
    arena, alice, bob, submission = two_teams
    assert _client(alice).get(f"/api/submissions/{submission.pk}/{suffix}").status_code == 200
    response = _client(bob).get(f"/api/submissions/{submission.pk}/{suffix}")
    assert response.status_code == 404
    assert _client(bob).get(f"/api/submissions/{submission.pk + 999}/{suffix}").json() == response.json()


def test_another_team_cannot_choose_a_submission(two_teams):
    arena, alice, bob, submission = two_teams
    assert _client(bob).post(f"/api/submissions/{submission.pk}/choose/").status_code == 404
    assert _client(alice).post(f"/api/submissions/{submission.pk}/choose/").json()["is_chosen"] is True


def test_a_participant_lists_only_their_own_teams_submissions(two_teams):
    arena, alice, bob, submission = two_teams
    assert [s["id"] for s in _client(alice).get("/api/submissions/").json()] == [submission.pk]
    assert _client(bob).get("/api/submissions/").json() == []
    assert [
        s["id"] for s in _client(arena.organizer).get(f"/api/phases/{arena.phase.pk}/submissions/").json()
    ] == [submission.pk]


def test_per_image_scores_of_a_hidden_phase_are_for_organizers_only(make_arena, make_participant):
    arena = make_arena(images=1, hidden_ground_truth=True, score_decimals=1)
    alice, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 30.04, "ssim": 0.93})
    response = _client(alice).get(f"/api/submissions/{submission.pk}/scores/")
    assert response.status_code == 403 and "hidden" in response.json()["detail"]
    assert _client(arena.organizer).get(f"/api/submissions/{submission.pk}/scores/").status_code == 200
    assert _client(alice).get(f"/api/submissions/{submission.pk}/").json()["scores"] == {
        "psnr": 30.0,
        "ssim": 0.9,
    }


def test_per_image_scores_are_rows_the_team_can_read_in_an_open_phase(two_teams):
    from restorebench.submissions.models import EvaluationJob

    arena, alice, _, submission = two_teams
    job = EvaluationJob.objects.create(submission=submission, status="done", aggregates={"psnr": 30.0})
    ImageScore.objects.bulk_create(
        [
            ImageScore(job=job, image_name="0000.png", metric=m, value=v)
            for m, v in (("psnr", 30.0), ("ssim", 0.9))
        ]
    )
    submission.current_job = job
    submission.save()
    body = _client(alice).get(f"/api/submissions/{submission.pk}/scores/").json()
    assert body["metrics"] == ["psnr", "ssim"]
    assert body["images"] == [{"image": "0000.png", "psnr": 30.0, "ssim": 0.9}]


def test_hidden_ground_truth_is_never_served(make_arena, make_participant, platform_dirs):
    arena = make_arena(images=2)
    alice, _ = make_participant(arena)
    degraded = {name: array // 3 for name, array in arena.ground_truth.items()}
    arena.phase = install_phase_data(arena.phase, inputs={n: png_bytes(a) for n, a in degraded.items()})
    client = _client(alice)

    response = client.get(f"/api/phases/{arena.phase.pk}/inputs.zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {n: archive.read(n) for n in archive.namelist()} == {n: png_bytes(a) for n, a in degraded.items()}
    for url in (
        f"/api/phases/{arena.phase.pk}/",
        f"/api/tracks/{arena.track.pk}/",
        f"/api/challenges/{arena.challenge.slug}/",
    ):
        # Field names that say "hidden" are not paths: removed before looking for the hidden tree.
        content = (
            client.get(url).content.decode().replace("hidden_ground_truth", "").replace("results_hidden", "")
        )
        assert "ground_truth_dir" not in content and "hidden" not in content


def test_only_the_challenges_organizers_edit_it_and_limit_changes_are_audited(two_teams, make_user):
    arena, alice, _, _ = two_teams
    other_organizer = make_user()
    url = f"/api/phases/{arena.phase.pk}/update/"
    assert _client(alice).patch(url, {"max_submissions_per_day": 50}, format="json").status_code == 403
    assert (
        _client(other_organizer).patch(url, {"max_submissions_per_day": 50}, format="json").status_code == 403
    )
    response = _client(arena.organizer).patch(url, {"max_submissions_per_day": 5}, format="json")
    assert response.status_code == 200 and response.json()["max_submissions_per_day"] == 5
    entry = AuditLogEntry.objects.filter(challenge=arena.challenge, action="phase.update").get()
    assert (entry.actor, entry.details) == (
        arena.organizer,
        {"max_submissions_per_day": {"from": None, "to": 5}},
    )
    log = _client(arena.organizer).get(f"/api/challenges/{arena.challenge.slug}/audit-log/").json()
    assert log[0]["action"] == "phase.update"


def test_an_organizer_disqualifies_with_a_reason_and_it_is_audited(two_teams):
    arena, alice, _, submission = two_teams
    url = f"/api/submissions/{submission.pk}/disqualify/"
    assert _client(alice).post(url, {"reason": "mine"}, format="json").status_code == 403
    assert _client(arena.organizer).post(url, {}, format="json").status_code == 400
    response = _client(arena.organizer).post(url, {"reason": "trained on test images"}, format="json")
    assert response.json()["disqualified"] is True
    assert _client(alice).get(f"/api/submissions/{submission.pk}/").json()["disqualified_reason"] == (
        "trained on test images"
    )
    assert AuditLogEntry.objects.filter(
        action="submission.disqualify", target=f"submission:{submission.pk}"
    ).exists()
    assert _client(alice).get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()["rows"] == []


def test_a_private_challenge_is_invisible_to_outsiders(make_arena, make_user):
    arena = make_arena(images=1)
    arena.challenge.is_public = False
    arena.challenge.save()
    outsider = _client(make_user())
    assert outsider.get(f"/api/challenges/{arena.challenge.slug}/").status_code == 404
    assert outsider.get(f"/api/phases/{arena.phase.pk}/leaderboard/").status_code == 404
    assert _client(arena.organizer).get(f"/api/challenges/{arena.challenge.slug}/").status_code == 200


def test_the_leaderboard_csv_export_matches_the_json(two_teams):
    import csv

    arena, alice, _, submission = two_teams
    scored_submission(arena.phase, None, {"psnr": 20.0, "ssim": 0.5}, method_name="bicubic")
    client = APIClient()
    board = client.get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
    response = client.get(f"/api/phases/{arena.phase.pk}/leaderboard.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["rank"], r["submission"], r["reference"]) for r in rows] == [
        ("1" if row["rank"] else "", str(row["submission_id"]), "yes" if row["is_reference"] else "no")
        for row in board["rows"]
    ]
    assert float(rows[0]["psnr"]) == board["rows"][0]["scores"]["psnr"] == 30.0
