"""Writes for submissions: direct and chunked uploads, reference baselines, the team's choice,
cancellation, disqualification and rescoring.

A submission is a zip of restored images or a model (an ONNX or safetensors file plus its manifest,
run by the worker in the evaluator's sandbox). Either goes: checks that need no upload (team, track
entry, phase window, limits) → the upload streamed to a temporary file and hashed → the zip checked
from its directory, or the model and manifest checked statically (`model_files`) → one transaction that
locks the team's row, checks the window and limits again, moves the file into place and creates the
submission and its evaluation job → the job is sent to the broker after the commit. Any refusal leaves
nothing behind: no row, no file. The team-row lock serialises a team's concurrent submissions, so no
number of parallel uploads can pass the per-day or total limit.
"""

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from restorebench import storage
from restorebench.accounts.models import Team, TrackEntry
from restorebench.challenges.models import Phase
from restorebench.challenges.services import audit_log_record
from restorebench.submissions import jobs
from restorebench.submissions.archives import (
    ArchiveContents,
    ArchiveError,
    ReceivedFile,
    archive_inspect,
    archive_receive,
    expected_count_of,
    file_sha256,
)
from restorebench.submissions.model_files import (
    ModelContents,
    ModelUploadError,
    manifest_load,
    model_inputs_check,
    model_inspect,
)
from restorebench.submissions.models import (
    ACTIVE_JOB_STATUSES,
    EvaluationJob,
    JobPurpose,
    JobStatus,
    Rescore,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    UploadSession,
    UploadStatus,
)


class SubmissionRefused(ValidationError):
    """The submission was not accepted; the message says why (and nothing was stored)."""


class SubmissionLimitReached(SubmissionRefused):
    """The team used up the phase's per-day or total submissions."""


def storage_dir() -> Path:
    return storage.storage_root()


def submission_archive_file(submission: Submission) -> Path:
    """The submission's stored file, checked to be in its own phase's area."""
    return storage.submission_archive_path(submission.phase, submission.archive_path)


def _inspect(path: Path, phase: Phase) -> ArchiveContents:
    return archive_inspect(
        path,
        expected_count=expected_count_of(phase.expected_images),
        max_members=settings.RESTOREBENCH_MAX_ZIP_MEMBERS,
        max_uncompressed_bytes=settings.RESTOREBENCH_MAX_UNCOMPRESSED_BYTES,
        max_ratio=settings.RESTOREBENCH_MAX_COMPRESSION_RATIO,
    )


def _team_for(*, user: AbstractBaseUser, phase: Phase) -> Team:
    team = Team.objects.filter(challenge_id=phase.track.challenge_id, memberships__user=user).first()
    if team is None:
        raise SubmissionRefused("you are not in a team of this challenge: create or join a team first")
    if not TrackEntry.objects.filter(team=team, track_id=phase.track_id).exists():
        raise SubmissionRefused(
            f"your team has not entered track {phase.track.title!r}: enter the track first"
        )
    return team


def _check_window(*, phase: Phase, now: dt.datetime) -> None:
    if now < phase.starts_at:
        raise SubmissionRefused(
            f"phase {phase.title!r} has not started: it opens at {phase.starts_at.isoformat()}"
        )
    if now >= phase.ends_at:
        raise SubmissionRefused(f"phase {phase.title!r} is closed: it ended at {phase.ends_at.isoformat()}")


def submission_limits_used(*, team: Team, phase: Phase, now: dt.datetime) -> tuple[int, int]:
    """(submissions counted today (UTC), counted in total) for the team in the phase."""
    counted = Submission.objects.filter(team=team, phase=phase, counts_toward_limits=True)
    day_start = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return counted.filter(created_at__gte=day_start).count(), counted.count()


def _check_limits(*, team: Team, phase: Phase, now: dt.datetime) -> None:
    today, total = submission_limits_used(team=team, phase=phase, now=now)
    if phase.max_submissions_total is not None and total >= phase.max_submissions_total:
        raise SubmissionLimitReached(
            f"submission limit reached: your team has used all {phase.max_submissions_total} "
            "submissions of this phase"
        )
    if phase.max_submissions_per_day is not None and today >= phase.max_submissions_per_day:
        raise SubmissionLimitReached(
            f"daily submission limit reached: {phase.max_submissions_per_day} per day (UTC); "
            "try again tomorrow"
        )


