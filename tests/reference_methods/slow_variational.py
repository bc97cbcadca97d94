"""TV deconvolution (ADMM) and TV inpainting (primal–dual) written with the numpy operators, as
before the compiled kernels, kept as test-only references.

`reference_methods.tv_deblurring.tv_deconvolve` and `.tv_inpainting.tv_inpaint` now run their iterations in
compiled kernels (`reference_methods.tv_kernels`); tests check them bit for bit against these, and
bench/bench_speedups.py times the two back to back.
"""

from __future__ import annotations

import numpy as np

from reference_methods.tv_inpainting import normalized_convolution_fill
from reference_methods.variational_operators import (
    _crop,
    _div_periodic,
    _expand,
    _fft2,
    _grad_periodic,
    _ifft2,
    _pad_margin,
    _pointwise_norm,
    difference_otfs,
    div_neumann,
    grad_neumann,
    pad_symmetric,
    psf2otf,
)


def tv_deconvolve(
    f: np.ndarray,
    kernel: np.ndarray,
    weight: float,
    *,
    rho: float = 10.0,
    tol: float = 3e-4,
    max_iter: int = 300,
) -> tuple[np.ndarray, int]:
    """min_u TV(u) + 1/(2λ) ||k ∗ u − f||² by ADMM with d = ∇u (periodic); return (u, iterations).

    u-step: (KᵀK/λ + ρ ∇ᵀ∇) u = Kᵀf/λ + ρ ∇ᵀ(d − b), diagonal in Fourier space.
    d-step: vectorial shrinkage of ∇u + b by 1/ρ.  b ← b + ∇u − d.
    Stops (Boyd et al. 2011, §3.3) when the primal residual ||∇u − d|| and the dual residual
    ρ||∇ᵀ(d − d_prev)||, both divided by sqrt(N), fall below `tol` (intensity units per pixel).
    ρ is fixed (residual balancing, Boyd et al. §3.4.1, was tried and converged more slowly here).
    """
    margin = _pad_margin(kernel)
    fp = pad_symmetric(f, margin)
    shape = fp.shape[:2]
    k_otf = _expand(psf2otf(kernel, shape), fp)
    oy, ox = difference_otfs(shape)
    lap = _expand(np.abs(oy) ** 2 + np.abs(ox) ** 2, fp)
    rhs_data = np.conj(k_otf) * _fft2(fp) / weight
    k2 = np.abs(k_otf) ** 2 / weight
    u = fp.copy()
    d = _grad_periodic(u)
    b = np.zeros_like(d)
    n = np.sqrt(fp.size)
    for it in range(1, max_iter + 1):
        # ∇ᵀ = −div
        u = _ifft2((rhs_data + rho * _fft2(-_div_periodic(d - b))) / (k2 + rho * lap), shape)
        gu = _grad_periodic(u)
        v = gu + b
        norm = _pointwise_norm(v)
        d_old = d
        d = v * np.maximum(1.0 - 1.0 / (rho * np.maximum(norm, 1e-300)), 0.0)
        b = v - d
        primal = np.linalg.norm(gu - d) / n
        dual = rho * np.linalg.norm(_div_periodic(d - d_old)) / n
        if primal < tol and dual < tol:
            return _crop(u, margin), it
    return _crop(u, margin), max_iter


def tv_inpaint(f: np.ndarray, mask: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, int]:
    """Chambolle–Pock TV inpainting written with the numpy operators (the code the compiled kernel
    replaced), for the bit-for-bit comparison."""
    known = ~mask
    u = normalized_convolution_fill(f, mask)
    u_bar, y = u.copy(), np.zeros((2, *f.shape))
    tau = sigma = 1.0 / np.sqrt(8.0)
    check_from = u.copy()
    for it in range(1, max_iter + 1):
        y += sigma * grad_neumann(u_bar)
        y /= np.maximum(1.0, _pointwise_norm(y))
        u_old = u
        u = u + tau * div_neumann(y)
        u[known] = f[known]
        u_bar = 2.0 * u - u_old
        if it % 10 == 0:
            if np.sqrt(np.mean((u - check_from) ** 2)) / 10.0 < tol:
                return u, it
            check_from = u.copy()
    return u, max_iter
