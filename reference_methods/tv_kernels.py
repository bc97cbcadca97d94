"""Compiled CPU kernel (numba) for TV inpainting's primal–dual iterations (`variational.tv_inpaint`).

Why compiled: each Chambolle–Pock iteration written with numpy makes about twenty passes over the
image (gradient, squares, sums, norm, division, divergence, masked reset, extrapolation), each
allocating a temporary, and TV inpainting runs up to 2000 iterations. Here an iteration is two
passes: the dual ascent with its projection, then the primal descent with the data reset and the
extrapolation.

Bit-identical to the numpy code: the same floating-point operations in the same order per pixel
(no fastmath, so no reassociation or fused multiply-adds), including the divergence's boundary
terms and the channel order of the vectorial norm.
"""

from __future__ import annotations

import numba
import numpy as np


def _compile(fn):
    """njit with an on-disk cache where one can be written; in memory otherwise (read-only install)."""
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, error_model="numpy")(fn)


def _tv_inpaint_iterations(u, u_bar, y, f, known, tau, sigma, count, vectorial):
    """`count` iterations in place. u, u_bar, f (H, W, C); y (2, H, W, C); known (H, W) bool.
    vectorial: the norm sums over channels (colour), else per channel value (C = 1, gray)."""
    hh, ww, n_ch = u.shape
    for _ in range(count):
        # Dual: y += σ ∇ū (forward differences, zero across the last row / column), y /= max(1, |y|).
        for i in range(hh):
            for j in range(ww):
                sq = 0.0
                for c in range(n_ch):
                    g0 = u_bar[i + 1, j, c] - u_bar[i, j, c] if i < hh - 1 else 0.0
                    g1 = u_bar[i, j + 1, c] - u_bar[i, j, c] if j < ww - 1 else 0.0
                    y[0, i, j, c] += sigma * g0
                    y[1, i, j, c] += sigma * g1
                    a = y[0, i, j, c]
                    b = y[1, i, j, c]
                    term = a * a + b * b
                    sq = term if c == 0 else sq + term
                    if not vectorial:
                        scale = max(1.0, np.sqrt(term))
                        y[0, i, j, c] /= scale
                        y[1, i, j, c] /= scale
                if vectorial:
                    scale = max(1.0, np.sqrt(sq))
                    for c in range(n_ch):
                        y[0, i, j, c] /= scale
                        y[1, i, j, c] /= scale
        # Primal: u ← u + τ div y, known pixels reset, ū ← 2u − u_old.
        for i in range(hh):
            for j in range(ww):
                for c in range(n_ch):
                    d = 0.0
                    if i < hh - 1:
                        d += y[0, i, j, c]
                    if i > 0:
                        d -= y[0, i - 1, j, c]
                    if j < ww - 1:
                        d += y[1, i, j, c]
                    if j > 0:
                        d -= y[1, i, j - 1, c]
                    old = u[i, j, c]
                    new = f[i, j, c] if known[i, j] else old + tau * d
                    u[i, j, c] = new
                    u_bar[i, j, c] = 2.0 * new - old


tv_inpaint_iterations = _compile(_tv_inpaint_iterations)