def _check_open(*, team: Team, phase: Phase) -> None:
    """The phase accepts this team's submission now: its window, then the team's limits."""
    now = timezone.now()
    _check_window(phase=phase, now=now)
    _check_limits(team=team, phase=phase, now=now)


def _baseline_file(
    *, method_name: str, path: str | Path, what: str, runtime_per_mp: float | None = None
) -> Path:
    """The checks of a reference entry before its file is read: a method name, a valid runtime, an
    existing file (`what`: "archive" or "model")."""
    if not method_name.strip():
        raise SubmissionRefused({"method_name": "a reference baseline needs a method name"})
    _check_runtime(runtime_per_mp)
    path = Path(path)
    if not path.is_file():
        raise SubmissionRefused(f"baseline {what} not found: {path}")
    return path


def _final_path(phase: Phase, suffix: str = ".zip") -> tuple[Path, str]:
    return storage.submission_archive_new(phase, suffix)


def _contents_fields(contents: ArchiveContents | ModelContents, phase: Phase) -> dict:
    if isinstance(contents, ModelContents):
        return {
            "kind": SubmissionKind.MODEL,
            "content_fingerprint": contents.fingerprint,
            "image_count": len(phase.expected_images or []),
            "model_format": contents.format,
            "model_manifest": contents.manifest,
            "model_parameters": contents.parameters,
        }
    return {
        "kind": SubmissionKind.IMAGES,
        "content_fingerprint": contents.fingerprint,
        "image_count": contents.image_count,
    }


def _submission_store(
    *,
    phase: Phase,
    received: ReceivedFile,
    contents: ArchiveContents | ModelContents,
    team: Team | None,
    user: AbstractBaseUser | None,
    method_name: str,
    description: str,
    runtime_per_mp: float | None = None,
) -> Submission:
    """The transactional part shared by every way in: lock, re-check, move the file, create rows."""
    model = isinstance(contents, ModelContents)
    final, recorded = _final_path(phase, f".{contents.format}" if model else ".zip")
    final.parent.mkdir(parents=True, exist_ok=True)
    moved = False
    try:
        with transaction.atomic():
            if team is not None:
                # Lock the team row: concurrent submissions of one team queue up here, so the limit
                # check and the insert below are atomic together.
                Team.objects.select_for_update().get(pk=team.pk)
                _check_open(team=team, phase=phase)
            os.replace(received.path, final)
            moved = True
            submission = Submission.objects.create(
                phase=phase,
                team=team,
                submitted_by=user,
                is_reference=team is None,
                method_name=method_name.strip()[:200],
                description=description,
                runtime_per_mp=runtime_per_mp,
                archive_path=recorded,
                archive_bytes=received.size,
                sha256=received.sha256,
                **_contents_fields(contents, phase),
            )
            jobs.evaluation_job_create(submission=submission, purpose=JobPurpose.SUBMISSION)
    except BaseException:
        (final if moved else received.path).unlink(missing_ok=True)
        raise
    return submission


def _check_runtime(runtime_per_mp: float | None) -> None:
    if runtime_per_mp is not None and not (runtime_per_mp >= 0):
        raise SubmissionRefused({"runtime_per_mp": "must be a non-negative number of seconds per megapixel"})


def _zip_receive(
    *, archive: IO[bytes] | Iterable[bytes], phase: Phase, where: str = ""
) -> tuple[ReceivedFile, ArchiveContents]:
    """Receive a zip of images into the scratch folder and inspect it; refusals name `where` first."""
    try:
        received = archive_receive(archive, directory=storage.scratch_dir(), max_bytes=phase.max_upload_bytes)
    except ArchiveError as error:
        raise SubmissionRefused(f"{where}{error}") from error
    try:
        contents = _inspect(received.path, phase)
    except ArchiveError as error:
        received.path.unlink(missing_ok=True)
        raise SubmissionRefused(f"{where}{error}") from error
    return received, contents


