"""A failed submission's page lists every file the evaluator complained about (missing, wrong size,
unreadable, extra...), grouped by kind, beside the summary reason; a scored one lists the files that
were skipped or ignored. The API's `evaluation.problems` carries the same list, and the rounded scores
of hidden phases come from the one submissions selector."""

import numpy as np
import pytest
from rb_test_helpers import make_zip, png_bytes, scored_submission
from restorebench import storage
from restorebench.submissions.models import EvaluationJob, Submission
from restorebench.submissions.selectors import submission_problem_list, submission_scores_for_viewer

from evaluator.errors import SubmissionRejected
from evaluator.scoring import score

from .conftest import table_rows

pytestmark = pytest.mark.django_db


def _rejected_problems(arena, tmp_path) -> tuple[str, list[dict]]:
    """What the evaluator itself says about a zip with a wrong-sized image, an undecodable one and an
    extra file (a missing image is refused before any is decoded: see the missing-image test)."""
    restored = arena.restored(noise=3)
    members = {
        "0000.png": png_bytes(restored["0000.png"]),
        "0001.png": png_bytes(np.zeros((10, 10, 3), dtype=np.uint8)),  # wrong size
        "0002.png": png_bytes(restored["0002.png"])[:80],  # cut short: unreadable
        "0003.png": png_bytes(restored["0003.png"]),
        "notes.png": png_bytes(restored["0003.png"]),  # no such ground truth: ignored
    }
    archive = tmp_path / "bad.zip"
    archive.write_bytes(make_zip(members))
    gt_dir = storage.phase_ground_truth_dir(arena.phase)
    with pytest.raises(SubmissionRejected) as caught:
        score(archive, gt_dir, {"task": "denoise"})
    return str(caught.value), [p.to_dict() for p in caught.value.problems]


def _failed_submission(arena, team, reason: str, problems: list[dict]) -> Submission:
    """A submission failed as the pipeline leaves it, its failed job holding the evaluator's problems."""
    submission = scored_submission(arena.phase, team, None)
    Submission.objects.filter(pk=submission.pk).update(
        status="failed", failure_kind="participant", failure_reason=reason
    )
    EvaluationJob.objects.create(
        submission=submission,
        status="failed",
        error_kind="participant",
        error_message=reason,
        problems=problems,
    )
    submission.refresh_from_db()
    return submission


def test_the_failed_page_lists_each_problem_file_grouped_by_kind(
    client, make_arena, make_participant, tmp_path
):
    arena = make_arena(images=4)
    alice, team = make_participant(arena)
    reason, problems = _rejected_problems(arena, tmp_path)
    submission = _failed_submission(arena, team, reason, problems)

    client.force_login(alice)
    html = client.get(f"/submissions/{submission.pk}/").content.decode()

    assert "could not be scored" in html and "submission rejected: 2 problem(s)" in html
    rows = [r["cells"] for r in table_rows(html, "problems")[1:]]
    assert [(kind, name) for kind, name, _detail in rows] == [
        ("Wrong size", "0001.png"),
        ("Unreadable files", "0002.png"),
        ("Extra files (ignored)", "notes.png"),
    ]
    details = {name: detail for _kind, name, detail in rows}
    assert "10" in details["0001.png"] and "32" in details["0001.png"]  # the sizes found and expected
    assert not details["notes.png"].startswith("notes.png")  # the name is in its own column
    assert "Wrong size: 1 · Unreadable files: 1 · Extra files (ignored): 1" in html
    assert 'class="problem-warning"' in html and "Fix the files listed below" in html


def test_missing_images_come_first_and_name_each_file(client, make_arena, make_participant, tmp_path):
    arena = make_arena(images=3)
    alice, team = make_participant(arena)
    archive = tmp_path / "short.zip"
    archive.write_bytes(arena.zip_of({"0001.png": arena.restored(noise=2)["0001.png"]}))
    gt_dir = storage.phase_ground_truth_dir(arena.phase)
    with pytest.raises(SubmissionRejected) as caught:
        score(archive, gt_dir, {"task": "denoise"})
    submission = _failed_submission(
        arena, team, str(caught.value), [p.to_dict() for p in caught.value.problems]
    )
    client.force_login(alice)
    html = client.get(f"/submissions/{submission.pk}/").content.decode()
    rows = [r["cells"] for r in table_rows(html, "problems")[1:]]
    assert rows == [
        ["Missing images", "0000.png", "no prediction for this image"],
        ["Missing images", "0002.png", "no prediction for this image"],
    ]


