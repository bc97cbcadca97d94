"""Colour conversion and border shaving shared by the full-reference metrics.

Tensors: float64, (N, C, H, W), intensities on [0, 1]. Pixel arrays (the CPU path, `*_pixels`): numpy
(H, W) or (H, W, 3) integers with a stated full-scale value (255 for 8-bit), never copied to float64
unless a conversion needs it.
"""

from __future__ import annotations

import numpy as np
import torch

# ITU-R BT.601 luma as MATLAB's rgb2ycbcr computes it (for R, G, B on [0, 1], Y on the 0–255 scale):
# Y = 16 + 65.481 R + 128.553 G + 24.966 B. These are 219 × (0.299, 0.587, 0.114) rounded to the 3
# decimals MATLAB uses; Y spans [16, 235] ("studio swing"), unlike the full-range YIQ luma pyiqa defaults to.
BT601_Y_OFFSET = 16.0
BT601_Y_WEIGHTS = (65.481, 128.553, 24.966)


def rgb_to_bt601_luma(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB on [0, 1] → (N, 1, H, W) BT.601 Y on [16/255, 235/255] (MATLAB rgb2ycbcr, unrounded).

    Gray input (C = 1) is returned unchanged: as in the SR literature's MATLAB scripts, `rgb2ycbcr` is
    applied only to 3-channel images and a gray image is its own luma.
    """
    if rgb.ndim != 4 or rgb.shape[1] not in (1, 3):
        raise ValueError(f"expected an (N, 1|3, H, W) tensor, got shape {tuple(rgb.shape)}")
    if rgb.shape[1] == 1:
        return rgb
    wr, wg, wb = BT601_Y_WEIGHTS
    y = BT601_Y_OFFSET + wr * rgb[:, 0:1] + wg * rgb[:, 1:2] + wb * rgb[:, 2:3]
    return y / 255.0


def shave_border(x: torch.Tensor, pixels: int) -> torch.Tensor:
    """Remove `pixels` rows/columns from every border of an (…, H, W) tensor (SR: pixels = scale)."""
    if pixels < 0:
        raise ValueError(f"shave must be >= 0, got {pixels}")
    if pixels == 0:
        return x
    h, w = x.shape[-2:]
    if h <= 2 * pixels or w <= 2 * pixels:
        raise ValueError(f"cannot shave {pixels} px from every border of a {w}×{h} image")
    return x[..., pixels : h - pixels, pixels : w - pixels]


def bt601_luma_plane(rgb: np.ndarray, full_scale: float) -> np.ndarray:
    """(H, W, 3) integer RGB with values on [0, full_scale] → (H, W) float64 BT.601 Y on [0, 1] scale,
    computed with the same float64 operations, in the same order, as `rgb_to_bt601_luma`."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) array, got shape {rgb.shape}")
    wr, wg, wb = BT601_Y_WEIGHTS
    r, g, b = (rgb[..., c] / full_scale for c in range(3))
    return (BT601_Y_OFFSET + wr * r + wg * g + wb * b) / 255.0


def shave_pixels(arr: np.ndarray, pixels: int) -> np.ndarray:
    """`shave_border` for an (H, W[, C]) array: a view without `pixels` rows/columns at every border."""
    if pixels < 0:
        raise ValueError(f"shave must be >= 0, got {pixels}")
    if pixels == 0:
        return arr
    h, w = arr.shape[:2]
    if h <= 2 * pixels or w <= 2 * pixels:
        raise ValueError(f"cannot shave {pixels} px from every border of a {w}×{h} image")
    return arr[pixels : h - pixels, pixels : w - pixels]


# MATLAB's rgb2gray weights (the luma row of its NTSC YIQ conversion, to the digits MATLAB uses).
MATLAB_GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def matlab_rgb2gray_uint8(rgb: np.ndarray) -> np.ndarray:
    """MATLAB `rgb2gray` of an (H, W, 3) uint8 image: the weighted sum rounded half away from zero to uint8
    (what the reference MATLAB scripts of NIQE, BRISQUE, PIQE and MS-SSIM were given)."""
    if rgb.ndim == 2:
        return rgb.astype(np.uint8)
    gray = rgb[..., :3].astype(np.float64) @ np.asarray(MATLAB_GRAY_WEIGHTS)
    return np.clip(np.floor(gray + 0.5), 0, 255).astype(np.uint8)
