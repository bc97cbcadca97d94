"""Model-based optimisation methods: total variation, hyper-Laplacian deconvolution, Richardson–Lucy.

This module registers the methods (defaults, parameter checks); the solvers live in `tv_denoising`,
`tv_deblurring`, `tv_inpainting`, `hyper_laplacian_deconv` and `richardson_lucy`, their shared
operators in `variational_operators`. (`normalized_convolution_fill` is re-exported here for the
low-rank family (`matrix_completion.py`, the low-rank tests), which import it from this module;
new code imports it from `tv_inpainting`.)

Every method here minimises (or iterates towards the minimiser of) an explicit energy and stops by
a stated rule, not a fixed guess:

- `tv` — total variation (isotropic, channels coupled as in vectorial TV):
  * denoise: ROF, min_u TV(u) + 1/(2 λ) ||u − f||², solved by the accelerated primal–dual algorithm
    (Chambolle & Pock 2011, Alg. 2); stops when the primal–dual gap certifies that the RMS distance
    to the exact minimiser is below `rmse_tol` (strong convexity: ||u − u*||² ≤ 2 λ · gap).
  * deblur: min_u TV(u) + 1/(2 λ) ||k ∗ u − f||², solved by ADMM with the split d = ∇u and an FFT
    u-step (Wang, Yang, Yin & Zhang 2008; Boyd et al. 2011 stopping rule on primal/dual residuals).
  * inpaint: min_u TV(u) subject to u = f on the known pixels (Chan & Shen 2001), solved by the
    primal–dual algorithm (Chambolle & Pock 2011, Alg. 1); stops on relative change of u.
- `hyper_laplacian` — fast non-blind deconvolution with the prior Σ |∇u|^α, 0 < α < 1 (Krishnan &
  Fergus, NIPS 2009): half-quadratic splitting, w-step by the closed-form cubic root (α = 1/2) or a
  lookup table (any α, default 2/3), u-step by FFT; stops at the end of the paper's β continuation.
- `richardson_lucy` — Richardson–Lucy deconvolution (Richardson 1972; Lucy 1974), stopped by
  Morozov's discrepancy principle (noise variance σ² plus the 8-bit quantisation variance 1/12 grey
  level², times a tuned factor).

Array convention (all functions): float64, (H, W) gray or (H, W, C) with channels last, intensities
on the [0, 1] scale. λ (`weight`) is in those intensity units. σ arrives on the 0–255 scale through
the context. Kernels are (h, w) float64 summing to 1, centred at ((h − 1)/2, (w − 1)/2).

Deconvolution boundary: the FFT solvers and Richardson–Lucy work on the image padded by symmetric
reflection (a margin of a few kernel widths) and crop the result, so the periodic model's wrap-around
falls in the margin and not on the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_methods.hyper_laplacian_deconv import hyper_laplacian_deconvolve
from reference_methods.patches import per_channel
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.richardson_lucy import richardson_lucy
from reference_methods.tv_deblurring import tv_deconvolve
from reference_methods.tv_denoising import rof_denoise
from reference_methods.tv_inpainting import normalized_convolution_fill as normalized_convolution_fill
from reference_methods.tv_inpainting import tv_inpaint
from reference_methods.variational_operators import (
    _QUANTISATION_VAR,
    _check_count,
    _check_positive,
    _crop,
    _noise_std,
    _pad_margin,
    pad_symmetric,
)

# --------------------------------------------------------------------------------------------------
# Registered methods

# Defaults tuned on validation data only, by reference_methods/training/tune_defaults.py: Train400
# images for gray denoising; the starter benchmark's val split (Gaussian 15×15 σ = 2 and motion 15×15
# kernels, noise σ = 1, 2.55, 7.65) for deblurring. Factors are interpolated linearly in σ (0–255)
# between the tuned noise levels and held constant outside them; see docs/reference_methods.md.

# ROF weight λ = factor · σ/255 (denoising).
_TV_DENOISE_FACTOR = {15.0: 0.7, 25.0: 0.8, 50.0: 0.9}
# TV deconvolution weight λ = factor · σ/255, σ floored at 0.5 (8-bit quantisation noise ≈ 0.29).
_TV_DEBLUR_FACTOR = {1.0: 0.1, 2.55: 0.2, 7.65: 0.2}
# Hyper-Laplacian data weight λ = c / (σ/255)², σ floored at 0.5.
_HL_C = {1.0: 0.1, 2.55: 0.2, 7.65: 0.3}
# Richardson–Lucy discrepancy factor: stop once mean residual² ≤ factor · (σ² + quantisation variance).
_RL_DISCREPANCY = {1.0: 0.5, 2.55: 1.0, 7.65: 1.0}
_SIGMA_FLOOR = 0.5


def tuned(sigma: float, table: dict[float, float]) -> float:
    """A tuned value at noise level `sigma` (0–255): linear between the tuned σ, clamped outside."""
    keys = sorted(table)
    return float(np.interp(sigma, keys, [table[k] for k in keys]))


def _tv_defaults(context: RestorationContext) -> dict[str, Any]:
    sigma = float(context.sigma or 0.0)
    if context.task == "denoise":
        weight = tuned(sigma, _TV_DENOISE_FACTOR) * sigma / 255.0
        return {"weight": max(weight, 1e-4), "rmse_tol": 1e-3, "max_iter": 500}
    if context.task == "deblur":
        s = max(sigma, _SIGMA_FLOOR)
        return {"weight": tuned(s, _TV_DEBLUR_FACTOR) * s / 255.0, "rho": 10.0, "tol": 3e-4, "max_iter": 300}
    return {"tol": 1e-5, "max_iter": 2000}


@register_method(
    "tv",
    family="optimisation",
    tasks=("denoise", "deblur", "inpaint"),
    citation=(
        "Rudin, Osher & Fatemi, Nonlinear total variation based noise removal algorithms, Physica D 1992; "
        "Chambolle & Pock, A first-order primal-dual algorithm for convex problems, JMIV 2011; "
        "Chan & Shen, Mathematical models for local nontexture inpaintings, SIAM J. Appl. Math. 2001"
    ),
    defaults=_tv_defaults,
    summary="Total variation: ROF denoising, TV-L2 deconvolution (ADMM), TV inpainting (primal-dual)",
)
def tv(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Total variation: ROF denoising, TV-L2 deconvolution (ADMM), TV inpainting (primal-dual)."""
    p = get_method("tv").parameters(context)
    if context.task == "denoise":
        weight = _check_positive("tv", "weight", p["weight"])
        tol = _check_positive("tv", "rmse_tol", p["rmse_tol"])
        max_iter = _check_count("tv", "max_iter", p["max_iter"])
        return rof_denoise(degraded, weight, rmse_tol=tol, max_iter=max_iter)[0]
    if context.task == "deblur":
        weight = _check_positive("tv", "weight", p["weight"])
        rho = _check_positive("tv", "rho", p["rho"])
        tol = _check_positive("tv", "tol", p["tol"])
        max_iter = _check_count("tv", "max_iter", p["max_iter"])
        kernel = np.asarray(context.kernel, dtype=np.float64)
        return tv_deconvolve(degraded, kernel, weight, rho=rho, tol=tol, max_iter=max_iter)[0]
    tol = _check_positive("tv", "tol", p["tol"])
    max_iter = _check_count("tv", "max_iter", p["max_iter"], minimum=10)
    return tv_inpaint(degraded, np.asarray(context.mask, dtype=bool), tol=tol, max_iter=max_iter)[0]