def test_a_failure_without_per_file_problems_shows_the_reason_alone(client, make_arena, make_participant):
    arena = make_arena(images=1)
    alice, team = make_participant(arena)
    submission = _failed_submission(arena, team, "not a zip file: the archive cannot be read", [])
    client.force_login(alice)
    html = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "not a zip file: the archive cannot be read" in html
    assert table_rows(html, "problems") == [] and "Fix the zip and submit again" in html


def test_another_team_sees_neither_the_page_nor_the_problems(client, make_arena, make_participant, tmp_path):
    arena = make_arena(images=4)
    _alice, team = make_participant(arena)
    bob, _ = make_participant(arena)
    reason, problems = _rejected_problems(arena, tmp_path)
    submission = _failed_submission(arena, team, reason, problems)
    client.force_login(bob)
    assert client.get(f"/submissions/{submission.pk}/").status_code == 404
    assert client.get(f"/api/submissions/{submission.pk}/").status_code == 404


def test_the_api_gives_the_failed_jobs_problems(client, make_arena, make_participant, tmp_path):
    arena = make_arena(images=4)
    alice, team = make_participant(arena)
    reason, problems = _rejected_problems(arena, tmp_path)
    submission = _failed_submission(arena, team, reason, problems)
    client.force_login(alice)
    evaluation = client.get(f"/api/submissions/{submission.pk}/").json()["evaluation"]
    assert [(p["code"], p["name"], p["severity"]) for p in evaluation["problems"]] == [
        ("wrong_size", "0001.png", "error"),
        ("unreadable", "0002.png", "error"),
        ("extra", "notes.png", "warning"),
    ]


def test_a_scored_submission_lists_the_files_it_skipped_or_ignored(client, make_arena, make_participant):
    arena = make_arena(images=2)
    alice, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 30.0, "ssim": 0.9})
    ignored = {"name": "readme.png", "code": "extra", "message": "readme.png: ignored", "severity": "warning"}
    job = EvaluationJob.objects.create(
        submission=submission, status="done", aggregates=submission.scores, problems=[ignored]
    )
    Submission.objects.filter(pk=submission.pk).update(current_job=job)
    client.force_login(alice)
    html = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "skipped or ignored" in html
    assert [r["cells"] for r in table_rows(html, "problems")[1:]] == [
        ["Extra files (ignored)", "readme.png", "ignored"]
    ]


def test_problems_come_from_the_failed_job_not_an_earlier_or_rescoring_one(make_arena, make_participant):
    arena = make_arena(images=1)
    _alice, team = make_participant(arena)
    first = {"name": "a.png", "code": "missing", "message": "a.png: no prediction", "severity": "error"}
    submission = _failed_submission(arena, team, "rejected", [first])
    assert submission_problem_list(submission=submission) == [first]
    # A queued or running submission shows no problems yet, whatever old jobs hold.
    Submission.objects.filter(pk=submission.pk).update(status="queued", failure_kind="", failure_reason="")
    submission.refresh_from_db()
    assert submission_problem_list(submission=submission) == []


def test_hidden_phase_scores_are_rounded_for_participants_only(make_arena, make_participant, make_user):
    arena = make_arena(images=1, hidden_ground_truth=True, score_decimals=2)
    alice, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 30.123456, "ssim": 0.987654})
    assert submission_scores_for_viewer(user=alice, submission=submission) == {"psnr": 30.12, "ssim": 0.99}
    assert submission_scores_for_viewer(user=arena.organizer, submission=submission) == submission.scores
    open_arena = make_arena(images=1)
    _bob, open_team = make_participant(open_arena)
    other = scored_submission(open_arena.phase, open_team, {"psnr": 30.123456})
    assert submission_scores_for_viewer(user=alice, submission=other) == {"psnr": 30.123456}
