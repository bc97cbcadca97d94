"""Deterministic direct 2-D convolution with an explicit boundary mode.

Images: float64 (H, W) or (H, W, C); kernels: float64 (h, w) with odd h and w, centred on
(h // 2, w // 2). The output has the input's shape ("same" convolution) and is a true convolution
(the kernel is flipped): y[i, j] = sum_{a, b} k[a, b] x[i - a + h//2, j - b + w//2].

Why not FFT or scipy.ndimage: an FFT's rounding depends on the FFT library and CPU, and compiled C
loops may be contracted into fused multiply-adds on some CPUs (e.g. aarch64). Here every output is
the sum over the kernel's non-zero taps in a fixed order (row-major), each tap one numpy multiply
and one numpy add, so the same inputs give the same bits on every machine.

Boundary modes (numpy.pad names), for the row  a b c d:
- "symmetric": ... b a | a b c d | d c ...  (edge repeated; MATLAB imfilter 'symmetric', the default)
- "reflect":   ... c b | a b c d | c b ...  (edge not repeated)
- "edge":      ... a a | a b c d | d d ...  (replicate; MATLAB imfilter 'replicate')
- "wrap":      ... c d | a b c d | a b ...  (circular; what FFT-based deconvolution assumes)
"""

from __future__ import annotations

import numpy as np

BOUNDARY_MODES = ("symmetric", "reflect", "edge", "wrap")


def _check(image: np.ndarray, kernel: np.ndarray, boundary: str) -> None:
    if boundary not in BOUNDARY_MODES:
        valid = ", ".join(BOUNDARY_MODES)
        raise ValueError(f"convolve: unknown boundary mode {boundary!r}; valid modes: {valid}")
    if image.ndim not in (2, 3):
        raise ValueError(f"convolve: expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(f"convolve: kernel must be 2-D with odd sizes, got shape {kernel.shape}")
    too_large = kernel.shape[0] // 2 >= image.shape[0] or kernel.shape[1] // 2 >= image.shape[1]
    if boundary == "reflect" and too_large:
        raise ValueError(f"convolve: kernel {kernel.shape} too big for 'reflect' on image {image.shape[:2]}")


def _pad(image: np.ndarray, pad_h: int, pad_w: int, boundary: str) -> np.ndarray:
    widths = [(pad_h, pad_h), (pad_w, pad_w)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, mode=boundary)


def convolve(image: np.ndarray, kernel: np.ndarray, boundary: str = "symmetric") -> np.ndarray:
    """Same-size true 2-D convolution of each channel with `kernel` (see the module docstring)."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    _check(image, kernel, boundary)
    kh, kw = kernel.shape
    height, width = image.shape[:2]
    padded = _pad(image, kh // 2, kw // 2, boundary)
    out = np.zeros_like(image)
    for a in range(kh):
        for b in range(kw):
            weight = kernel[a, b]
            if weight == 0.0:
                continue
            top, left = kh - 1 - a, kw - 1 - b
            out += weight * padded[top : top + height, left : left + width]
    return out


def convolve_separable(
    image: np.ndarray, column: np.ndarray, row: np.ndarray, boundary: str = "symmetric"
) -> np.ndarray:
    """Convolution with the rank-1 kernel outer(column, row): columns first, then rows.

    Equal to `convolve(image, np.outer(column, row))` up to rounding (about 1e-16), and much faster
    for large Gaussian kernels. Deterministic for the same reasons as `convolve`.
    """
    column = np.asarray(column, dtype=np.float64).reshape(-1, 1)
    row = np.asarray(row, dtype=np.float64).reshape(1, -1)
    return convolve(convolve(image, column, boundary), row, boundary)
