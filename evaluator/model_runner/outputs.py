"""The parent's view of the model's outputs: the NCHW shape each input must give, the check of every
raw output file (like an uploaded image), and its conversion to the platform's image.

Image arrays here follow the platform convention: float64 (H, W) or (H, W, 3) on [0, 1]; the network's
raw outputs are float32 NCHW in the manifest's output range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from evaluator.model_runner.colorspace import rgb_to_ycbcr, ycbcr_to_rgb
from evaluator.model_runner.inputs import npy_header
from evaluator.model_runner.manifest import Manifest


class OutputRefused(Exception):
    """The model (or its output) is at fault: `kind` is the report's error_kind."""

    def __init__(self, kind: str, message: str, image: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.image = image


def expected_output_shape(
    size: tuple[int, int], is_rgb: bool, manifest: Manifest
) -> tuple[int, int, int, int]:
    """NCHW shape the network must produce for an input image of PIL `size` (W, H)."""
    w, h = size
    s = manifest.scale
    if manifest.color == "rgb":
        return (1, 3, s * h, s * w)
    if manifest.color == "gray" and is_rgb:
        return (3, 1, s * h, s * w)
    return (1, 1, s * h, s * w)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8, clipped, rounded half away from zero (the platform's file convention)."""
    return np.floor(np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _upscale_bicubic(plane: np.ndarray, scale: int) -> np.ndarray:
    h, w = plane.shape
    return np.asarray(
        Image.fromarray(plane.astype(np.float32), mode="F").resize((w * scale, h * scale), Image.BICUBIC),
        dtype=np.float64,
    )


def assemble_output(raw: np.ndarray, source: np.ndarray, manifest: Manifest) -> np.ndarray:
    """Validated raw NCHW output (already mapped to [0, 1]) -> platform image (H, W) or (H, W, 3).

    `source` is the input image, needed for the "y" colour mode's chroma and to return gray for gray;
    for a multi-frame sample the stack of frames, of which frame 0 (the reference) counts.
    """
    if manifest.frames > 1:
        source = source[0]
    if manifest.color == "rgb":
        out = raw[0].transpose(1, 2, 0)
        return out.mean(axis=2) if source.ndim == 2 else out
    if manifest.color == "gray":
        return raw[0, 0] if raw.shape[0] == 1 else raw[:, 0].transpose(1, 2, 0)
    if source.ndim == 2:
        return raw[0, 0]
    ycc = rgb_to_ycbcr(source)
    if manifest.scale > 1:
        chroma = [_upscale_bicubic(ycc[:, :, c], manifest.scale) for c in (1, 2)]
    else:
        chroma = [ycc[:, :, 1], ycc[:, :, 2]]
    return ycbcr_to_rgb(np.stack([raw[0, 0], *chroma], axis=2))


def validate_output(
    path: Path, name: str, expected: tuple[int, ...], manifest: Manifest, tolerance: float
) -> np.ndarray:
    """Check a raw output file like an upload; return it mapped to [0, 1] and clipped.

    Raises OutputRefused naming the image and the problem (dtype, shape, NaN/inf, range).
    """
    try:
        shape, fortran, dtype, _ = npy_header(path)
    except (OSError, ValueError) as exc:
        raise OutputRefused(
            "output_invalid", f"{name}: the model's output file is unreadable: {exc}", name
        ) from None
    if dtype != np.dtype("<f4") or fortran:
        raise OutputRefused("output_invalid", f"{name}: output dtype {dtype} (expected float32)", name)
    if tuple(shape) != tuple(expected):
        raise OutputRefused(
            "output_shape",
            f"{name}: the model produced shape {tuple(shape)} (N, C, H, W), expected {tuple(expected)} "
            f"for task {manifest.task!r}, scale {manifest.scale}, color {manifest.color!r}",
            name,
        )
    raw = np.load(path, allow_pickle=False)
    finite = np.isfinite(raw)
    if not finite.all():
        bad = int(raw.size - np.count_nonzero(finite))
        raise OutputRefused("nan", f"{name}: the model produced {bad} NaN or infinite value(s)", name)
    lo, hi = manifest.output_range
    span = hi - lo
    vmin, vmax = float(raw.min()), float(raw.max())
    if vmin < lo - tolerance * span or vmax > hi + tolerance * span:
        raise OutputRefused(
            "output_range",
            f"{name}: the model's outputs span [{vmin:.4g}, {vmax:.4g}] but the manifest declares "
            f"output_range [{lo:g}, {hi:g}] (tolerance {tolerance:.0%} of the span)",
            name,
        )
    return np.clip((raw.astype(np.float64) - lo) / span, 0.0, 1.0)
