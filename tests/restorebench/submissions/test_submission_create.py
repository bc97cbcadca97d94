"""Accepting a submission: where it may go, limits, and bad uploads refused with nothing stored."""

import datetime as dt

import pytest
from django.utils import timezone
from rb_test_helpers import make_zip, stored_files
from restorebench.accounts.services import team_create
from restorebench.submissions.models import EvaluationJob, Submission, SubmissionStatus
from restorebench.submissions.services import (
    SubmissionLimitReached,
    SubmissionRefused,
    submission_create,
    submission_create_baseline,
)

pytestmark = pytest.mark.django_db


def test_an_accepted_submission_is_stored_hashed_and_queued(
    make_arena, make_participant, platform_dirs, settings
):
    import hashlib

    arena = make_arena(images=2)
    user, team = make_participant(arena)
    upload = arena.submission_zip()
    submission = submission_create(phase=arena.phase, user=user, archive=[upload], method_name=" my net ")
    assert (submission.team, submission.is_reference, submission.method_name) == (team, False, "my net")
    assert (submission.archive_bytes, submission.sha256) == (len(upload), hashlib.sha256(upload).hexdigest())
    assert (platform_dirs / "storage" / submission.archive_path).read_bytes() == upload
    assert submission.image_count == 2 and submission.status == SubmissionStatus.QUEUED
    job = EvaluationJob.objects.get(submission=submission)
    assert (job.status, job.queue, job.attempts) == ("pending", settings.RESTOREBENCH_QUEUES["cpu"], 0)


BAD_UPLOADS = {
    "not a zip": (lambda arena: b"GIF89a definitely not a zip", "not a zip archive"),
    "empty zip": (lambda arena: make_zip({}), "empty zip"),
    "zip bomb": (lambda arena: make_zip({"0000.png": bytes(30 * 1024**2)}), "possible zip bomb"),
    "path traversal": (lambda arena: make_zip({"../0000.png": b"x"}), "path traversal"),
    "absolute path": (lambda arena: make_zip({"/tmp/0000.png": b"x"}), "absolute path"),
    "nested folder": (lambda arena: make_zip({"out/0000.png": b"x"}), "folder in the zip"),
    "wrong image count": (lambda arena: make_zip({"0000.png": b"x"}), "the zip has 1, the phase expects 2"),
    "too many files": (lambda arena: make_zip({f"{i:05d}.png": b"x" for i in range(30)}), "too many files"),
}


@pytest.mark.parametrize("kind", sorted(BAD_UPLOADS))
def test_a_bad_upload_is_refused_clearly_and_nothing_is_stored(
    kind, make_arena, make_participant, platform_dirs, settings
):
    settings.RESTOREBENCH_MAX_ZIP_MEMBERS = 20
    arena = make_arena(images=2)
    user, _ = make_participant(arena)
    build, message = BAD_UPLOADS[kind]
    before = stored_files(platform_dirs)
    with pytest.raises(SubmissionRefused, match=message):
        submission_create(phase=arena.phase, user=user, archive=[build(arena)])
    assert Submission.objects.count() == 0 and EvaluationJob.objects.count() == 0
    assert stored_files(platform_dirs) == before


def test_an_over_size_upload_is_refused_and_nothing_is_stored(make_arena, make_participant, platform_dirs):
    arena = make_arena(images=2, max_upload_bytes=1000)
    user, _ = make_participant(arena)
    before = stored_files(platform_dirs)
    with pytest.raises(SubmissionRefused, match="upload too large: more than 1,000 bytes"):
        submission_create(phase=arena.phase, user=user, archive=[b"x" * 600, b"x" * 600])
    assert Submission.objects.count() == 0
    assert stored_files(platform_dirs) == before


