"""What a phase gives the reference methods: its task, the participant inputs and what they disclose
(the public manifest's spec, scale, and whether kernels and masks are given)."""

import json
from pathlib import Path
from types import ModuleType

from restorebench import storage
from restorebench.challenges.models import Phase


class BaselineError(ValueError):
    """A request the baseline runner cannot carry out (unknown method, phase without data)."""


def method_registry() -> ModuleType:
    """`reference_methods.registry`, imported on first use."""
    import reference_methods.registry as registry

    return registry


def phase_data_task(phase: Phase) -> str:
    return phase.track.task


def phase_disclosures(phase: Phase) -> set[str]:
    """What the phase's data disclose to methods (its spec's sigma / scale / quality; kernels and masks
    when its public manifest says they are given)."""
    manifest = phase_public_manifest(phase)
    given = manifest.get("disclosed") or {}
    spec = manifest.get("spec") or phase.track.degradation_spec or manifest_scale_spec(manifest)
    return method_registry().track_disclosures(
        phase.track.task, spec, kernel=bool(given.get("kernel")), mask=bool(given.get("mask"))
    )


def manifest_scale_spec(manifest: dict) -> dict:
    """What the public manifest of organizer data (pairs, or inputs alone) discloses without a
    degradation spec: its scale, which an SR method needs."""
    scale = manifest.get("scale")
    return {"scale": scale} if isinstance(scale, int) and scale > 1 else {}


def phase_public_manifest(phase: Phase) -> dict:
    try:
        return json.loads((phase_public_dir(phase) / "manifest.json").read_text(encoding="utf-8"))
    except (BaselineError, OSError, ValueError):
        return {}


def phase_public_dir(phase: Phase) -> Path:
    try:
        return storage.phase_inputs_for_reading(phase)
    except storage.DataUnavailable as error:
        raise BaselineError(f"phase {phase} has no usable participant inputs: {error}") from error
