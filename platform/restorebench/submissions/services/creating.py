"""Direct submissions in one request: a participant's zip of images or model, and the organizers'
reference entries (a zip or a model on disk), each through the checks of `admission` and the locked
store of `storing`."""

from collections.abc import Iterable
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from benchdata.tasks import get_task
from restorebench import storage
from restorebench.challenges.models import Phase
from restorebench.challenges.services import audit_log_record
from restorebench.submissions.archives import ArchiveContents, ArchiveError, ReceivedFile, archive_receive
from restorebench.submissions.model_files import (
    ModelContents,
    ModelUploadError,
    manifest_load,
    model_inputs_check,
    model_inspect,
)
from restorebench.submissions.models import Submission
from restorebench.submissions.services.admission import (
    SubmissionRefused,
    check_open,
    check_runtime,
    team_for,
)
from restorebench.submissions.services.storing import (
    scratch_dir,
    submission_store,
    zip_receive,
)


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
    team = team_for(user=user, phase=phase)
    check_runtime(runtime_per_mp)
    check_open(team=team, phase=phase)  # fail before a long upload; re-checked under lock
    received, contents = zip_receive(archive=archive, phase=phase)
    return submission_store(
        phase=phase,
        received=received,
        contents=contents,
        team=team,
        user=user,
        method_name=method_name,
        description=description,
        runtime_per_mp=runtime_per_mp,
    )


def _baseline_file(
    *, method_name: str, path: str | Path, what: str, runtime_per_mp: float | None = None
) -> Path:
    """The checks of a reference entry before its file is read: a method name, a valid runtime, an
    existing file (`what`: "archive" or "model")."""
    if not method_name.strip():
        raise SubmissionRefused({"method_name": "a reference baseline needs a method name"})
    check_runtime(runtime_per_mp)
    path = Path(path)
    if not path.is_file():
        raise SubmissionRefused(f"baseline {what} not found: {path}")
    return path


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
        received, contents = zip_receive(archive=handle, phase=phase, where=f"{zip_path}: ")
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
    submission = submission_store(
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


def model_max_bytes(phase: Phase) -> int:
    return min(phase.max_upload_bytes, settings.RESTOREBENCH_MAX_MODEL_BYTES)


def _track_task_and_scale(phase: Phase) -> tuple[str | None, int | None]:
    # A track of organizer pairs has no degradation: its scale is the scoring spec's.
    scale = (phase.track.degradation_spec or {}).get("scale", (phase.track.scoring_spec or {}).get("scale"))
    return phase.track.task or None, scale if isinstance(scale, int) else None


def check_model_inputs(phase: Phase) -> None:
    """A model needs inputs to run on: the phase's PNGs or float .npy arrays, or folders of frames for a
    multi-frame task (what the evaluator's model runner reads); a phase with none refuses models."""
    try:
        folder = storage.model_inputs_for_reading(phase)
    except storage.DataUnavailable as error:  # its message names no server path
        raise ModelUploadError(f"this phase cannot run models: {error}", "phase") from error
    except FileNotFoundError:  # removed while being checked; this message would name the folder
        raise ModelUploadError("this phase cannot run models: its inputs are missing", "phase") from None
    model_inputs_check(folder, frames=get_task(phase.track.task).multi_frame)


def model_contents(path: Path, manifest: dict, phase: Phase, sha256: str) -> ModelContents:
    """The static checks of a received model file (`check_model_inputs` first)."""
    task, scale = _track_task_and_scale(phase)
    return model_inspect(
        path,
        manifest,
        sha256=sha256,
        task=task,
        scale=scale,
        max_bytes=model_max_bytes(phase),
        inputs_dir=storage.model_inputs_for_reading(phase),
    )


def model_refusal(
    error: ModelUploadError, where: str = "", *, stored_as: str = "", shown_as: str = ""
) -> SubmissionRefused:
    """The participant's refusal. The evaluator names the file it read — a temporary name here: the
    message names the participant's own file instead (`shown_as`), or "the model file"."""
    message = str(error)
    if stored_as:
        message = message.replace(stored_as, shown_as or "the model file")
    if error.kind == "phase":
        return SubmissionRefused(f"{where}{message}")
    return SubmissionRefused(f"{where}model refused ({error.kind}): {message}")


def _model_receive(
    *,
    model: IO[bytes] | Iterable[bytes],
    manifest: str | bytes | dict,
    phase: Phase,
    where: str = "",
    filename: str = "",
) -> tuple[ReceivedFile, ModelContents]:
    try:
        check_model_inputs(phase)
    except ModelUploadError as error:
        raise SubmissionRefused(f"{where}{error}") from error
    try:
        manifest_data = manifest_load(manifest)
    except ModelUploadError as error:
        raise SubmissionRefused({"manifest": f"{where}{error}"}) from error
    limit = model_max_bytes(phase)
    try:
        received = archive_receive(model, directory=scratch_dir(), max_bytes=limit)
    except ArchiveError as error:
        raise SubmissionRefused(f"{where}model file too large: more than {limit:,} bytes") from error
    try:
        contents = model_contents(received.path, manifest_data, phase, received.sha256)
    except ModelUploadError as error:
        received.path.unlink(missing_ok=True)
        raise model_refusal(error, where, stored_as=received.path.name, shown_as=filename) from error
    except BaseException:
        received.path.unlink(missing_ok=True)
        raise
    return received, contents


class UploadedChunks:
    """An uploaded file's chunks, carrying the participant's own file name (for messages)."""

    def __init__(self, upload, chunk_bytes: int = 1024 * 1024) -> None:
        self.name = Path(str(getattr(upload, "name", "") or "")).name
        self._chunks = upload.chunks(chunk_bytes)

    def __iter__(self):
        return iter(self._chunks)


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
    team = team_for(user=user, phase=phase)
    check_open(team=team, phase=phase)  # fail before a long upload; re-checked under lock
    # An uploaded file object carries the participant's own file name: refusals use it.
    filename = Path(str(getattr(model, "name", "") or "")).name
    received, contents = _model_receive(model=model, manifest=manifest, phase=phase, filename=filename)
    return submission_store(
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
            model=handle, manifest=manifest, phase=phase, where=f"{model_path}: ", filename=model_path.name
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