def submission_create(
    *,
    phase: Phase,
    user: AbstractBaseUser,
    archive: IO[bytes] | Iterable[bytes],
    method_name: str = "",
    description: str = "",
    runtime_per_mp: float | None = None,
) -> Submission:
    """Accept a participant's zip of restored images (a file object or an iterable of byte chunks)."""
    team = _team_for(user=user, phase=phase)
    _check_runtime(runtime_per_mp)
    _check_open(team=team, phase=phase)  # fail before a long upload; re-checked under lock
    received, contents = _zip_receive(archive=archive, phase=phase)
    return _submission_store(
        phase=phase,
        received=received,
        contents=contents,
        team=team,
        user=user,
        method_name=method_name,
        description=description,
        runtime_per_mp=runtime_per_mp,
    )


def submission_create_baseline(
    *,
    phase: Phase,
    method_name: str,
    zip_path: str | Path,
    runtime_per_mp: float | None = None,
    description: str = "",
    actor: AbstractBaseUser | None = None,
) -> Submission:
    """Enter a reference method's outputs (a zip on disk) through the same path as a participant's
    submission; it is marked as a reference, belongs to no team, takes no rank and ignores the phase
    window and limits. The zip is copied, not moved."""
    zip_path = _baseline_file(
        method_name=method_name, path=zip_path, what="archive", runtime_per_mp=runtime_per_mp
    )
    with open(zip_path, "rb") as handle:
        received, contents = _zip_receive(archive=handle, phase=phase, where=f"{zip_path}: ")
    return _baseline_store(
        phase=phase,
        received=received,
        contents=contents,
        method_name=method_name,
        description=description,
        actor=actor,
        runtime_per_mp=runtime_per_mp,
    )


def _baseline_store(
    *,
    phase: Phase,
    received: ReceivedFile,
    contents: ArchiveContents | ModelContents,
    method_name: str,
    description: str,
    actor: AbstractBaseUser | None,
    runtime_per_mp: float | None = None,
    audit_details: dict | None = None,
) -> Submission:
    """Store a reference entry (no team, no rank, the organizer as its user) and audit it."""
    submission = _submission_store(
        phase=phase,
        received=received,
        contents=contents,
        team=None,
        user=actor,
        method_name=method_name,
        description=description,
        runtime_per_mp=runtime_per_mp,
    )
    audit_log_record(
        challenge=phase.track.challenge,
        actor=actor,
        action="baseline.submit",
        target=f"submission:{submission.pk}",
        details={"method_name": method_name, "phase": phase.pk, **(audit_details or {})},
    )
    return submission


# --- Model submissions ----------------------------------------------------------------------------


def _model_max_bytes(phase: Phase) -> int:
    return min(phase.max_upload_bytes, settings.RESTOREBENCH_MAX_MODEL_BYTES)


def _track_task_and_scale(phase: Phase) -> tuple[str | None, int | None]:
    from restorebench.bundles.schema import DATA_TASK

    spec = phase.track.degradation_spec or {}
    scale = spec.get("scale")
    return DATA_TASK.get(phase.track.task), scale if isinstance(scale, int) else None


def _check_model_inputs(phase: Phase) -> None:
    """A model needs inputs to run on: the phase's PNGs or float .npy arrays (what the evaluator's model
    runner reads); a phase with none refuses models."""
    try:
        folder = storage.model_inputs_for_reading(phase)
    except FileNotFoundError as error:
        raise ModelUploadError(f"this phase cannot run models: {error}", "phase") from error
    model_inputs_check(folder)


def _model_inspect(path: Path, manifest: dict, phase: Phase, sha256: str) -> ModelContents:
    task, scale = _track_task_and_scale(phase)
    return model_inspect(
        path,
        manifest,
        sha256=sha256,
        task=task,
        scale=scale,
        max_bytes=_model_max_bytes(phase),
        inputs_dir=storage.model_inputs_for_reading(phase),  # checked by _check_model_inputs first
    )


