"""TV deblurring: min_u TV(u) + 1/(2 λ) ||k ∗ u − f||² by ADMM with the split d = ∇u and an FFT u-step
(Wang, Yang, Yin & Zhang 2008; Boyd et al. 2011 stopping rule on primal/dual residuals). The spatial
steps run in compiled kernels (`tv_kernels`).

Array convention: float64, (H, W) or (H, W, C) channels last, [0, 1]; kernel (h, w) summing to 1.
"""

from __future__ import annotations

import numpy as np

from reference_methods.tv_kernels import (
    admm_divergences_colour,
    admm_divergences_gray,
    admm_shrink_colour,
    admm_shrink_gray,
)
from reference_methods.variational_operators import (
    _expand,
    _fft2,
    _grad_periodic,
    _irfft2_into,
    _pad_margin,
    _rfft2_into,
    difference_otfs,
    pad_symmetric,
    psf2otf,
)

# --------------------------------------------------------------------------------------------------
# TV deconvolution by ADMM


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
    height, width = f.shape[:2]
    fp = pad_symmetric(f, margin)
    shape = fp.shape[:2]
    k_otf = _expand(psf2otf(kernel, shape), fp)
    oy, ox = difference_otfs(shape)
    lap = _expand(np.abs(oy) ** 2 + np.abs(ox) ** 2, fp)
    # The u-step F⁻¹[(ρ F(w) + Kᵀf/λ) / den] is applied as F(w) · (ρ / den) + (Kᵀf/λ) / den: both
    # factors formed once, the real one applied to the real and imaginary parts through a float view
    # (materialised at that view's full shape: a broadcast over a last axis of 2 is five times slower).
    den = np.abs(k_otf) ** 2 / weight + rho * lap
    data_term = np.conj(k_otf) * _fft2(fp) / weight / den
    # The spatial steps run in compiled kernels (`tv_kernels`), in place.
    u = fp.copy()
    d = _grad_periodic(u)
    b = np.zeros_like(d)
    e = np.zeros_like(d)  # d − d_previous
    w = np.empty_like(u)  # −div(d − b), the u-step's right-hand side before its FFT
    spectrum = np.empty(data_term.shape, dtype=np.complex128)
    spectrum_parts = spectrum.view(np.float64).reshape(*spectrum.shape, 2)
    gain = np.ascontiguousarray(np.broadcast_to((rho / den)[..., None], spectrum_parts.shape))
    gray = fp.ndim == 2
    shrink = admm_shrink_gray if gray else admm_shrink_colour
    divergences = admm_divergences_gray if gray else admm_divergences_colour
    divergences(d, b, e, w)
    n = np.sqrt(fp.size)
    for it in range(1, max_iter + 1):
        _rfft2_into(w, spectrum)
        spectrum_parts *= gain
        spectrum += data_term
        _irfft2_into(spectrum, u)
        primal = np.sqrt(shrink(u, d, b, e, rho)) / n
        dual = rho * np.sqrt(divergences(d, b, e, w)) / n
        if primal < tol and dual < tol:
            return u[margin : margin + height, margin : margin + width].copy(), it
    return u[margin : margin + height, margin : margin + width].copy(), max_iter
