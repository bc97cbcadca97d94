"""Checking a submitted model file and its manifest before anything is stored.

The same static checks the evaluator's sandbox makes before it starts a process (manifest fields,
file format from magic bytes and structure, ONNX checker, standard operator domains only, no external
data, one float32 NCHW input and output; safetensors header against file size, registered
architecture), made at upload time so that a refused model leaves nothing behind and costs nothing
against the team's limits, as a broken zip does. Plus what only the platform knows: the manifest
must restore the track's task at the track's scale. Nothing here runs the model.
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
    if not isinstance(data, dict):
        raise ModelUploadError(f"the manifest must be a JSON object, got {type(data).__name__}", "manifest")
    return data


def model_fingerprint(sha256: str, manifest: Mapping[str, Any]) -> str:
    """Equal for the same model file submitted with the same manifest (identical-submission checks)."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"model:{sha256}:{canonical}".encode()).hexdigest()


def model_inspect(
    path: Path,
    manifest: Mapping[str, Any],
    *,
    sha256: str,
    task: str | None,
    scale: int | None,
    max_bytes: int,
) -> ModelContents:
    """Validate `manifest` and the model file at `path` for a track restoring `task` (the evaluator's
    task name: denoise, deblur, sr, inpaint) at `scale`; raise ModelUploadError naming the problem."""
    from evaluator.model_runner import ManifestError, ModelFormatError, detect_format, parse_manifest
    from evaluator.model_runner.formats import inspect_onnx, inspect_safetensors

    try:
        parsed = parse_manifest(manifest)
    except ManifestError as error:
        raise ModelUploadError(str(error), "manifest") from None
    problems = []
    if task is not None and parsed.task != task:
        problems.append(f"the manifest's task is {parsed.task!r} but this track restores {task!r}")
    if task == "sr" and scale is not None and parsed.scale != scale:
        problems.append(f"the manifest's scale is {parsed.scale} but this track's scale is {scale}")
    if problems:
        raise ModelUploadError("; ".join(problems), "manifest")
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelUploadError(f"the model file is {size:,} bytes; the limit is {max_bytes:,} bytes")
    try:
        fmt = detect_format(path)
        if parsed.format is not None and parsed.format != fmt:
            raise ModelFormatError(
                "manifest", f"the manifest says format {parsed.format!r} but the file is {fmt}"
            )
        if fmt == "onnx":
            if parsed.architecture is not None:
                raise ModelFormatError(
                    "manifest", "'architecture' applies to safetensors weights; this is an ONNX model"
                )
            # Extra inputs (an inpainting mask channel, a deblurring kernel), where the evaluator's
            # manifest has them: passed only when set, as the sandbox does.
            extra = {name: True for name in ("mask_input", "kernel_input") if getattr(parsed, name, False)}
            info = inspect_onnx(path, parsed.channels, **extra)
        else:
            if parsed.architecture is None:
                raise ModelFormatError("manifest", "safetensors weights need 'architecture' in the manifest")
            info = inspect_safetensors(path)
            _check_architecture(parsed.architecture)
    except ModelFormatError as error:
        raise ModelUploadError(str(error), error.kind) from None
    normalised = {**parsed.to_dict(), "format": fmt}
    return ModelContents(
        format=fmt,
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
