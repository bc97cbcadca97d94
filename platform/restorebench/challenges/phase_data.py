"""A phase's data: installing its participant inputs and hidden ground truth into the phase's own area,
the organizers' upload of pairs, and the downloads built from them (inputs; ground truth where public).

The platform chooses where data lives (`restorebench.storage`); bundle loading and the organizers'
data upload both install through `phase_data_install`, which copies a checked source folder next to
the live one and swaps it in, so readers see the old data or the new, never a mix.

- `phase_data_upload` takes a zip with `inputs/` and `ground_truth/` (for `burst_sr`, `inputs/<sample>/`
  folders of frames): received and checked from its directory (`submissions.archives`), unpacked into a
  scratch folder, checked whole (`benchdata.pairs.check_pairs`: every problem, each naming its file),
  staged with its manifests (`benchdata.pairs.install_pairs`) and installed. Any refusal leaves no file
  behind and the phase as it was.
- `phase_ground_truth_archive` zips a phase's ground truth only when the phase says it is public;
  hidden ground truth is never read for a download.

A track without ground truth (its scoring spec says `ground_truth: false`; docs/platform.md) takes
inputs alone, checked by `benchdata.pair_inputs.check_inputs` (`phase_pairs_check` picks the check):
the upload's zip holds `inputs/` only, the inputs name the expected images, and there is no ground
truth to install or download.
"""

import os
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from benchdata.pair_inputs import check_inputs
from benchdata.pairs import INPUT_SUFFIXES, PairDataError, PairSet, check_pairs, install_pairs, task_geometry
from restorebench import storage
from restorebench.challenges.models import Phase
from restorebench.challenges.services import audit_log_record
from restorebench.challenges.track_specs import has_ground_truth


def _checked_source(src: Path, field: str) -> list[Path]:
    """The files of a source folder; refuses a missing folder, links and special files."""
    src = Path(src)
    if src.is_symlink() or not src.is_dir():
        raise ValidationError({field: "must be an existing folder (not a symbolic link)"})
    try:
        storage.tree_check(src, field)
    except storage.ConfinementError as error:
        raise ValidationError({field: str(error)}) from error
    files = sorted(p for p in src.rglob("*") if p.is_file())
    if not files:
        raise ValidationError({field: "the folder is empty"})
    return files


