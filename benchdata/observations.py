"""Writing a degraded observation to files: the input image, and its kernel and mask when present.

Inputs on the 8-bit grid (specs with quantize) are 8-bit PNGs; others (the classic unclipped float
noise) are `.npy` float32 arrays with the same (H, W[, 3]) layout and [0, 1] scale, since a PNG cannot
hold negative or fractional values. Kernels are `.npy` float64 plus a PNG preview; masks are 8-bit PNGs
with 255 = missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchdata.degradations import DegradationSpec, Degraded, save_kernel
from benchdata.image_files import write_image, write_mask


def input_suffix(spec: DegradationSpec) -> str:
    """'.png' for quantised observations, '.npy' (float32) otherwise."""
    return ".png" if spec.quantize else ".npy"


def write_observation(path_without_suffix: Path, image: np.ndarray, spec: DegradationSpec) -> Path:
    """Write a degraded image as `<path>.png` or `<path>.npy` (see `input_suffix`)."""
    path = Path(str(path_without_suffix) + input_suffix(spec))
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec.quantize:
        write_image(path, image)
    else:
        np.save(path, np.asarray(image, dtype=np.float32), allow_pickle=False)
    return path


def write_extras(
    degraded: Degraded, kernel_path: Path | None, mask_path: Path | None
) -> tuple[list[Path], list[Path]]:
    """Write the kernel (.npy + .png preview) and the mask (.png) where asked; return what was written."""
    kernels: list[Path] = []
    masks: list[Path] = []
    if degraded.kernel is not None and kernel_path is not None:
        kernels.extend(save_kernel(kernel_path, degraded.kernel))
    if degraded.mask is not None and mask_path is not None:
        masks.append(write_mask(mask_path, degraded.mask))
    return kernels, masks