def _model_receive(
    *, model: IO[bytes] | Iterable[bytes], manifest: str | bytes | dict, phase: Phase, where: str = ""
) -> tuple[ReceivedFile, ModelContents]:
    try:
        _check_model_inputs(phase)
    except ModelUploadError as error:
        raise SubmissionRefused(f"{where}{error}") from error
    try:
        manifest_data = manifest_load(manifest)
    except ModelUploadError as error:
        raise SubmissionRefused({"manifest": f"{where}{error}"}) from error
    limit = _model_max_bytes(phase)
    try:
        received = archive_receive(model, directory=storage.scratch_dir(), max_bytes=limit)
    except ArchiveError as error:
        raise SubmissionRefused(f"{where}model file too large: more than {limit:,} bytes") from error
    try:
        contents = _model_inspect(received.path, manifest_data, phase, received.sha256)
    except ModelUploadError as error:
        received.path.unlink(missing_ok=True)
        raise SubmissionRefused(f"{where}model refused ({error.kind}): {error}") from error
    return received, contents


def submission_create_model(
    *,
    phase: Phase,
    user: AbstractBaseUser,
    model: IO[bytes] | Iterable[bytes],
    manifest: str | bytes | dict,
    method_name: str = "",
    description: str = "",
) -> Submission:
    """Accept a participant's model (ONNX, or safetensors for a registered reference architecture)
    with its manifest. Same team, window and limit rules as a zip; the worker runs it in the sandbox
    on the phase's inputs and scores the outputs. A model refused by the static checks is refused
    here, with the evaluator's reason, and nothing is stored."""
    team = _team_for(user=user, phase=phase)
    _check_open(team=team, phase=phase)  # fail before a long upload; re-checked under lock
    received, contents = _model_receive(model=model, manifest=manifest, phase=phase)
    return _submission_store(
        phase=phase,
        received=received,
        contents=contents,
        team=team,
        user=user,
        method_name=method_name,
        description=description,
    )


def submission_create_model_baseline(
    *,
    phase: Phase,
    method_name: str,
    model_path: str | Path,
    manifest: dict,
    description: str = "",
    actor: AbstractBaseUser | None = None,
) -> Submission:
    """Enter a reference method as a model (e.g. a deep method exported to ONNX): a reference
    submission, scored by running the model in the sandbox like a participant's."""
    model_path = _baseline_file(method_name=method_name, path=model_path, what="model")
    with open(model_path, "rb") as handle:
        received, contents = _model_receive(
            model=handle, manifest=manifest, phase=phase, where=f"{model_path}: "
        )
    return _baseline_store(
        phase=phase,
        received=received,
        contents=contents,
        method_name=method_name,
        description=description,
        actor=actor,
        audit_details={"kind": "model"},
    )


# --- Chunked, resumable uploads -------------------------------------------------------------------


def _upload_part(session: UploadSession) -> Path:
    return storage.upload_session_file(session.pk)


def upload_session_create(
    *, phase: Phase, user: AbstractBaseUser, filename: str, total_bytes: int, sha256: str
) -> UploadSession:
    """Start a resumable upload of `total_bytes` whose SHA-256 (hex) will be checked at the end."""
    _team_for(user=user, phase=phase)
    now = timezone.now()
    _check_window(phase=phase, now=now)
    if not isinstance(total_bytes, int) or total_bytes <= 0:
        raise SubmissionRefused({"total_bytes": "must be a positive number of bytes"})
    if total_bytes > phase.max_upload_bytes:
        raise SubmissionRefused(
            f"upload too large: {total_bytes:,} bytes, the phase's limit is {phase.max_upload_bytes:,} bytes"
        )
    sha256 = (sha256 or "").lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise SubmissionRefused({"sha256": "must be the 64 hex digits of the file's SHA-256"})
    session = UploadSession.objects.create(
        phase=phase, user=user, filename=filename[:255], total_bytes=total_bytes, sha256=sha256
    )
    part = _upload_part(session)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.touch()
    return session