def test_a_symlink_in_the_zip_is_refused(make_arena, make_participant):
    import io
    import stat
    import zipfile

    arena = make_arena(images=2)
    user, _ = make_participant(arena)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("0000.png", b"x")
        link = zipfile.ZipInfo("0001.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(SubmissionRefused, match="symbolic link"):
        submission_create(phase=arena.phase, user=user, archive=[buffer.getvalue()])
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(
    ("window", "message"),
    [((1, 2), "has not started: it opens at"), ((-2, -1), "is closed: it ended at")],
    ids=["before", "after"],
)
def test_a_submission_outside_the_phase_window_is_refused(make_arena, make_participant, window, message):
    now = timezone.now()
    arena = make_arena(
        images=1, starts_at=now + dt.timedelta(days=window[0]), ends_at=now + dt.timedelta(days=window[1])
    )
    user, _ = make_participant(arena)
    with pytest.raises(SubmissionRefused, match=message):
        submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])
    assert Submission.objects.count() == 0


def test_a_team_that_has_not_entered_the_track_cannot_submit(make_arena, make_user):
    arena = make_arena(images=1)
    user = make_user()
    team_create(challenge=arena.challenge, name="never entered", user=user)
    with pytest.raises(SubmissionRefused, match="has not entered track 'Denoising'"):
        submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])


def test_a_user_without_a_team_cannot_submit(make_arena, make_user):
    arena = make_arena(images=1)
    with pytest.raises(SubmissionRefused, match="not in a team of this challenge"):
        submission_create(phase=arena.phase, user=make_user(), archive=[arena.submission_zip()])


def test_the_total_limit_counts_the_team_not_the_member(make_arena, make_participant):
    arena = make_arena(images=1, max_submissions_total=2)
    first, team = make_participant(arena)
    second, _ = make_participant(arena, team=team)
    submission_create(phase=arena.phase, user=first, archive=[arena.submission_zip(seed=10)])
    submission_create(phase=arena.phase, user=second, archive=[arena.submission_zip(seed=11)])
    with pytest.raises(SubmissionLimitReached, match="used all 2 submissions"):
        submission_create(phase=arena.phase, user=first, archive=[arena.submission_zip(seed=12)])


def test_the_daily_limit_resets_with_the_utc_day(make_arena, make_participant):
    arena = make_arena(images=1, max_submissions_per_day=1)
    user, _ = make_participant(arena)
    old = submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=13)])
    with pytest.raises(SubmissionLimitReached, match="1 per day"):
        submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=14)])
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=15)])


def test_submissions_failed_or_cancelled_by_the_platform_do_not_use_up_the_limit(
    make_arena, make_participant
):
    arena = make_arena(images=1, max_submissions_total=1)
    user, _ = make_participant(arena)
    lost = submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=16)])
    Submission.objects.filter(pk=lost.pk).update(
        status="failed", failure_kind="platform", counts_toward_limits=False
    )
    again = submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=17)])
    from restorebench.submissions.services import submission_cancel

    submission_cancel(submission=again, actor=arena.organizer, reason="worker pool being rebuilt")
    submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=18)])
    with pytest.raises(SubmissionLimitReached):
        submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=19)])


def test_a_reference_baseline_goes_through_the_same_path_marked_as_reference(make_arena, tmp_path):
    arena = make_arena(images=2, max_submissions_total=0)  # limits and window do not apply
    zip_path = tmp_path / "bicubic.zip"
    zip_path.write_bytes(arena.submission_zip(noise=10))
    submission = submission_create_baseline(
        phase=arena.phase, method_name="bicubic", zip_path=zip_path, runtime_per_mp=0.01
    )
    assert (submission.is_reference, submission.team, submission.runtime_per_mp) == (True, None, 0.01)
    assert EvaluationJob.objects.filter(submission=submission).count() == 1
    assert zip_path.exists()
    with pytest.raises(SubmissionRefused, match="wrong number of images"):
        bad = tmp_path / "bad.zip"
        bad.write_bytes(make_zip({"0000.png": b"x"}))
        submission_create_baseline(phase=arena.phase, method_name="identity", zip_path=bad)