def _swap_in(src: Path, target: Path, slot: Path) -> None:
    """Copy `src` to `slot` (a sibling of `target`), then replace `target` with it."""
    old = slot.with_name(slot.name + "-old")
    try:
        shutil.copytree(src, slot, symlinks=True)
        if target.exists():
            os.replace(target, old)
        os.replace(slot, target)
    finally:
        shutil.rmtree(slot, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def phase_data_install(
    *,
    phase: Phase,
    inputs_src: Path | None,
    ground_truth_src: Path | None,
    actor: AbstractBaseUser | None,
) -> Phase:
    """Install the given folders as the phase's participant inputs and/or hidden ground truth, in the
    phase's own area, and record it (installed-at times, audit entry `phase.data_install`). Installing
    ground truth also sets `expected_images` to its top-level file names. The sources are copied (the
    caller keeps or removes them). Raises `ValidationError` naming `inputs_src` / `ground_truth_src`."""
    if inputs_src is None and ground_truth_src is None:
        raise ValidationError({"__all__": "nothing to install: give inputs, ground truth or both"})
    truth = has_ground_truth(phase.track.scoring_spec)
    if ground_truth_src is not None and not truth:
        raise ValidationError(
            {"ground_truth_src": "this track has no ground truth (its scoring spec says ground_truth: false)"}
        )
    sources = {"inputs_src": inputs_src, "ground_truth_src": ground_truth_src}
    counts = {field: len(_checked_source(src, field)) for field, src in sources.items() if src is not None}
    with transaction.atomic():
        phase = Phase.objects.select_for_update().select_related("track__challenge").get(pk=phase.pk)
        now = timezone.now()
        if inputs_src is not None:
            target = storage.phase_inputs_dir(phase)
            target.parent.mkdir(parents=True, exist_ok=True)
            _swap_in(Path(inputs_src), target, storage.phase_install_slot(phase, "inputs", hidden=False))
            storage.phase_inputs_zip(phase).unlink(missing_ok=True)  # rebuilt from the new inputs
            phase.inputs_installed_at = now
            if not truth:  # the inputs name the expected images (PNG, `<id>.png` like the outputs)
                folder = storage.model_inputs_for_reading(phase)
                phase.expected_images = sorted(
                    p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png"
                )
        if ground_truth_src is not None:
            target = storage.phase_ground_truth_dir(phase)
            target.parent.mkdir(parents=True, exist_ok=True)
            slot = storage.phase_install_slot(phase, "ground_truth", hidden=True)
            _swap_in(Path(ground_truth_src), target, slot)
            storage.phase_ground_truth_zip(phase).unlink(missing_ok=True)  # rebuilt when published
            phase.expected_images = sorted(p.name for p in target.iterdir() if p.is_file())
            phase.ground_truth_installed_at = now
        phase.save(update_fields=["inputs_installed_at", "ground_truth_installed_at", "expected_images"])
        audit_log_record(
            challenge=phase.track.challenge,
            actor=actor,
            action="phase.data_install",
            target=f"phase:{phase.pk}",
            details={name.removesuffix("_src") + "_files": count for name, count in counts.items()},
        )
    return phase


def phase_inputs_archive(*, phase: Phase) -> Path:
    """The phase's participant inputs as one zip (stored, built once and rebuilt when an input is
    newer). Only the phase's own inputs folder is read, re-checked for confinement on every call.
    Raises `storage.DataUnavailable` (a FileNotFoundError) when there is nothing to serve."""
    inputs = storage.phase_inputs_for_reading(phase)
    target = storage.phase_inputs_zip(phase)
    files = sorted(p for p in inputs.rglob("*") if p.is_file())
    slot = lambda: storage.phase_install_slot(phase, "inputs-zip", hidden=False)  # noqa: E731
    _zip_when_stale(inputs, files, target, slot)
    return storage.phase_inputs_zip(phase)


def _zip_when_stale(folder: Path, files: list[Path], target: Path, slot: Callable[[], Path]) -> None:
    """(Re)build `target`, a stored zip of `files` (paths relative to `folder`), when it is missing
    or older than the newest file; written to a fresh `slot()` first and moved in whole, so a
    download never sees half a zip."""
    newest = max((p.stat().st_mtime for p in files), default=0)
    if target.is_file() and target.stat().st_mtime >= newest:
        return
    partial = slot()
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder).as_posix())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


DATA_FOLDERS = ("inputs", "ground_truth")


class PhaseDataRefused(ValidationError):
    """An organizer's data was not accepted; the messages name every file at fault. Nothing was stored."""


def pairs_task_and_scale(track: Any) -> tuple[str, int | None]:
    """The task and scale that organizer pairs of `track` are checked with (a Track row or a bundle's
    TrackDef: both have `task` and `scoring_spec`)."""
    scale = (track.scoring_spec or {}).get("scale")
    return track.task, scale if isinstance(scale, int) else None


def phase_pairs_check(
    track: Any, inputs: Path, ground_truth: Path | None, labels: tuple[str, str] | None = None
) -> PairSet:
    """Check a phase's organizer data for `track` (a Track row or a bundle's TrackDef): pairs, or for a
    track without ground truth its inputs alone. Raises `PairDataError` naming every problem."""
    task, scale = pairs_task_and_scale(track)
    if not has_ground_truth(track.scoring_spec):
        if ground_truth is not None:
            message = "this track has no ground truth (its scoring spec says ground_truth: false)"
            raise PairDataError([f"{message}: give inputs only"])
        return check_inputs(inputs, task=task, scale=scale, label=labels[0] if labels else None)
    if ground_truth is None:
        raise PairDataError(["ground truth is missing: this track scores against it"])
    return check_pairs(inputs, ground_truth, task=task, scale=scale, labels=labels)