def upload_session_append(
    *, session: UploadSession, offset: int, data: IO[bytes] | Iterable[bytes]
) -> UploadSession:
    """Append a chunk that starts at `offset`. A chunk at an offset already received is refused with the
    current offset, so a client that lost a response resumes from `received_bytes`."""
    with transaction.atomic():
        session = UploadSession.objects.select_for_update().get(pk=session.pk)
        if session.status != UploadStatus.OPEN:
            raise SubmissionRefused(f"upload {session.pk} is {session.status}, it takes no more data")
        if offset != session.received_bytes:
            raise SubmissionRefused(
                {
                    "offset": f"expected offset {session.received_bytes}, got {offset}; "
                    f"resume from {session.received_bytes}"
                }
            )
        part = _upload_part(session)
        written = 0
        limit = session.total_bytes - session.received_bytes
        with open(part, "r+b") as out:
            out.truncate(session.received_bytes)  # drop the tail of an interrupted earlier chunk
            out.seek(session.received_bytes)
            try:
                for block in data if not hasattr(data, "read") else iter(lambda: data.read(1024 * 1024), b""):
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
    or, when `manifest` is given, a model."""
    # Touch the row first: the abandoned-upload cleaner takes only sessions idle for hours (and
    # re-checks under a row lock), so from here on it leaves this one alone; if it took the session
    # just before, the row is gone and the participant hears so instead of a missing-file crash.
    touched = UploadSession.objects.filter(pk=session.pk, status=UploadStatus.OPEN).update(
        updated_at=timezone.now()
    )
    session = UploadSession.objects.select_related("phase", "phase__track").filter(pk=session.pk).first()
    if session is None:
        raise SubmissionRefused("this upload expired unfinished and was removed; start a new upload")
    if not touched or session.status != UploadStatus.OPEN:
        raise SubmissionRefused(f"upload {session.pk} is {session.status}")
    if session.received_bytes != session.total_bytes:
        raise SubmissionRefused(
            f"upload incomplete: {session.received_bytes:,} of {session.total_bytes:,} bytes received"
        )
    phase = session.phase
    team = _team_for(user=user, phase=phase)
    _check_runtime(runtime_per_mp)
    part = _upload_part(session)
    digest = file_sha256(part)
    if digest != session.sha256:
        UploadSession.objects.filter(pk=session.pk).update(
            status=UploadStatus.ABORTED, error="content hash mismatch", updated_at=timezone.now()
        )
        part.unlink(missing_ok=True)
        raise SubmissionRefused(
            f"content hash mismatch: the file received has SHA-256 {digest}, "
            f"the upload declared {session.sha256}; "
            "start a new upload"
        )
    try:
        if manifest is not None:
            _check_model_inputs(phase)
            contents = _model_inspect(part, manifest_load(manifest), phase, digest)
        else:
            contents = _inspect(part, phase)
    except (ArchiveError, ModelUploadError) as error:
        UploadSession.objects.filter(pk=session.pk).update(
            status=UploadStatus.ABORTED, error=str(error), updated_at=timezone.now()
        )
        part.unlink(missing_ok=True)
        if isinstance(error, ModelUploadError) and error.kind != "phase":
            raise SubmissionRefused(f"model refused ({error.kind}): {error}") from error
        raise SubmissionRefused(str(error)) from error
    received = ReceivedFile(part, session.total_bytes, digest)
    try:
        submission = _submission_store(
            phase=phase,
            received=received,
            contents=contents,
            team=team,
            user=user,
            method_name=method_name,
            description=description,
            runtime_per_mp=runtime_per_mp,
        )
    except ValidationError as error:
        # The assembled file is gone with the refusal; the session cannot be completed again.
        UploadSession.objects.filter(pk=session.pk).update(
            status=UploadStatus.ABORTED, error="; ".join(error.messages), updated_at=timezone.now()
        )
        raise
    UploadSession.objects.filter(pk=session.pk).update(
        status=UploadStatus.COMPLETE, submission=submission, updated_at=timezone.now()
    )
    return submission


def upload_session_abort(*, session: UploadSession) -> None:
    UploadSession.objects.filter(pk=session.pk, status=UploadStatus.OPEN).update(
        status=UploadStatus.ABORTED, updated_at=timezone.now()
    )
    _upload_part(session).unlink(missing_ok=True)


# --- Team choice, organizer actions --------------------------------------------------------------


@transaction.atomic
def submission_choose(*, submission: Submission, user: AbstractBaseUser) -> Submission:
    """Make `submission` the one that represents its team on the phase's leaderboard."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if (
        submission.is_reference
        or submission.team is None
        or not submission.team.memberships.filter(user=user).exists()
    ):
        raise SubmissionRefused("only a member of the submitting team can choose this submission")
    if submission.status != SubmissionStatus.SCORED:
        raise SubmissionRefused(f"only a scored submission can be chosen; this one is {submission.status}")
    if submission.disqualified:
        raise SubmissionRefused("a disqualified submission cannot be chosen")
    Team.objects.select_for_update().get(pk=submission.team_id)
    Submission.objects.filter(team=submission.team, phase=submission.phase, is_chosen=True).exclude(
        pk=submission.pk
    ).update(is_chosen=False, updated_at=timezone.now())
    submission.is_chosen = True
    submission.save(update_fields=["is_chosen", "updated_at"])
    return submission


