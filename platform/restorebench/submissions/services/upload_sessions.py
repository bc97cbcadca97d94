"""Chunked, resumable uploads: open a session (size and SHA-256 declared), append chunks at the
offset the server expects, complete (the whole file checked, then submitted) or abort.

A session counts against its team like the submission it will become: a team at its phase's limit,
or with `RESTOREBENCH_MAX_OPEN_UPLOADS_PER_TEAM` sessions open, cannot open another, and the declared
size is held to the phase's `max_upload_bytes` before a byte is sent. `complete` claims the session
(open → completing) in one UPDATE, so of concurrent calls exactly one goes on and the others get a
409; whatever the outcome, the `.part` file ends as the submission's file or is deleted.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import IO

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from restorebench import storage
from restorebench.accounts.models import Team
from restorebench.challenges.models import Phase
from restorebench.submissions.archives import READ_BLOCK, ArchiveError, ReceivedFile, file_sha256
from restorebench.submissions.model_files import ModelUploadError, manifest_load
from restorebench.submissions.models import Submission, SubmissionKind, UploadSession, UploadStatus
from restorebench.submissions.services.admission import (
    SubmissionRefused,
    UploadConflict,
    check_runtime,
    check_size,
    check_upload_room,
    check_window,
    team_for,
)
from restorebench.submissions.services.creating import check_model_inputs, model_contents, model_refusal
from restorebench.submissions.services.storing import submission_store, zip_inspect


def upload_part(session: UploadSession) -> Path:
    """The session's partial file (upload_cleanup sweeps abandoned ones)."""
    return storage.upload_session_file(session.pk)


def _check_sha256(sha256: str) -> str:
    sha256 = (sha256 or "").lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise SubmissionRefused({"sha256": "must be the 64 hex digits of the file's SHA-256"})
    return sha256


def _check_not_sent_before(*, team: Team, phase: Phase, sha256: str) -> None:
    """A zip byte-identical to one the team already has in the phase is refused before it is sent."""
    earlier = (
        Submission.objects.filter(
            team=team, phase=phase, sha256=sha256, kind=SubmissionKind.IMAGES, counts_toward_limits=True
        )
        .values_list("pk", flat=True)
        .first()
    )
    if earlier is not None:
        raise SubmissionRefused(
            f"your team already submitted this file to this phase (submission #{earlier}); "
            "it would score the same: change something before submitting again"
        )


def upload_session_create(
    *, phase: Phase, user: AbstractBaseUser, filename: str, total_bytes: int, sha256: str
) -> UploadSession:
    """Start a resumable upload of `total_bytes` whose SHA-256 (hex) will be checked at the end."""
    team = team_for(user=user, phase=phase)
    check_window(phase=phase, now=timezone.now())
    if not isinstance(total_bytes, int) or total_bytes <= 0:
        raise SubmissionRefused({"total_bytes": "must be a positive number of bytes"})
    check_size(declared=total_bytes, limit=phase.max_upload_bytes)
    sha256 = _check_sha256(sha256)
    _check_not_sent_before(team=team, phase=phase, sha256=sha256)
    with transaction.atomic():
        # The team-row lock serialises a team's session openings with its submissions, so parallel
        # requests cannot pass the cap or the limits together.
        Team.objects.select_for_update().get(pk=team.pk)
        check_upload_room(team=team, phase=phase, now=timezone.now())
        session = UploadSession.objects.create(
            phase=phase, user=user, team=team, filename=filename[:255], total_bytes=total_bytes, sha256=sha256
        )
        part = upload_part(session)
        part.parent.mkdir(parents=True, exist_ok=True)
        part.touch()
    return session


def _blocks(data: IO[bytes] | Iterable[bytes]) -> Iterable[bytes]:
    return iter(lambda: data.read(READ_BLOCK), b"") if hasattr(data, "read") else data


def upload_session_append(
    *, session: UploadSession, offset: int, data: IO[bytes] | Iterable[bytes]
) -> UploadSession:
    """Append a chunk that starts at `offset`. A chunk at an offset already received is refused with the
    current offset, so a client that lost a response resumes from `received_bytes`."""
    with transaction.atomic():
        session = UploadSession.objects.select_for_update().get(pk=session.pk)
        if session.status != UploadStatus.OPEN:
            raise UploadConflict(f"upload {session.pk} is {session.status}, it takes no more data")
        if offset != session.received_bytes:
            raise SubmissionRefused(
                {
                    "offset": f"expected offset {session.received_bytes}, got {offset}; "
                    f"resume from {session.received_bytes}"
                }
            )
        written = 0
        limit = session.total_bytes - session.received_bytes
        with open(upload_part(session), "r+b") as out:
            out.truncate(session.received_bytes)  # drop the tail of an interrupted earlier chunk
            out.seek(session.received_bytes)
            try:
                for block in _blocks(data):
                    written += len(block)
                    if written > limit:
                        raise SubmissionRefused(
                            f"chunk goes past the declared size of {session.total_bytes:,} bytes"
                        )
                    out.write(block)
            except BaseException:
                out.truncate(session.received_bytes)
                raise
        session.received_bytes += written
        session.save(update_fields=["received_bytes", "updated_at"])
    return session