def phase_ground_truth_archive(*, phase: Phase) -> Path:
    """The phase's public ground truth as one zip (the images at its top level: the `GT` folder of
    `python -m evaluator score`), built in the hidden area (no URL serves it) and rebuilt when the
    ground truth is reinstalled. Raises `storage.DataUnavailable` (a FileNotFoundError) for hidden
    ground truth, or when there is none."""
    if not has_ground_truth(phase.track.scoring_spec):
        raise storage.DataUnavailable(f"phase {phase.slug!r} has no ground truth (no-reference metrics only)")
    if phase.hidden_ground_truth:
        raise storage.DataUnavailable(f"phase {phase.slug!r} keeps its ground truth hidden")
    folder = storage.phase_ground_truth_for_reading(phase)
    target = storage.phase_ground_truth_zip(phase)
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    _zip_when_stale(
        folder, files, target, lambda: storage.phase_install_slot(phase, "ground-truth-zip", hidden=True)
    )
    return storage.phase_ground_truth_zip(phase)


def _refused(messages: list[str] | str) -> PhaseDataRefused:
    return PhaseDataRefused(messages if isinstance(messages, list) else [messages])


def _unpack_and_check(received: Path, work: Path, phase: Phase) -> PairSet:
    from restorebench.submissions.archives import ArchiveError, archive_extract, archive_inspect

    task, scale = pairs_task_and_scale(phase.track)
    try:
        _, bursts = task_geometry(task, scale)
        contents = archive_inspect(
            received,
            expected_count=None,
            max_members=settings.RESTOREBENCH_MAX_ZIP_MEMBERS,
            max_uncompressed_bytes=settings.RESTOREBENCH_MAX_UNCOMPRESSED_BYTES,
            max_ratio=settings.RESTOREBENCH_MAX_COMPRESSION_RATIO,
            max_depth=3 if bursts else 2,
            suffixes=INPUT_SUFFIXES,
        )
        truth = has_ground_truth(phase.track.scoring_spec)
        folders = DATA_FOLDERS if truth else DATA_FOLDERS[:1]
        stray = sorted(n for n in contents.names if PurePosixPath(n).parts[0] not in folders)
        if stray:
            holds = "those two folders" if truth else "inputs/ only: this track has no ground truth"
            raise _refused(
                [
                    f"{n}: outside {' and '.join(f'{f}/' for f in folders)} (the zip holds {holds})"
                    for n in stray
                ]
            )
        archive_extract(received, contents, target=work)
        return phase_pairs_check(
            phase.track, work / "inputs", work / "ground_truth" if truth else None, DATA_FOLDERS
        )
    except ArchiveError as error:
        raise _refused(str(error)) from error
    except PairDataError as error:
        raise _refused(error.problems) from error


def phase_data_upload(
    *, phase: Phase, archive: IO[bytes] | Iterable[bytes], actor: AbstractBaseUser | None
) -> Phase:
    """Replace the phase's data with the organizer pairs in `archive` (a zip with `inputs/` and
    `ground_truth/`; `inputs/` alone for a track without ground truth). Raises PhaseDataRefused naming
    every problem; nothing is stored then."""
    from restorebench.submissions.archives import ArchiveError, archive_receive

    scratch = storage.scratch_dir()
    try:
        received = archive_receive(
            archive, directory=scratch, max_bytes=settings.RESTOREBENCH_MAX_UNCOMPRESSED_BYTES
        )
    except ArchiveError as error:
        raise _refused(str(error)) from error
    token = uuid.uuid4().hex
    work, public_stage = scratch / f"phase-data-{token}", scratch / f"phase-data-{token}-public"
    hidden_stage = storage.scratch_dir(hidden=True) / f"phase-data-{token}"
    try:
        pairs = _unpack_and_check(received.path, work, phase)
        track = phase.track
        install_pairs(
            pairs, public_stage, hidden_stage, track=f"{track.challenge.slug}/{track.slug}/{phase.slug}"
        )
        truth = hidden_stage / "gt" if pairs.ground_truth_dir is not None else None
        phase = phase_data_install(phase=phase, inputs_src=public_stage, ground_truth_src=truth, actor=actor)
        if truth is not None:
            shutil.copyfile(hidden_stage / "manifest.json", storage.phase_hidden_manifest(phase))
        audit_log_record(
            challenge=track.challenge,
            actor=actor,
            action="phase.data_upload",
            target=f"phase:{phase.pk}",
            details={"sha256": received.sha256, "bytes": received.size, "pairs": len(pairs.items)},
        )
    finally:
        received.path.unlink(missing_ok=True)
        for folder in (work, public_stage, hidden_stage):
            shutil.rmtree(folder, ignore_errors=True)
    return phase
