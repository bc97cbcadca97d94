"""Patch grids with overlap blending, the degradation operators in torch, and the colour split.

The patch models (VAE, DCGAN, RealNVP) see size×size gray patches; an image of any size is covered
by a regular grid of patches with stride `stride` (< size, so they overlap). The image is padded by
edge replication at the bottom/right until the grid fits; the padding is cropped away again.
Overlapping patches are blended with a separable sine window w(i) = sin(π (i + ½) / size), positive
everywhere, so every pixel is a weighted mean of the patches covering it and seams fade smoothly:
image = Σ_p fold(w ⊙ patch_p) / Σ_p fold(w). Everything is differentiable torch, so latent
optimisation runs through the blending.

Arrays: images are torch float (H, W) on [0, 1]; patches (P, 1, size, size).

Degradation operators (what "the degraded generated image matches the input" means):
- `Masking`: inpainting; compares only the known pixels (mask True = missing).
- `BicubicDownsampling`: SR; MATLAB-compatible antialiased bicubic downscaling by 1/scale written as
  two dense matrices from `benchdata.resize.resize_weights`, LR = R_h · HR · R_wᵀ, so it equals
  `benchdata.resize.imresize(HR, 1/scale)` before uint8 rounding (tested).

Colour: the models are gray. An RGB image is split into BT.601 YCbCr as MATLAB's rgb2ycbcr computes
it (Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255); the model restores Y, and Cb/Cr are restored
by the classic baseline of the task (bicubic for SR, biharmonic fill for inpainting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from benchdata.resize import resize_weights


def check_patches(x: torch.Tensor, size: int, name: str) -> None:
    """Refuse anything but a (N, 1, size, size) batch of gray patches, naming the model."""
    if x.dim() != 4 or x.shape[1:] != (1, size, size):
        raise ValueError(f"{name} takes (N, 1, {size}, {size}) patches, got {tuple(x.shape)}")


def sine_window(size: int) -> torch.Tensor:
    """(size, size) separable blending weights, all positive."""
    w = torch.sin(math.pi * (torch.arange(size, dtype=torch.float64) + 0.5) / size)
    return w[:, None] * w[None, :]


@dataclass(frozen=True)
class PatchGrid:
    """A regular grid of size×size patches with `stride` over an (height, width) image.

    padded_h/padded_w: the grid's extent (>= the image, padded at bottom/right by replication).
    rows/cols: number of patch positions per axis; count = rows · cols.
    """

    height: int
    width: int
    size: int
    stride: int

    def __post_init__(self) -> None:
        if not 0 < self.stride <= self.size:
            raise ValueError(f"patch stride must be in (0, size={self.size}], got {self.stride}")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"image must be non-empty, got {self.height}x{self.width}")

    def _extent(self, length: int) -> int:
        if length <= self.size:
            return self.size
        return self.size + math.ceil((length - self.size) / self.stride) * self.stride

    @property
    def padded_h(self) -> int:
        return self._extent(self.height)

    @property
    def padded_w(self) -> int:
        return self._extent(self.width)

    @property
    def rows(self) -> int:
        return (self.padded_h - self.size) // self.stride + 1

    @property
    def cols(self) -> int:
        return (self.padded_w - self.size) // self.stride + 1

    @property
    def count(self) -> int:
        return self.rows * self.cols

    def extract(self, image: torch.Tensor) -> torch.Tensor:
        """(H, W) -> (P, 1, size, size) patches, row-major over the grid."""
        if image.shape != (self.height, self.width):
            raise ValueError(
                f"image shape {tuple(image.shape)} does not match the grid {self.height}x{self.width}"
            )
        pad = (0, self.padded_w - self.width, 0, self.padded_h - self.height)
        padded = F.pad(image[None, None], pad, mode="replicate") if any(pad) else image[None, None]
        cols = F.unfold(padded, self.size, stride=self.stride)  # (1, size², P)
        return cols[0].T.reshape(-1, 1, self.size, self.size)

    def blend(self, patches: torch.Tensor) -> torch.Tensor:
        """(P, 1, size, size) -> (H, W): window-weighted mean of the overlapping patches."""
        if patches.shape != (self.count, 1, self.size, self.size):
            raise ValueError(
                f"expected ({self.count}, 1, {self.size}, {self.size}) patches, got {tuple(patches.shape)}"
            )
        window = sine_window(self.size).to(patches.dtype).to(patches.device)
        out_size = (self.padded_h, self.padded_w)
        cols = (patches * window).reshape(self.count, -1).T[None]
        num = F.fold(cols, out_size, self.size, stride=self.stride)
        den_cols = window.reshape(1, -1, 1).expand(1, -1, self.count)
        den = F.fold(den_cols, out_size, self.size, stride=self.stride)
        return (num / den)[0, 0, : self.height, : self.width]


# --------------------------------------------------------------------------------------------------
# Degradation operators


class Masking:
    """Inpainting data term: ½ Σ_known (x - y)²; mask (H, W) bool, True = missing."""

    def __init__(self, observed: torch.Tensor, mask: np.ndarray) -> None:
        self.observed = observed
        self.known = torch.from_numpy(~np.asarray(mask, dtype=bool)).to(observed.device)
        self.count = int(self.known.sum())

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(self.known, x - self.observed, torch.zeros_like(x))


def bicubic_matrix(in_length: int, scale: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(in_length/scale, in_length) matrix of MATLAB's antialiased bicubic downscaling along one axis."""
    out_length = in_length // scale
    indices, weights = resize_weights(in_length, out_length, 1.0 / scale)
    matrix = np.zeros((out_length, in_length))
    for tap in range(indices.shape[1]):
        np.add.at(matrix, (np.arange(out_length), indices[:, tap]), weights[:, tap])
    return torch.from_numpy(matrix).to(dtype)


class BicubicDownsampling:
    """SR data term: ½ ||R_h x R_wᵀ - y||² with y the (h, w) LR image and x the (s·h, s·w) estimate."""

    def __init__(self, observed: torch.Tensor, scale: int) -> None:
        h, w = observed.shape
        self.observed, self.scale = observed, scale
        self.rh = bicubic_matrix(h * scale, scale, observed.dtype).to(observed.device)
        self.rw = bicubic_matrix(w * scale, scale, observed.dtype).to(observed.device)
        self.count = h * w

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        return self.rh @ x @ self.rw.T

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x) - self.observed


# --------------------------------------------------------------------------------------------------
# Colour

_M = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
_OFFSET = np.array([16.0, 128.0, 128.0])


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB on [0, 1] -> (H, W, 3) BT.601 Y, Cb, Cr on [0, 1] (MATLAB rgb2ycbcr / 255)."""
    return (rgb @ _M.T + _OFFSET) / 255.0


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_ycbcr` (not clipped)."""
    return (ycc * 255.0 - _OFFSET) @ np.linalg.inv(_M).T
