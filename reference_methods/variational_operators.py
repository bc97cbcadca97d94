"""Shared pieces of the model-based optimisation methods (`variational`, `blind_deblur`, `ncsr`, `gsr`):
parameter checks, discrete gradient and divergence (Neumann and periodic), the vectorial TV norm, and
the FFT machinery of the deconvolution solvers (symmetric padding, OTFs on the real-FFT grid).

Array convention: float64, (H, W) gray or (H, W, C) with channels last, intensities on [0, 1];
kernels (h, w) float64 summing to 1, centred at ((h − 1)/2, (w − 1)/2). Deconvolution boundary: the
FFT solvers work on the image padded by symmetric reflection (a margin of a few kernel widths) and
crop the result, so the periodic model's wrap-around falls in the margin and not on the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import fft as sfft

from reference_methods.registry import MethodError, RestorationContext

# --------------------------------------------------------------------------------------------------
# Parameter checks shared by the optimisation methods


def _check_positive(method: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise MethodError(f"{method}: parameter {name!r} must be a positive number, got {value!r}")
    return float(value)


def _check_count(method: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise MethodError(f"{method}: parameter {name!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


_QUANTISATION_VAR = 1.0 / (12.0 * 255.0**2)


def _noise_std(context: RestorationContext) -> float:
    """Noise standard deviation on the [0, 1] scale (0 when the track discloses none)."""
    return 0.0 if context.sigma is None else float(context.sigma) / 255.0


# --------------------------------------------------------------------------------------------------
# Discrete gradient and divergence.
#
# Neumann versions (forward differences, zero across the last row/column) for denoising and
# inpainting; periodic versions for the FFT-based deconvolution solvers. Arrays are (H, W) or
# (H, W, C); the gradient is stacked on a new leading axis: (2, H, W[, C]). div = −grad^T exactly.


def grad_neumann(u: np.ndarray) -> np.ndarray:
    g = np.zeros((2, *u.shape))
    g[0, :-1] = u[1:] - u[:-1]
    g[1, :, :-1] = u[:, 1:] - u[:, :-1]
    return g


def div_neumann(p: np.ndarray) -> np.ndarray:
    d = np.zeros(p.shape[1:])
    d[:-1] += p[0, :-1]
    d[1:] -= p[0, :-1]
    d[:, :-1] += p[1, :, :-1]
    d[:, 1:] -= p[1, :, :-1]
    return d


def _grad_periodic(u: np.ndarray) -> np.ndarray:
    return np.stack([np.roll(u, -1, axis=0) - u, np.roll(u, -1, axis=1) - u])


def _div_periodic(p: np.ndarray) -> np.ndarray:
    return (p[0] - np.roll(p[0], 1, axis=0)) + (p[1] - np.roll(p[1], 1, axis=1))


def _pointwise_norm(g: np.ndarray) -> np.ndarray:
    """|∇u| at each pixel, summed over the two directions and (vectorial TV) over channels.

    Returns an array broadcastable against g: (1, H, W) or (1, H, W, 1).
    """
    sq = (g * g).sum(axis=0, keepdims=True)
    if g.ndim == 4:
        sq = sq.sum(axis=-1, keepdims=True)
    return np.sqrt(sq)


def total_variation(u: np.ndarray) -> float:
    """Isotropic (vectorial) total variation Σ |∇u| with Neumann forward differences."""
    return float(_pointwise_norm(grad_neumann(u)).sum())


# --------------------------------------------------------------------------------------------------
# FFT machinery for the deconvolution solvers


def _pad_margin(kernel: np.ndarray) -> int:
    return int(2 * max(kernel.shape) + 8)


def pad_symmetric(image: np.ndarray, margin: int) -> np.ndarray:
    """Mirror-pad the two image axes by `margin` (the FFT solvers' periodic seam then lies in it)."""
    pad = [(margin, margin), (margin, margin)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, mode="symmetric")


def _crop(image: np.ndarray, margin: int) -> np.ndarray:
    return image[margin:-margin, margin:-margin]


def psf2otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer function on the real-FFT grid: rfft2 of `kernel` zero-padded to `shape`,
    its centre moved to (0, 0). Shape (H, W // 2 + 1)."""
    padded = np.zeros(shape)
    kh, kw = kernel.shape
    padded[:kh, :kw] = kernel
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return sfft.rfft2(padded)


def _fft2(x: np.ndarray) -> np.ndarray:
    return sfft.rfft2(x, axes=(0, 1))


def _ifft2(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return sfft.irfft2(x, s=shape, axes=(0, 1))


def _expand(otf: np.ndarray, like: np.ndarray) -> np.ndarray:
    return otf[:, :, None] if like.ndim == 3 else otf


def _rfft2_into(x: np.ndarray, out: np.ndarray) -> None:
    """rfft2 over axes (0, 1) into the preallocated `out`, without temporaries: numpy's FFTs take
    `out` (scipy's allocate a fresh multi-megabyte result, and its page faults cost as much as
    a transform). Rows first, then columns in place."""
    np.fft.rfft(x, axis=1, out=out)
    np.fft.fft(out, axis=0, out=out)


def _irfft2_into(spectrum: np.ndarray, out: np.ndarray) -> None:
    """Inverse of `_rfft2_into` into `out` (real, the full width); `spectrum` is overwritten."""
    np.fft.ifft(spectrum, axis=0, out=spectrum)
    np.fft.irfft(spectrum, n=out.shape[1], axis=1, out=out)


def difference_otfs(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OTFs of the periodic forward differences along rows and columns (matching _grad_periodic)."""
    dy = np.zeros(shape)
    dy[0, 0], dy[-1, 0] = -1.0, 1.0
    dx = np.zeros(shape)
    dx[0, 0], dx[0, -1] = -1.0, 1.0
    return sfft.rfft2(dy), sfft.rfft2(dx)
