"""Fast non-blind deconvolution with the hyper-Laplacian prior Σ |∇u|^α, 0 < α < 1 (Krishnan & Fergus,
NIPS 2009): half-quadratic splitting, w-step by the closed-form cubic root (α = 1/2) or a lookup table
(any α), u-step by FFT; stops at the end of the paper's β continuation.

Array convention: float64, (H, W) or (H, W, C) channels last, [0, 1]; kernel (h, w) summing to 1.
"""

from __future__ import annotations

import numpy as np

from reference_methods.variational_operators import (
    _crop,
    _expand,
    _fft2,
    _grad_periodic,
    _ifft2,
    _pad_margin,
    difference_otfs,
    pad_symmetric,
    psf2otf,
)

# --------------------------------------------------------------------------------------------------
# Hyper-Laplacian prior: Krishnan & Fergus (2009)


def _shrink_half_analytic(v: np.ndarray, beta: float) -> np.ndarray:
    """argmin_w |w|^{1/2} + β/2 (w − v)², elementwise, in closed form.

    For v > 0 and w = t², stationarity gives the depressed cubic t³ − v t + 1/(2β) = 0. It has three
    real roots iff 4v³ > 27/(4β²); the largest (trigonometric form) is the candidate, kept if its
    energy is below that of w = 0 (the paper's rule). The problem is odd in v.
    """
    a = np.abs(v)
    q = 1.0 / (2.0 * beta)
    w = np.zeros_like(a)
    ok = 4.0 * a**3 > 27.0 * q * q
    if ok.any():
        av = a[ok]
        phi = np.arccos(np.clip(-(3.0 * q / (2.0 * av)) * np.sqrt(3.0 / av), -1.0, 1.0))
        t = 2.0 * np.sqrt(av / 3.0) * np.cos(phi / 3.0)
        cand = t * t
        better = np.sqrt(cand) + 0.5 * beta * (cand - av) ** 2 < 0.5 * beta * av * av
        w[ok] = np.where(better, cand, 0.0)
    return np.sign(v) * w


class HyperLaplacianShrinkage:
    """Lookup table for w*(v; β) = argmin_w |w|^α + β/2 (w − v)², any 0 < α < 1.

    Scaling w = s ω, v = s ν with s = β^(−1/(2−α)) turns every β into the β = 1 problem
    g(ν) = argmin_ω |ω|^α + ½(ω − ν)², so one table of g on a grid of ν serves the whole
    continuation (the paper tabulates per β; this is the same table, rescaled). g is computed
    by Newton's method on ω + α ω^(α−1) − ν = 0 from ω = ν (convex, monotone convergence to
    the larger root), then compared with ω = 0 by energy. Beyond the grid, Newton is run directly.
    """

    def __init__(self, alpha: float, nu_max: float = 64.0, step: float = 1e-3) -> None:
        self.alpha = float(alpha)
        self.nu_max = nu_max
        self.grid = np.arange(0.0, nu_max + step, step)
        self.table = self._solve_unit(self.grid)

    def _solve_unit(self, nu: np.ndarray) -> np.ndarray:
        a = self.alpha
        omega = nu.copy()
        pos = nu > 0
        for _ in range(60):
            o = omega[pos]
            h = o + a * o ** (a - 1.0) - nu[pos]
            dh = 1.0 + a * (a - 1.0) * o ** (a - 2.0)
            # Where no root exists h stays positive and ω heads below the minimiser of h; clamp
            # to a small positive value so the power stays defined, the energy test then picks 0.
            omega[pos] = np.maximum(o - h / np.maximum(dh, 1e-12), 1e-12)
        root = np.abs(omega[pos] + a * omega[pos] ** (a - 1.0) - nu[pos]) < 1e-6 * np.maximum(nu[pos], 1.0)
        energy = omega[pos] ** a + 0.5 * (omega[pos] - nu[pos]) ** 2
        keep = root & (energy < 0.5 * nu[pos] ** 2)
        out = np.zeros_like(nu)
        out[pos] = np.where(keep, omega[pos], 0.0)
        return out

    def __call__(self, v: np.ndarray, beta: float) -> np.ndarray:
        s = beta ** (-1.0 / (2.0 - self.alpha))
        nu = np.abs(v) / s
        w = np.interp(nu, self.grid, self.table)
        far = nu > self.nu_max
        if far.any():
            w[far] = self._solve_unit(nu[far])
        return np.sign(v) * w * s


def hyper_laplacian_deconvolve(
    f: np.ndarray,
    kernel: np.ndarray,
    lam: float,
    *,
    alpha: float = 2.0 / 3.0,
    beta0: float = 1.0,
    beta_rate: float = 2.0 * np.sqrt(2.0),
    beta_max: float = 256.0,
) -> np.ndarray:
    """min_u λ/2 ||k ∗ u − f||² + Σ |∇u|^α by half-quadratic splitting (Krishnan & Fergus 2009).

    For β = β0, β0·rate, … < β_max (the paper: 1, 2√2, …, 256): w-step elementwise on ∇u (closed
    form for α = 1/2, lookup table otherwise), then the u-step
    u = F⁻¹[(K̄ F(f) + (β/λ)(D̄x F(wx) + D̄y F(wy))) / (|K|² + (β/λ)(|Dx|² + |Dy|²))].
    """
    margin = _pad_margin(kernel)
    fp = pad_symmetric(f, margin)
    shape = fp.shape[:2]
    k_otf = _expand(psf2otf(kernel, shape), fp)
    oy, ox = (_expand(o, fp) for o in difference_otfs(shape))
    num_data = np.conj(k_otf) * _fft2(fp)
    k2 = np.abs(k_otf) ** 2
    d2 = np.abs(oy) ** 2 + np.abs(ox) ** 2
    shrink = None if alpha == 0.5 else HyperLaplacianShrinkage(alpha)
    u = fp.copy()
    beta = beta0
    while beta < beta_max:
        g = _grad_periodic(u)
        w = _shrink_half_analytic(g, beta) if shrink is None else shrink(g, beta)
        gamma = beta / lam
        num = num_data + gamma * (np.conj(oy) * _fft2(w[0]) + np.conj(ox) * _fft2(w[1]))
        u = _ifft2(num / (k2 + gamma * d2), shape)
        beta *= beta_rate
    return _crop(u, margin)
