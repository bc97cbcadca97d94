"""Checking a submitted model file and its manifest before anything is stored.

The same static checks the evaluator's sandbox makes before it starts a process (manifest fields,
file format from magic bytes and structure, ONNX checker, standard operator domains only, no external
data, one float32 NCHW input and output; safetensors header against file size, registered
architecture), made at upload time so that a refused model leaves nothing behind and costs nothing
against the team's limits, as a broken zip does. Plus what only the platform knows: the phase must
give inputs a model can run on (8-bit PNGs or float .npy arrays, see evaluator/model_runner/inputs.py),
the manifest must restore the track's task at the track's scale, and a manifest asking for masks
(`mask_input`) or kernels (`kernel_input`) needs a phase whose public folder discloses them for every
input. Nothing here runs the model.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ModelUploadError(ValueError):
    """The model upload is refused; the message (the evaluator's own where it has one) says why."""

    def __init__(self, message: str, kind: str = "invalid_file") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ModelContents:
    format: str  # "onnx" or "safetensors"
    manifest: dict[str, Any]  # the validated manifest, `Manifest.to_dict()`
    parameters: int
    fingerprint: str


def manifest_load(raw: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
    """The manifest as given by a participant (JSON text or an already parsed object)."""
    if raw is None or raw == "" or raw == b"":
        raise ModelUploadError("a model submission needs its manifest (a JSON object)", "manifest")
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelUploadError(f"the manifest is not valid JSON: {error}", "manifest") from None
    except RecursionError:
        raise ModelUploadError(
            "the manifest is not valid JSON: it is nested too deeply", "manifest"
        ) from None
    if not isinstance(data, dict):
        raise ModelUploadError(f"the manifest must be a JSON object, got {type(data).__name__}", "manifest")
    return data


def model_fingerprint(sha256: str, manifest: Mapping[str, Any]) -> str:
    """Equal for the same model file submitted with the same manifest (identical-submission checks)."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"model:{sha256}:{canonical}".encode()).hexdigest()


def model_inputs_check(folder: Path, frames: bool = False) -> list[Path]:
    """The phase's inputs a model runs on (`folder` is the phase's folder of inputs, as the job gets
    it): PNGs or float .npy arrays, or with `frames` (a multi-frame task) folders of PNG frames. Raise
    ModelUploadError (kind "phase") when there are none."""
    from evaluator.model_runner.inputs import INPUT_SUFFIXES, list_inputs

    try:
        return list_inputs(folder, frames=frames)
    except FileNotFoundError:
        raise ModelUploadError(
            "this phase cannot run models: its inputs folder is missing; submit restored images instead",
            "phase",
        ) from None
    except ValueError as error:
        found = sorted({p.suffix for p in folder.iterdir() if p.is_file()}) if folder.is_dir() else []
        if found and set(found) & set(INPUT_SUFFIXES):  # e.g. a.png beside a.npy
            raise ModelUploadError(f"this phase cannot run models: {error}", "phase") from None
        raise ModelUploadError(
            "this phase cannot run models: it gives "
            + (f"only {', '.join(found)} files" if found else "no inputs")
            + ", and the model runner reads 8-bit PNG or float .npy inputs; submit restored images instead",
            "phase",
        ) from None


def _side_input_problems(mask: bool, kernel: bool, inputs_dir: Path) -> list[str]:
    """What the phase's public folder lacks of the masks / kernels the manifest asks for."""
    from evaluator.model_runner.inputs import list_inputs, png_name
    from evaluator.model_runner.side_inputs import KERNEL_DIR, MASK_DIR, find_side_file, side_roots

    roots = side_roots(inputs_dir, inputs_dir)
    inputs = list_inputs(inputs_dir)
    problems = []
    for flag, wanted, folder, filename in (
        ("mask_input", mask, MASK_DIR, png_name),
        ("kernel_input", kernel, KERNEL_DIR, lambda p: f"{p.stem}.npy"),
    ):
        if not wanted:
            continue
        missing = [
            f"{folder}/{filename(p)}" for p in inputs if find_side_file(roots, folder, filename(p)) is None
        ]
        if missing:
            what = "masks" if flag == "mask_input" else "blur kernels"
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            problems.append(
                f"the manifest sets {flag} but this phase does not disclose {what} for its inputs "
                f"({len(missing)} of {len(inputs)} missing: {shown}); submit a model without {flag}"
            )
    return problems


def model_inspect(
    path: Path,
    manifest: Mapping[str, Any],
    *,
    sha256: str,
    task: str | None,
    scale: int | None,
    max_bytes: int,
    inputs_dir: Path | None = None,
) -> ModelContents:
    """Validate `manifest` and the model file at `path` for a track restoring `task` (a name of the task
    table, benchdata.tasks) at `scale`; raise ModelUploadError naming the problem.

    inputs_dir: the phase's folder of inputs (as the model job gets it); when given, a manifest's
    `mask_input` / `kernel_input` is refused unless every input has its `masks/<id>.png` /
    `kernels/<id>.npy` there or beside it (the model runner's lookup, side_inputs.py).
    """
    from benchdata.tasks import get_task
    from evaluator.model_runner import ManifestError, ModelFormatError, parse_manifest
    from evaluator.model_runner.formats import inspect_model

    try:
        parsed = parse_manifest(manifest)
    except ManifestError as error:
        raise ModelUploadError(str(error), "manifest") from None
    problems = []
    if task is not None and parsed.task != task:
        problems.append(f"the manifest's task is {parsed.task!r} but this track restores {task!r}")
    if task is not None and get_task(task).scaled and scale is not None and parsed.scale != scale:
        problems.append(f"the manifest's scale is {parsed.scale} but this track's scale is {scale}")
    if inputs_dir is not None and (parsed.mask_input or parsed.kernel_input):
        problems += _side_input_problems(parsed.mask_input, parsed.kernel_input, inputs_dir)
    if problems:
        raise ModelUploadError("; ".join(problems), "manifest")
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelUploadError(f"the model file is {size:,} bytes; the limit is {max_bytes:,} bytes")
    try:
        info = inspect_model(path, parsed)
        if info.format == "safetensors":
            _check_architecture(parsed.architecture)
    except ModelFormatError as error:
        raise ModelUploadError(str(error), error.kind) from None
    normalised = {**parsed.to_dict(), "format": info.format}
    return ModelContents(
        format=info.format,
        manifest=normalised,
        parameters=info.parameters,
        fingerprint=model_fingerprint(sha256, normalised),
    )


def _check_architecture(name: str) -> None:
    # Imports torch: only safetensors uploads pay for it.
    from reference_methods.deep.archs import list_archs

    registered = list_archs()
    if name not in registered:
        raise ModelUploadError(
            f"unknown architecture {name!r}; registered reference architectures: {', '.join(registered)}",
            "manifest",
        )
