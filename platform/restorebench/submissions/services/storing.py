"""The part every way of submitting shares: receiving a zip into the scratch folder and checking it,
and the locked transaction that re-checks the team's window, limits and earlier content, moves the
file into place and creates the submission and its evaluation job."""

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from restorebench import storage
from restorebench.accounts.models import Team
from restorebench.challenges.models import Phase
from restorebench.challenges.track_specs import has_ground_truth
from restorebench.submissions import jobs
from restorebench.submissions.archives import (
    HEADER_BYTES,
    ArchiveContents,
    ArchiveError,
    ReceivedFile,
    archive_inspect,
    archive_receive,
    expected_count_of,
    image_header_size,
)
from restorebench.submissions.model_files import ModelContents
from restorebench.submissions.models import JobPurpose, Submission, SubmissionKind
from restorebench.submissions.services.admission import (
    SubmissionRefused,
    check_not_duplicate,
    check_open,
)


def storage_dir() -> Path:
    return storage.storage_root()


def scratch_dir() -> Path:
    """Where direct uploads stream before they are checked (upload_cleanup sweeps what a crash left)."""
    return storage.scratch_dir()


def submission_archive_file(submission: Submission) -> Path:
    """The submission's stored file, checked to be in its own phase's area."""
    return storage.submission_archive_path(submission.phase, submission.archive_path)


def expected_sizes(phase: Phase) -> dict[str, tuple[int, int]]:
    """{stem: (height, width)} a restored image must have, read from the ground truth's file headers
    (modcropped to the track's scale, as the evaluator compares them), or for a track without ground
    truth from the inputs' headers times the scale. Images whose file cannot be read are left out: the
    evaluator reports those as the platform's problem, not the team's."""
    truth = has_ground_truth(phase.track.scoring_spec)
    try:
        folder = storage.phase_scored_against_for_reading(phase, ground_truth=truth)
    except FileNotFoundError:
        return {}
    scale = (phase.track.scoring_spec or {}).get("scale")
    factor = scale if isinstance(scale, int) and scale > 1 else 1
    sizes = {}
    for name in phase.expected_images or []:
        path = (folder / name).resolve()
        if not path.is_relative_to(folder):
            continue
        try:
            with open(path, "rb") as handle:
                size = image_header_size(handle.read(HEADER_BYTES))
        except OSError:
            continue
        if size is None:
            continue
        height, width = size
        if truth:
            height, width = height - height % factor, width - width % factor
        else:
            height, width = height * factor, width * factor
        sizes[PurePosixPath(name).stem] = (height, width)
    return sizes


def size_basis(phase: Phase) -> str:
    """What a restored image's expected size is, in a refusal's words."""
    if has_ground_truth(phase.track.scoring_spec):
        return "the ground truth's size"
    scale = (phase.track.scoring_spec or {}).get("scale")
    return f"{scale} × its input's size" if isinstance(scale, int) and scale > 1 else "its input's size"


def zip_inspect(path: Path, phase: Phase) -> ArchiveContents:
    return archive_inspect(
        path,
        expected_count=expected_count_of(phase.expected_images),
        max_members=settings.RESTOREBENCH_MAX_ZIP_MEMBERS,
        max_uncompressed_bytes=settings.RESTOREBENCH_MAX_UNCOMPRESSED_BYTES,
        max_ratio=settings.RESTOREBENCH_MAX_COMPRESSION_RATIO,
        expected_sizes=expected_sizes(phase),
        size_basis=size_basis(phase),
    )


def zip_receive(
    *, archive: IO[bytes] | Iterable[bytes], phase: Phase, where: str = ""
) -> tuple[ReceivedFile, ArchiveContents]:
    """Receive a zip of images into the scratch folder and inspect it; refusals name `where` first."""
    try:
        received = archive_receive(archive, directory=scratch_dir(), max_bytes=phase.max_upload_bytes)
    except ArchiveError as error:
        raise SubmissionRefused(f"{where}{error}") from error
    try:
        contents = zip_inspect(received.path, phase)
    except ArchiveError as error:
        received.path.unlink(missing_ok=True)
        raise SubmissionRefused(f"{where}{error}") from error
    return received, contents


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


def submission_store(
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
    """The transactional part shared by every way in: lock, re-check, move the file, create rows. The
    received file is moved into place or deleted, whatever happens."""
    model = isinstance(contents, ModelContents)
    final, recorded = _final_path(phase, f".{contents.format}" if model else ".zip")
    moved = False
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with transaction.atomic():
            if team is not None:
                # Lock the team row: concurrent submissions of one team queue up here, so the limit
                # and duplicate checks and the insert below are atomic together.
                Team.objects.select_for_update().get(pk=team.pk)
                check_open(team=team, phase=phase)
                check_not_duplicate(team=team, phase=phase, fingerprint=contents.fingerprint)
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
