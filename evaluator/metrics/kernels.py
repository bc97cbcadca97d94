"""Compiled CPU kernels (numba) for the exact full-reference metrics: the sum of Wang et al.'s `ssim_index`
map over one channel, and the squared-error sum behind PSNR.

Why compiled: on the CPU, SSIM written as torch operations makes ~15 passes over float64 maps of the whole
tile, and the scorer spent ~4× the PNG decode time in it. Here one pass per image row keeps the working set
(an 11-row ring of the four per-pixel products, one row of vertically filtered maps) in the L1/L2 caches and
fuses filtering, the SSIM formula and the sum; LLVM vectorises each row loop. Measured on one 2040×1356 RGB
pair (one thread, AMD EPYC): 0.03 CPU-s against 0.2 for the torch code (docs/benchmarks.md).

Exactness: everything is float64, as in `ssim_index.m`; integer pixels convert exactly (x² + y² and xy of
16-bit values stay below 2^53). The `fastmath` flags allow only reassociation, FMA contraction and
ignoring the sign of zero — the summation order changes (differences of order 1e-16 relative, far inside
the 1e-12 the tests pin against scikit-image), the precision does not. `error_model="numpy"` drops
Python's zero-division check (the SSIM denominator is at least C1·C2 > 0), without which LLVM does not
vectorise the division.

Inputs are 2-D planes of any real dtype (uint8, uint16, float64), contiguous or strided views (one
channel of an (H, W, 3) array); results do not depend on the layout.
"""

from __future__ import annotations

import numba
import numpy as np

_FASTMATH = {"reassoc", "contract", "nsz"}
WINDOW = 11  # ssim_index's 11×11 Gaussian window (σ = 1.5)


def _compile(fn, **options):
    """njit with an on-disk cache where one can be written (next to this file, or numba's user cache);
    without a writable location (read-only install, a sandbox user) compile in memory instead of failing."""
    flags = {"nogil": True, "fastmath": _FASTMATH, "error_model": "numpy", **options}
    try:
        return numba.njit(cache=True, **flags)(fn)
    except RuntimeError:
        return numba.njit(cache=False, **flags)(fn)


@numba.njit(nogil=True, fastmath=_FASTMATH, error_model="numpy", inline="always")
def _sym11(a, j, g0, g1, g2, g3, g4, g5):
    """'valid' correlation of row `a` with the symmetric 11-tap window at output column j."""
    return (
        g0 * (a[j] + a[j + 10])
        + g1 * (a[j + 1] + a[j + 9])
        + g2 * (a[j + 2] + a[j + 8])
        + g3 * (a[j + 3] + a[j + 7])
        + g4 * (a[j + 4] + a[j + 6])
        + g5 * a[j + 5]
    )