def _hl_defaults(context: RestorationContext) -> dict[str, Any]:
    # λ weighs the data term (the paper uses λ = 2000 at 1% noise, i.e. c = 0.2 at σ = 2.55); the
    # validation sweep prefers c growing slowly with σ.
    s = max(float(context.sigma or 0.0), _SIGMA_FLOOR)
    return {"lam": tuned(s, _HL_C) / (s / 255.0) ** 2, "alpha": 2.0 / 3.0}


@register_method(
    "hyper_laplacian",
    family="optimisation",
    tasks=("deblur",),
    citation="Krishnan & Fergus, Fast image deconvolution using hyper-Laplacian priors, NIPS 2009",
    defaults=_hl_defaults,
)
def hyper_laplacian(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Fast non-blind deconvolution with a hyper-Laplacian gradient prior (half-quadratic splitting)."""
    p = get_method("hyper_laplacian").parameters(context)
    lam = _check_positive("hyper_laplacian", "lam", p["lam"])
    alpha = _check_positive("hyper_laplacian", "alpha", p["alpha"])
    if not alpha < 1.0:
        raise MethodError(f"hyper_laplacian: parameter 'alpha' must lie in (0, 1), got {alpha!r}")
    kernel = np.asarray(context.kernel, dtype=np.float64)
    return hyper_laplacian_deconvolve(degraded, kernel, lam, alpha=alpha)


def _rl_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"max_iter": 200, "discrepancy": tuned(float(context.sigma or 0.0), _RL_DISCREPANCY)}


@register_method(
    "richardson_lucy",
    family="optimisation",
    tasks=("deblur",),
    citation=(
        "Richardson, Bayesian-based iterative method of image restoration, JOSA 1972; "
        "Lucy, An iterative technique for the rectification of observed distributions, AJ 1974"
    ),
    defaults=_rl_defaults,
)
def richardson_lucy_method(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Richardson–Lucy deconvolution, stopped by the discrepancy principle."""
    p = get_method("richardson_lucy").parameters(context)
    max_iter = _check_count("richardson_lucy", "max_iter", p["max_iter"])
    factor = _check_positive("richardson_lucy", "discrepancy", p["discrepancy"])
    kernel = np.asarray(context.kernel, dtype=np.float64)
    if (kernel < 0).any():
        raise MethodError("richardson_lucy: the blur kernel must be non-negative")
    # The 8-bit quantisation of the observation adds variance 1/12 grey level² even when σ = 0.
    noise_var = factor * (_noise_std(context) ** 2 + _QUANTISATION_VAR)
    margin = _pad_margin(kernel)

    def run(channel: np.ndarray) -> np.ndarray:
        # RL needs a positive image; the reflected margin replaces the zero boundary.
        f = np.clip(pad_symmetric(channel, margin), 1e-6, None)
        u, _ = richardson_lucy(f, kernel, max_iter, init=f, noise_var=noise_var, margin=margin)
        return _crop(u, margin)

    return per_channel(degraded, run)
