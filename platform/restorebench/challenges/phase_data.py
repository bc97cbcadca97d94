"""A phase's data: installing its participant inputs and hidden ground truth into the phase's own area,
and the inputs download built from them.

The platform chooses where data lives (`restorebench.storage`); bundle loading and the organizers'
data upload both install through `phase_data_install`, which copies a checked source folder next to
the live one and swaps it in, so readers see the old data or the new, never a mix.
"""

import os
import shutil
import zipfile
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from restorebench import storage
from restorebench.challenges.models import Phase
from restorebench.challenges.services import audit_log_record


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
        if ground_truth_src is not None:
            target = storage.phase_ground_truth_dir(phase)
            target.parent.mkdir(parents=True, exist_ok=True)
            slot = storage.phase_install_slot(phase, "ground_truth", hidden=True)
            _swap_in(Path(ground_truth_src), target, slot)
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
    newest = max((p.stat().st_mtime for p in files), default=0)
    if not target.is_file() or target.stat().st_mtime < newest:
        partial = storage.phase_install_slot(phase, "inputs-zip", hidden=False)
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
                for path in files:
                    archive.write(path, path.relative_to(inputs).as_posix())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return storage.phase_inputs_zip(phase)