def _set_status(session: UploadSession, status: str, error: str = "", submission=None) -> None:
    UploadSession.objects.filter(pk=session.pk).update(
        status=status, error=error[:2000], submission=submission, updated_at=timezone.now()
    )


def _claim(session: UploadSession) -> UploadSession:
    """open → completing in one UPDATE: of concurrent `complete` calls exactly one gets the session.
    The abandoned-upload cleaner skips sessions touched within hours, so it leaves this one alone."""
    claimed = UploadSession.objects.filter(pk=session.pk, status=UploadStatus.OPEN).update(
        status=UploadStatus.COMPLETING, updated_at=timezone.now()
    )
    session = UploadSession.objects.select_related("phase", "phase__track").filter(pk=session.pk).first()
    if session is None:
        raise SubmissionRefused("this upload expired unfinished and was removed; start a new upload")
    if not claimed:
        what = {
            UploadStatus.COMPLETING: "is being completed by another request",
            UploadStatus.COMPLETE: f"is already complete (submission #{session.submission_id})",
        }.get(session.status, f"is {session.status}")
        raise UploadConflict(f"upload {session.pk} {what}")
    return session


def _checked_file(session: UploadSession, manifest: dict | None) -> tuple[ReceivedFile, object]:
    """The claimed session's file, hashed and inspected; raises SubmissionRefused."""
    part = upload_part(session)
    digest = file_sha256(part)
    if digest != session.sha256:
        raise SubmissionRefused(
            f"content hash mismatch: the file received has SHA-256 {digest}, "
            f"the upload declared {session.sha256}; start a new upload"
        )
    try:
        if manifest is not None:
            contents = model_contents(part, manifest, session.phase, digest)
        else:
            contents = zip_inspect(part, session.phase)
    except ArchiveError as error:
        raise SubmissionRefused(str(error)) from error
    except ModelUploadError as error:
        raise model_refusal(error, stored_as=part.name, shown_as=Path(session.filename).name) from error
    return ReceivedFile(part, session.total_bytes, digest), contents


def upload_session_complete(
    *,
    session: UploadSession,
    user: AbstractBaseUser,
    method_name: str = "",
    description: str = "",
    runtime_per_mp: float | None = None,
    manifest: str | bytes | dict | None = None,
) -> Submission:
    """Check size and SHA-256 of the assembled file and turn it into a submission: a zip of images,
    or, when `manifest` is given, a model. What can be fixed without sending the file again (a bad
    field, a bad manifest, missing bytes, no team) is refused with the session still open; a refusal of
    the file itself aborts the session and deletes the file."""
    check_runtime(runtime_per_mp)
    if manifest is not None:
        try:
            manifest = manifest_load(manifest)
            check_model_inputs(session.phase)
        except ModelUploadError as error:
            raise SubmissionRefused(
                {"manifest": str(error)} if error.kind == "manifest" else str(error)
            ) from error
    session = _claim(session)
    try:
        if session.received_bytes != session.total_bytes:
            raise SubmissionRefused(
                f"upload incomplete: {session.received_bytes:,} of {session.total_bytes:,} bytes received"
            )
        team = team_for(user=user, phase=session.phase)
    except SubmissionRefused:
        _set_status(session, UploadStatus.OPEN)
        raise
    try:
        received, contents = _checked_file(session, manifest)
        submission = submission_store(
            phase=session.phase,
            received=received,
            contents=contents,
            team=team,
            user=user,
            method_name=method_name,
            description=description,
            runtime_per_mp=runtime_per_mp,
        )
    except BaseException as error:
        # The session cannot be completed again: the file is gone with the refusal.
        reason = "; ".join(error.messages) if isinstance(error, ValidationError) else type(error).__name__
        upload_part(session).unlink(missing_ok=True)
        _set_status(session, UploadStatus.ABORTED, reason)
        raise
    _set_status(session, UploadStatus.COMPLETE, submission=submission)
    return submission


def upload_session_abort(*, session: UploadSession) -> UploadSession:
    """Stop an open upload and delete what it received (an aborted one stays aborted)."""
    with transaction.atomic():
        # The row lock waits for a chunk being appended, so its file is not deleted under it.
        session = UploadSession.objects.select_for_update().get(pk=session.pk)
        if session.status in (UploadStatus.COMPLETING, UploadStatus.COMPLETE):
            raise UploadConflict(f"upload {session.pk} is {session.status}; it cannot be aborted")
        if session.status == UploadStatus.OPEN:
            session.status = UploadStatus.ABORTED
            session.error = "aborted by the uploader"
            session.save(update_fields=["status", "error", "updated_at"])
        upload_part(session).unlink(missing_ok=True)
    return session
