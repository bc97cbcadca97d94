"""Cleanup of abandoned uploads: chunked upload sessions nobody touched for a while, with their partial
files, and the temporary files of direct uploads a crashed process left behind.

What goes (each only when older than the cutoff, `RESTOREBENCH_UPLOAD_STALE_AFTER_H` hours by default):
- `UploadSession` rows that are open, aborted or stuck completing, belong to no submission and whose
  `updated_at` (every chunk sets it) is older than the cutoff, and their `storage/uploads/<id>.part` files;
- `storage/uploads/*.part` files that have no session row at all;
- `storage/tmp/upload-*.part` files (a direct upload streams there and moves the file away at once).

Completed sessions and anything a submission's `archive_path` names are never touched. Rows are taken
with `SELECT ... FOR UPDATE SKIP LOCKED`, so a chunk being appended right now (its request holds the
row lock) keeps its session, and several cleaners may run at once. Runs from Celery beat every
`RESTOREBENCH_UPLOAD_CLEANUP_EVERY_S` seconds, or `manage.py cleanup_uploads`.
"""

import datetime as dt
import logging
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from restorebench import storage
from restorebench.submissions.models import Submission, UploadSession, UploadStatus

logger = logging.getLogger(__name__)

UPLOADS_SUBDIR = storage.UPLOADS  # chunked uploads: <session id>.part
TMP_SUBDIR = storage.SCRATCH  # direct uploads in flight: upload-*.part (see archives.archive_receive)


@dataclass
class UploadCleanupReport:
    sessions_deleted: int = 0
    files_deleted: int = 0
    bytes_freed: int = 0
    dry_run: bool = False
    # Paths relative to the storage folder, for the command's --verbosity 2 listing and the tests.
    deleted_paths: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        summary = asdict(self)
        summary.pop("deleted_paths")
        return summary


def _storage_dir() -> Path:
    return storage.storage_root()


def _default_older_than() -> dt.timedelta:
    return dt.timedelta(hours=float(settings.RESTOREBENCH_UPLOAD_STALE_AFTER_H))


def _session_part(session_id: object) -> Path:
    return storage.upload_session_file(session_id)


def _older_than_cutoff(path: Path, cutoff: dt.datetime) -> bool:
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return False
    return dt.datetime.fromtimestamp(mtime, tz=dt.UTC) < cutoff


def _referenced_paths() -> set[str]:
    """Archive paths (relative to storage) of submissions kept where the cleaner looks."""
    prefixes = Q(archive_path__startswith=f"{UPLOADS_SUBDIR}/") | Q(archive_path__startswith=f"{TMP_SUBDIR}/")
    return set(Submission.objects.filter(prefixes).values_list("archive_path", flat=True))


def _remove(path: Path, report: UploadCleanupReport, referenced: set[str]) -> None:
    relative = path.relative_to(_storage_dir()).as_posix()
    if relative in referenced:
        return
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if not report.dry_run:
        try:
            path.unlink()
        except FileNotFoundError:  # another cleaner, or the upload completing, was first
            return
    report.files_deleted += 1
    report.bytes_freed += size
    report.deleted_paths.append(relative)


def _stale_sessions(cutoff: dt.datetime):
    return UploadSession.objects.filter(
        # A session left "completing" that long belongs to a request that died mid-way.
        status__in=[UploadStatus.OPEN, UploadStatus.COMPLETING, UploadStatus.ABORTED],
        submission__isnull=True,
        updated_at__lt=cutoff,
    )


def upload_sessions_cleanup(
    *,
    older_than: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> UploadCleanupReport:
    """Delete abandoned upload sessions and partial upload files older than `older_than` (default:
    `RESTOREBENCH_UPLOAD_STALE_AFTER_H` hours). With `dry_run`, report what would go and delete nothing."""
    older_than = _default_older_than() if older_than is None else older_than
    if older_than < dt.timedelta(0):
        raise ValueError(f"older_than must not be negative, got {older_than}")
    cutoff = (now or timezone.now()) - older_than
    report = UploadCleanupReport(dry_run=dry_run)
    referenced = _referenced_paths()

    # 1. Stale sessions, one at a time: each row is locked, checked again and deleted in its own
    # transaction, so a session that got a chunk meanwhile survives.
    for session_id in list(_stale_sessions(cutoff).values_list("pk", flat=True)):
        with transaction.atomic():
            session = (
                _stale_sessions(cutoff).select_for_update(skip_locked=True).filter(pk=session_id).first()
            )
            if session is None:
                continue
            if not dry_run:
                session.delete()
            report.sessions_deleted += 1
            _remove(_session_part(session_id), report, referenced)

    # 2. Part files with no session row (the row went with its user or phase, or by hand).
    uploads = _storage_dir() / UPLOADS_SUBDIR
    if uploads.is_dir():
        candidates = {
            p: _as_uuid(p.stem) for p in sorted(uploads.glob("*.part")) if _older_than_cutoff(p, cutoff)
        }
        ids = [pk for pk in candidates.values() if pk is not None]
        known = set(UploadSession.objects.filter(pk__in=ids).values_list("pk", flat=True))
        for path, pk in candidates.items():
            if pk is None or pk not in known:
                _remove(path, report, referenced)

    # 3. Temporary files of direct uploads whose process died before moving or deleting them.
    tmp = _storage_dir() / TMP_SUBDIR
    if tmp.is_dir():
        for path in sorted(tmp.glob("upload-*.part")):
            if path.is_file() and _older_than_cutoff(path, cutoff):
                _remove(path, report, referenced)

    if report.sessions_deleted or report.files_deleted:
        logger.info("upload cleanup: %s", report.as_dict())
    return report


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
