"""Cleanup of abandoned uploads: stale open or aborted sessions go with their partial files, orphan and
crashed-upload temporary files go, and completed uploads, fresh sessions and submissions' archives stay."""

import datetime as dt
import hashlib
import io
import os
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from restorebench.celery_app import app
from restorebench.submissions.models import Submission, UploadSession, UploadStatus
from restorebench.submissions.services import (
    SubmissionRefused,
    submission_archive_file,
    upload_session_append,
    upload_session_complete,
    upload_session_create,
)
from restorebench.submissions.upload_cleanup import upload_sessions_cleanup

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(hours=24)


@pytest.fixture(autouse=True)
def own_storage(platform_dirs, settings, tmp_path) -> Path:
    """A storage folder for this test alone: the cleaner scans whole folders, and other tests' files
    (left by rolled-back rows) must not count here."""
    settings.RESTOREBENCH_STORAGE_DIR = tmp_path / "storage"
    return settings.RESTOREBENCH_STORAGE_DIR


@pytest.fixture
def arena_user(make_arena, make_participant):
    arena = make_arena(images=2)
    user, _team = make_participant(arena)
    return arena, user


def _storage() -> Path:
    return Path(settings.RESTOREBENCH_STORAGE_DIR)


def _part(session: UploadSession) -> Path:
    return _storage() / "uploads" / f"{session.pk}.part"