@transaction.atomic
def submission_disqualify(
    *, submission: Submission, actor: AbstractBaseUser | None, reason: str
) -> Submission:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a disqualification needs a reason"})
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    submission.disqualified = True
    submission.disqualified_reason = reason
    submission.is_chosen = False
    submission.save(update_fields=["disqualified", "disqualified_reason", "is_chosen", "updated_at"])
    audit_log_record(
        challenge=submission.phase.track.challenge,
        actor=actor,
        action="submission.disqualify",
        target=f"submission:{submission.pk}",
        details={"reason": reason, "team": submission.team_id},
    )
    return submission


@transaction.atomic
def submission_requalify(
    *, submission: Submission, actor: AbstractBaseUser | None, reason: str = ""
) -> Submission:
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    submission.disqualified = False
    submission.disqualified_reason = ""
    submission.save(update_fields=["disqualified", "disqualified_reason", "updated_at"])
    audit_log_record(
        challenge=submission.phase.track.challenge,
        actor=actor,
        action="submission.requalify",
        target=f"submission:{submission.pk}",
        details={"reason": reason},
    )
    return submission


@transaction.atomic
def submission_cancel(*, submission: Submission, actor: AbstractBaseUser | None, reason: str) -> Submission:
    """Stop a submission's evaluation (an organizer or the platform); it no longer counts toward limits."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if submission.status not in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
        raise SubmissionRefused(
            f"only a queued or running submission can be cancelled; this one is {submission.status}"
        )
    EvaluationJob.objects.filter(submission=submission, status__in=ACTIVE_JOB_STATUSES).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), error_message=reason
    )
    submission.status = SubmissionStatus.CANCELLED
    submission.counts_toward_limits = False
    submission.failure_reason = reason
    submission.save(update_fields=["status", "counts_toward_limits", "failure_reason", "updated_at"])
    audit_log_record(
        challenge=submission.phase.track.challenge,
        actor=actor,
        action="submission.cancel",
        target=f"submission:{submission.pk}",
        details={"reason": reason},
    )
    return submission


@transaction.atomic
def phase_rescore(*, phase: Phase, actor: AbstractBaseUser | None, reason: str = "") -> Rescore:
    """Score every scored submission of the phase again (e.g. after a metric fix). The leaderboard as it
    stands is kept in the `Rescore`, so `leaderboards.selectors.rescore_changes` can show what moved."""
    from restorebench.leaderboards.selectors import leaderboard_snapshot

    rescore = Rescore.objects.create(
        phase=phase, requested_by=actor, reason=reason, before=leaderboard_snapshot(phase=phase)
    )
    submissions = (
        Submission.objects.select_for_update()
        .filter(phase=phase, status=SubmissionStatus.SCORED)
        .exclude(jobs__status__in=ACTIVE_JOB_STATUSES)
    )
    count = 0
    for submission in submissions:
        jobs.evaluation_job_create(submission=submission, purpose=JobPurpose.RESCORE, rescore=rescore)
        count += 1
    audit_log_record(
        challenge=phase.track.challenge,
        actor=actor,
        action="phase.rescore",
        target=f"phase:{phase.pk}",
        details={"reason": reason, "submissions": count, "rescore": rescore.pk},
    )
    return rescore