def _ssim_map_sum(x, y, g, c1, c2):
    h, w = x.shape
    out_w = w - 10
    g0, g1, g2, g3, g4, g5 = g[0], g[1], g[2], g[3], g[4], g[5]
    # ring[r % 11, k] holds input row r's x, y, x² + y², xy as float64 (σx² + σy² is all the formula
    # needs of E[x²] and E[y²], so four maps, not five).
    ring = np.empty((11, 4, w))
    vert = np.empty((4, w))
    total = 0.0
    for r in range(h):
        slot = r % 11
        for j in range(w):
            a = np.float64(x[r, j])
            b = np.float64(y[r, j])
            ring[slot, 0, j] = a
            ring[slot, 1, j] = b
            ring[slot, 2, j] = a * a + b * b
            ring[slot, 3, j] = a * b
        if r < 10:
            continue
        top = r - 10  # output row: input rows top .. r
        for k in range(4):
            r0, r1, r2 = ring[top % 11, k], ring[(top + 1) % 11, k], ring[(top + 2) % 11, k]
            r3, r4, r5 = ring[(top + 3) % 11, k], ring[(top + 4) % 11, k], ring[(top + 5) % 11, k]
            r6, r7, r8 = ring[(top + 6) % 11, k], ring[(top + 7) % 11, k], ring[(top + 8) % 11, k]
            r9, r10 = ring[(top + 9) % 11, k], ring[(top + 10) % 11, k]
            vk = vert[k]
            for j in range(w):
                vk[j] = (
                    g0 * (r0[j] + r10[j])
                    + g1 * (r1[j] + r9[j])
                    + g2 * (r2[j] + r8[j])
                    + g3 * (r3[j] + r7[j])
                    + g4 * (r4[j] + r6[j])
                    + g5 * r5[j]
                )
        vx, vy, vsq, vxy = vert[0], vert[1], vert[2], vert[3]
        row = 0.0
        for j in range(out_w):
            mu_x = _sym11(vx, j, g0, g1, g2, g3, g4, g5)
            mu_y = _sym11(vy, j, g0, g1, g2, g3, g4, g5)
            e_sq = _sym11(vsq, j, g0, g1, g2, g3, g4, g5)
            e_xy = _sym11(vxy, j, g0, g1, g2, g3, g4, g5)
            mu_xy = mu_x * mu_y
            mu_sq = mu_x * mu_x + mu_y * mu_y
            num = (2.0 * mu_xy + c1) * (2.0 * (e_xy - mu_xy) + c2)
            den = (mu_sq + c1) * ((e_sq - mu_sq) + c2)
            row += num / den
        total += row
    return total


def _squared_error_sum_int(x, y):
    # Exact: at most 65535² per value, so 2^33 values fit in int64.
    total = 0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            d = np.int64(x[i, j]) - np.int64(y[i, j])
            total += d * d
    return total


def _squared_error_sum_float(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            d = np.float64(x[i, j]) - np.float64(y[i, j])
            total += d * d
    return total


_ssim_map_sum_compiled = _compile(_ssim_map_sum)
_squared_error_sum_int_compiled = _compile(_squared_error_sum_int)
_squared_error_sum_float_compiled = _compile(_squared_error_sum_float)


def gaussian_window(size: int = WINDOW, sigma: float = 1.5) -> np.ndarray:
    """Normalised 1-D Gaussian (float64); its outer product is MATLAB's fspecial('gaussian', 11, 1.5)."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(offsets**2) / (2 * sigma**2))
    return g / g.sum()


_WINDOW_1D = gaussian_window()


def ssim_map_sum(x: np.ndarray, y: np.ndarray, c1: float, c2: float) -> float:
    """Sum of the `ssim_index` map (11×11 Gaussian σ = 1.5, 'valid') of two same-shape 2-D planes.

    `c1`, `c2` are the stabilising constants on the planes' own scale ((K·L)², L the data range in the
    planes' units, e.g. 255 for 8-bit values). Divide by (H − 10)·(W − 10) for the SSIM.
    """
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"expected two same-shape 2-D planes, got {x.shape} and {y.shape}")
    if min(x.shape) < WINDOW:
        raise ValueError(f"SSIM needs planes of at least {WINDOW}×{WINDOW}, got {x.shape[1]}×{x.shape[0]}")
    return float(_ssim_map_sum_compiled(x, y, _WINDOW_1D, float(c1), float(c2)))


def squared_error_sum(x: np.ndarray, y: np.ndarray) -> int | float:
    """Σ (x − y)² over two same-shape arrays: an exact Python int for integer input, else a float64 sum."""
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    # Rows of (H, W, C) views (also shaved ones) are contiguous: fold W and C into one row when numpy
    # can do it without a copy, so the loop runs over unit-stride rows.
    x2 = x.reshape(x.shape[0], -1) if x.ndim != 2 else x
    y2 = y.reshape(y.shape[0], -1) if y.ndim != 2 else y
    if x.dtype.kind in "ui" and y.dtype.kind in "ui":
        return int(_squared_error_sum_int_compiled(x2, y2))
    return float(_squared_error_sum_float_compiled(x2, y2))
