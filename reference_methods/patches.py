"""Patches on a grid, shared by the patch-based methods (K-SVD, SCSR, the low-rank group methods).

Positions are the Cartesian product of row starts `ys` and column starts `xs`; patches are rows of
an (N, p²) matrix (row-major within the patch). Also the parameter checks these modules share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reference_methods.registry import MethodError

# --------------------------------------------------------------------------------------------------
# Parameter checks


def check_positive(method: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise MethodError(f"{method}: parameter {name!r} must be a positive number, got {value!r}")
    return float(value)


def check_count(method: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise MethodError(f"{method}: parameter {name!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# Patches on a grid: positions are the Cartesian product of row starts `ys` and column starts `xs`
# (step `stride`, last position always included so every pixel is covered).


def grid_positions(length: int, patch: int, stride: int) -> np.ndarray:
    """Patch start indices along one axis: 0, stride, 2·stride, …, and always length − patch."""
    if length < patch:
        raise MethodError(f"image side {length} is smaller than the patch size {patch}")
    pos = np.arange(0, length - patch + 1, stride)
    if pos[-1] != length - patch:
        pos = np.append(pos, length - patch)
    return pos


def extract_patches(image: np.ndarray, patch: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Patches of a 2-D image at all (y, x) in ys × xs, as rows: (len(ys) · len(xs), patch²)."""
    # One gather from the (read-only, no-copy) view of every patch, instead of one per patch pixel.
    windows = np.lib.stride_tricks.sliding_window_view(image, (patch, patch))
    rows = windows[np.ix_(ys, xs)].reshape(len(ys) * len(xs), patch * patch)
    return rows.astype(np.float64, copy=False)  # float64 rows whatever the image dtype, as before


def aggregate_patches(
    patches: np.ndarray, patch: int, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Sum patch rows back into an image; return (sum, count of patches covering each pixel)."""
    acc = np.zeros(shape)
    cnt = np.zeros(shape)
    grid = patches.reshape(len(ys), len(xs), patch, patch)
    for dy in range(patch):
        rows = ys + dy
        for dx in range(patch):
            idx = np.ix_(rows, xs + dx)
            # Within one offset the target pixels are distinct, so fancy-index += is exact.
            acc[idx] += grid[:, :, dy, dx]
            cnt[idx] += 1.0
    return acc, cnt


# --------------------------------------------------------------------------------------------------


def per_channel(image: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`fn` on a gray (H, W) image, or on each channel of an (H, W, C) image, stacked back."""
    if image.ndim == 2:
        return fn(image)
    return np.stack([fn(image[..., c]) for c in range(image.shape[2])], axis=-1)