def _partial_session(arena, user, data: bytes, sent: int) -> UploadSession:
    session = upload_session_create(
        phase=arena.phase,
        user=user,
        filename="result.zip",
        total_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if sent:
        session = upload_session_append(session=session, offset=0, data=io.BytesIO(data[:sent]))
    return session


def _age(session: UploadSession, by: dt.timedelta) -> None:
    """Pretend nobody touched the session (row and file) for `by`."""
    then = timezone.now() - by
    UploadSession.objects.filter(pk=session.pk).update(updated_at=then)
    part = _part(session)
    if part.exists():
        os.utime(part, (then.timestamp(), then.timestamp()))


def _old_file(path: Path, data: bytes, age: dt.timedelta) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = (timezone.now() - age).timestamp()
    os.utime(path, (then, then))
    return path


def test_a_stale_open_session_goes_with_its_partial_file(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=len(data) // 2)
    part = _part(session)
    assert part.stat().st_size == len(data) // 2
    _age(session, DAY + dt.timedelta(minutes=1))

    report = upload_sessions_cleanup(older_than=DAY)

    assert not UploadSession.objects.filter(pk=session.pk).exists()
    assert not part.exists()
    assert (report.sessions_deleted, report.files_deleted, report.bytes_freed) == (1, 1, len(data) // 2)


def test_a_session_touched_within_the_window_stays(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=10)
    _age(session, DAY - dt.timedelta(minutes=5))

    report = upload_sessions_cleanup(older_than=DAY)

    assert UploadSession.objects.filter(pk=session.pk, received_bytes=10).exists()
    assert _part(session).read_bytes() == data[:10]
    assert report.sessions_deleted == report.files_deleted == 0


def test_a_completed_upload_and_its_submission_archive_are_never_touched(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=len(data))
    submission = upload_session_complete(session=session, user=user, method_name="done")
    archive = submission_archive_file(submission)
    _age(session, 30 * DAY)
    os.utime(archive, (0, 0))

    report = upload_sessions_cleanup(older_than=DAY)

    session.refresh_from_db()
    assert (session.status, session.submission_id) == (UploadStatus.COMPLETE, submission.pk)
    assert archive.read_bytes() == data
    assert report.sessions_deleted == report.files_deleted == 0


def test_a_session_a_submission_points_to_stays_whatever_its_status(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    done = _partial_session(arena, user, data, sent=len(data))
    submission = upload_session_complete(session=done, user=user)
    # A session left open although a submission refers to it (say, a crash between the two writes).
    data = arena.submission_zip(seed=2)
    other = _partial_session(arena, user, data, sent=5)
    UploadSession.objects.filter(pk=done.pk).update(submission=None)
    UploadSession.objects.filter(pk=other.pk).update(submission=submission)
    _age(other, 30 * DAY)

    upload_sessions_cleanup(older_than=DAY)

    assert UploadSession.objects.filter(pk=other.pk).exists()
    assert _part(other).read_bytes() == data[:5]


def test_stale_aborted_sessions_are_deleted_too(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=len(data))
    UploadSession.objects.filter(pk=session.pk).update(status=UploadStatus.ABORTED, error="gave up")
    _age(session, 2 * DAY)

    report = upload_sessions_cleanup(older_than=DAY)

    assert not UploadSession.objects.filter(pk=session.pk).exists()
    assert not _part(session).exists()
    assert report.sessions_deleted == 1


def test_orphan_part_files_and_crashed_direct_uploads_go_once_old(arena_user):
    arena, user = arena_user
    orphan_old = _old_file(_storage() / "uploads" / f"{uuid.uuid4()}.part", b"x" * 7, 2 * DAY)
    orphan_new = _old_file(_storage() / "uploads" / f"{uuid.uuid4()}.part", b"y" * 3, dt.timedelta(hours=1))
    crashed_old = _old_file(_storage() / "tmp" / "upload-abc123.part", b"z" * 11, 2 * DAY)
    crashed_new = _old_file(_storage() / "tmp" / "upload-def456.part", b"w", dt.timedelta(minutes=1))
    # Something else that lives in tmp/ (a baselines scratch file) is not the cleaner's business.
    scratch = _old_file(_storage() / "tmp" / "baselines-x" / "0.zip", b"keep", 5 * DAY)

    report = upload_sessions_cleanup(older_than=DAY)

    assert not orphan_old.exists() and not crashed_old.exists()
    assert orphan_new.exists() and crashed_new.exists() and scratch.exists()
    assert report.files_deleted == 2 and report.bytes_freed == 18


def test_a_file_a_submission_names_is_kept_even_where_the_cleaner_looks(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=len(data))
    submission = upload_session_complete(session=session, user=user)
    kept = _old_file(_storage() / "tmp" / "upload-kept.part", data, 3 * DAY)
    Submission.objects.filter(pk=submission.pk).update(archive_path="tmp/upload-kept.part")

    upload_sessions_cleanup(older_than=DAY)

    assert kept.read_bytes() == data


def test_a_dry_run_reports_and_deletes_nothing(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=20)
    _age(session, 2 * DAY)
    crashed = _old_file(_storage() / "tmp" / "upload-dry.part", b"abc", 2 * DAY)

    report = upload_sessions_cleanup(older_than=DAY, dry_run=True)

    assert (report.sessions_deleted, report.files_deleted, report.bytes_freed) == (1, 2, 23)
    assert UploadSession.objects.filter(pk=session.pk).exists()
    assert _part(session).exists() and crashed.exists()


def test_the_default_age_comes_from_settings(arena_user, settings):
    arena, user = arena_user
    session = _partial_session(arena, user, arena.submission_zip(), sent=3)
    _age(session, dt.timedelta(hours=3))
    settings.RESTOREBENCH_UPLOAD_STALE_AFTER_H = 4
    assert upload_sessions_cleanup().sessions_deleted == 0
    settings.RESTOREBENCH_UPLOAD_STALE_AFTER_H = 2
    assert upload_sessions_cleanup().sessions_deleted == 1


def test_the_command_takes_an_age_and_a_dry_run(arena_user):
    arena, user = arena_user
    session = _partial_session(arena, user, arena.submission_zip(), sent=4)
    _age(session, dt.timedelta(hours=5))

    out = io.StringIO()
    call_command("cleanup_uploads", "--older-than", "6", stdout=out)
    assert "sessions_deleted=0" in out.getvalue()

    out = io.StringIO()
    call_command("cleanup_uploads", "--older-than", "4", "--dry-run", stdout=out)
    assert f"would delete uploads/{session.pk}.part" in out.getvalue()
    assert "sessions_deleted=1" in out.getvalue() and "dry_run=True" in out.getvalue()
    assert UploadSession.objects.filter(pk=session.pk).exists()

    out = io.StringIO()
    call_command("cleanup_uploads", "--older-than", "4", stdout=out)
    assert "sessions_deleted=1 files_deleted=1 bytes_freed=4" in out.getvalue()
    assert not UploadSession.objects.filter(pk=session.pk).exists()
    assert not _part(session).exists()


def test_celery_beat_runs_the_cleanup_task(arena_user):
    entry = settings.CELERY_BEAT_SCHEDULE["cleanup-uploads"]
    assert entry["schedule"] == settings.RESTOREBENCH_UPLOAD_CLEANUP_EVERY_S
    app.loader.import_default_modules()
    arena, user = arena_user
    session = _partial_session(arena, user, arena.submission_zip(), sent=6)
    _age(session, 2 * DAY)
    summary = app.tasks[entry["task"]]()  # the task body, as a worker runs it
    uploads = {k: summary.pop(k) for k in ("sessions_deleted", "files_deleted", "bytes_freed", "dry_run")}
    assert uploads == {"sessions_deleted": 1, "files_deleted": 1, "bytes_freed": 6, "dry_run": False}
    assert set(summary) == {"sandbox_folders_deleted", "job_folders_deleted"}  # see test_model_sandbox.py
    assert not UploadSession.objects.filter(pk=session.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_session_receiving_a_chunk_right_now_is_skipped(make_arena, make_participant):
    """The append holds the row lock while it writes; the cleaner skips locked rows."""
    arena = make_arena(images=2)
    user, _team = make_participant(arena)
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=8)
    _age(session, 2 * DAY)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                UploadSession.objects.select_for_update().get(pk=session.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(30)
        report = upload_sessions_cleanup(older_than=DAY)
    finally:
        release.set()
        holder.join(30)

    assert report.sessions_deleted == 0
    assert UploadSession.objects.filter(pk=session.pk).exists() and _part(session).exists()


def test_completing_an_upload_the_cleaner_removed_is_refused_clearly(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=len(data))
    _age(session, DAY + dt.timedelta(minutes=1))
    upload_sessions_cleanup(older_than=DAY)

    with pytest.raises(SubmissionRefused, match="expired unfinished and was removed"):
        upload_session_complete(session=session, user=user)
    assert not Submission.objects.filter(phase=arena.phase).exists()


def test_an_upload_being_completed_is_no_longer_stale(arena_user):
    arena, user = arena_user
    data = arena.submission_zip()
    session = _partial_session(arena, user, data, sent=len(data))
    _age(session, DAY + dt.timedelta(minutes=1))

    submission = upload_session_complete(session=session, user=user, method_name="late but complete")
    report = upload_sessions_cleanup(older_than=DAY)

    assert report.sessions_deleted == 0
    assert submission_archive_file(submission).read_bytes() == data
