"""Compiled CPU kernels (numba) for TV inpainting's primal–dual iterations (`tv_inpainting.tv_inpaint`)
and the spatial half of TV deconvolution's ADMM iterations (`tv_deblurring.tv_deconvolve`).

Why compiled: each Chambolle–Pock iteration written with numpy makes about twenty passes over the
image (gradient, squares, sums, norm, division, divergence, masked reset, extrapolation), each
allocating a temporary, and TV inpainting runs up to 2000 iterations. Here an iteration is one
dual row step (ascent and projection) and one primal row step (descent, data reset, extrapolation)
per row, and a block of iterations sweeps the image once, as a wavefront (see
`_tv_inpaint_iterations_gray`).

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


def _tv_dual_row_colour(u_bar, y, sigma, i):
    """Colour dual step of row i (u_bar (H, W, C), y (2, H, W, C)): y += σ ∇ū, then y /= max(1, |y|)
    with |y| summed over the directions and the channels (vectorial TV), channels in order."""
    hh, ww, n_ch = u_bar.shape
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
        scale = max(1.0, np.sqrt(sq))
        for c in range(n_ch):
            y[0, i, j, c] /= scale
            y[1, i, j, c] /= scale


def _tv_primal_row_colour(u, u_bar, y, f, known, tau, r):
    """Colour primal step of row r: u ← u + τ div y (known pixels reset to f), ū ← 2u − u_old."""
    hh, ww, n_ch = u.shape
    for j in range(ww):
        for c in range(n_ch):
            d = 0.0
            if r < hh - 1:
                d += y[0, r, j, c]
            if r > 0:
                d -= y[0, r - 1, j, c]
            if j < ww - 1:
                d += y[1, r, j, c]
            if j > 0:
                d -= y[1, r, j - 1, c]
            old = u[r, j, c]
            new = f[r, j, c] if known[r, j] else old + tau * d
            u[r, j, c] = new
            u_bar[r, j, c] = 2.0 * new - old


def _tv_inpaint_iterations_colour(u, u_bar, y, f, known, tau, sigma, count):
    """`count` iterations in place for (H, W, C) images (y (2, H, W, C), known (H, W)), as the
    wavefront of `_tv_inpaint_iterations_gray`."""
    hh = u.shape[0]
    for front in range(hh + 2 * count):
        for k in range(count):
            r = front - 2 * k
            if 0 <= r < hh:
                _tv_dual_row_colour_compiled(u_bar, y, sigma, r)
            if 0 <= r - 1 < hh:
                _tv_primal_row_colour_compiled(u, u_bar, y, f, known, tau, r - 1)


def _tv_dual_row(u_bar, y, sigma, i):
    """Gray dual step of row i: y += σ ∇ū, then y /= max(1, |y|)."""
    hh, ww = u_bar.shape
    for j in range(ww):
        g0 = u_bar[i + 1, j] - u_bar[i, j] if i < hh - 1 else 0.0
        g1 = u_bar[i, j + 1] - u_bar[i, j] if j < ww - 1 else 0.0
        a = y[0, i, j] + sigma * g0
        b = y[1, i, j] + sigma * g1
        scale = max(1.0, np.sqrt(a * a + b * b))
        y[0, i, j] = a / scale
        y[1, i, j] = b / scale


def _tv_primal_row(u, u_bar, y, f, known, tau, r):
    """Gray primal step of row r: u ← u + τ div y (known pixels reset to f), ū ← 2u − u_old."""
    hh, ww = u.shape
    for j in range(ww):
        d = 0.0
        if r < hh - 1:
            d += y[0, r, j]
        if r > 0:
            d -= y[0, r - 1, j]
        if j < ww - 1:
            d += y[1, r, j]
        if j > 0:
            d -= y[1, r, j - 1]
        old = u[r, j]
        new = f[r, j] if known[r, j] else old + tau * d
        u[r, j] = new
        u_bar[r, j] = 2.0 * new - old


def _tv_inpaint_iterations_gray(u, u_bar, y, f, known, tau, sigma, count):
    """`count` TV inpainting iterations in place, one channel (u, u_bar, f, known (H, W); y
    (2, H, W)): the numpy iterations' operations per pixel, in another order. Iteration k's dual
    step of row r needs ū rows r and r + 1 of iteration k − 1, and its primal step of row r the
    dual rows r and r − 1, so all `count` iterations advance together as a wavefront, iteration k
    two rows behind iteration k − 1. The rows in flight stay in cache and the image is read from
    memory once per `count` iterations instead of twice per iteration (it does not fit in cache
    at 512×512, and the iterations were memory-bound)."""
    hh = u.shape[0]
    for front in range(hh + 2 * count):
        for k in range(count):
            r = front - 2 * k
            if 0 <= r < hh:
                _tv_dual_row_compiled(u_bar, y, sigma, r)
            if 0 <= r - 1 < hh:
                _tv_primal_row_compiled(u, u_bar, y, f, known, tau, r - 1)


_tv_dual_row_compiled = _compile(_tv_dual_row)
_tv_primal_row_compiled = _compile(_tv_primal_row)
_tv_dual_row_colour_compiled = _compile(_tv_dual_row_colour)
_tv_primal_row_colour_compiled = _compile(_tv_primal_row_colour)
tv_inpaint_iterations_gray = _compile(_tv_inpaint_iterations_gray)
tv_inpaint_iterations_colour = _compile(_tv_inpaint_iterations_colour)

# TV deconvolution (ADMM with d = ∇u, periodic differences). Written with numpy, the spatial part of
# an iteration (gradient, shrinkage, multiplier update, two divergences, two norms) made about
# twenty-five passes over (2, H, W) arrays, each allocating, and cost three times the two FFTs.
# Here it is two passes, with the same per-pixel floating-point operations in the same order as
# `_grad_periodic`, `_div_periodic` and `_pointwise_norm`; only the two residual norms are summed
# in another order (they decide when to stop, at a tolerance far above rounding).


def _admm_shrink(u, d, b, e, rho):
    """d-step and multiplier update in place: v = ∇u + b, d = v · max(1 − 1/(ρ|v|), 0) with |v|
    summed over directions and channels (vectorial TV), b = v − d; e = d − d_previous.
    u (H, W, C); d, b, e (2, H, W, C). Returns Σ (∇u − d)² (the primal residual squared)."""
    hh, ww, n_ch = u.shape
    g = np.empty((2, n_ch))
    primal = 0.0
    for i in range(hh):
        ip = i + 1 if i < hh - 1 else 0
        for j in range(ww):
            jp = j + 1 if j < ww - 1 else 0
            sq = 0.0
            for c in range(n_ch):
                g[0, c] = u[ip, j, c] - u[i, j, c]
                g[1, c] = u[i, jp, c] - u[i, j, c]
                v0 = g[0, c] + b[0, i, j, c]
                v1 = g[1, c] + b[1, i, j, c]
                b[0, i, j, c] = v0  # b holds v until the shrinkage below
                b[1, i, j, c] = v1
                term = v0 * v0 + v1 * v1
                sq = term if c == 0 else sq + term
            factor = max(1.0 - 1.0 / (rho * max(np.sqrt(sq), 1e-300)), 0.0)
            for c in range(n_ch):
                for k in range(2):
                    v = b[k, i, j, c]
                    new = v * factor
                    e[k, i, j, c] = new - d[k, i, j, c]
                    d[k, i, j, c] = new
                    b[k, i, j, c] = v - new
                    r = g[k, c] - new
                    primal += r * r
    return primal


def _admm_divergences(d, b, e, w):
    """w = −div(d − b) (the next u-step's right-hand side, before its FFT) in place; returns
    Σ div(e)² (the dual residual², e = d − d_previous). d, b, e (2, H, W, C); w (H, W, C)."""
    _, hh, ww, n_ch = d.shape
    dual = 0.0
    for i in range(hh):
        im = i - 1 if i > 0 else hh - 1
        for j in range(ww):
            jm = j - 1 if j > 0 else ww - 1
            for c in range(n_ch):
                q0 = d[0, i, j, c] - b[0, i, j, c]
                q0m = d[0, im, j, c] - b[0, im, j, c]
                q1 = d[1, i, j, c] - b[1, i, j, c]
                q1m = d[1, i, jm, c] - b[1, i, jm, c]
                w[i, j, c] = -((q0 - q0m) + (q1 - q1m))
                r = (e[0, i, j, c] - e[0, im, j, c]) + (e[1, i, j, c] - e[1, i, jm, c])
                dual += r * r
    return dual


def _admm_shrink_gray(u, d, b, e, rho):
    """`_admm_shrink` for one channel: u (H, W); d, b, e (2, H, W). The same operations, written
    without the channel loop so that the compiler keeps everything in registers (2–3× faster)."""
    hh, ww = u.shape
    primal = 0.0
    for i in range(hh):
        ip = i + 1 if i < hh - 1 else 0
        for j in range(ww):
            jp = j + 1 if j < ww - 1 else 0
            g0 = u[ip, j] - u[i, j]
            g1 = u[i, jp] - u[i, j]
            v0 = g0 + b[0, i, j]
            v1 = g1 + b[1, i, j]
            factor = max(1.0 - 1.0 / (rho * max(np.sqrt(v0 * v0 + v1 * v1), 1e-300)), 0.0)
            new0 = v0 * factor
            new1 = v1 * factor
            e[0, i, j] = new0 - d[0, i, j]
            e[1, i, j] = new1 - d[1, i, j]
            d[0, i, j] = new0
            d[1, i, j] = new1
            b[0, i, j] = v0 - new0
            b[1, i, j] = v1 - new1
            r0 = g0 - new0
            r1 = g1 - new1
            primal += r0 * r0 + r1 * r1
    return primal


def _admm_divergences_gray(d, b, e, w):
    """`_admm_divergences` for one channel: d, b, e (2, H, W); w (H, W)."""
    _, hh, ww = d.shape
    dual = 0.0
    for i in range(hh):
        im = i - 1 if i > 0 else hh - 1
        for j in range(ww):
            jm = j - 1 if j > 0 else ww - 1
            q0 = d[0, i, j] - b[0, i, j]
            q0m = d[0, im, j] - b[0, im, j]
            q1 = d[1, i, j] - b[1, i, j]
            q1m = d[1, i, jm] - b[1, i, jm]
            w[i, j] = -((q0 - q0m) + (q1 - q1m))
            r = (e[0, i, j] - e[0, im, j]) + (e[1, i, j] - e[1, i, jm])
            dual += r * r
    return dual


admm_shrink_colour = _compile(_admm_shrink)
admm_divergences_colour = _compile(_admm_divergences)
admm_shrink_gray = _compile(_admm_shrink_gray)
admm_divergences_gray = _compile(_admm_divergences_gray)
