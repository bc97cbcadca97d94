"""WNNM and NNM denoising on groups of similar patches (the WNNM framework).

- `nnm` — nuclear-norm minimisation: each centred group Y is replaced by U S_τ(Σ) Vᵀ, singular
  value soft-thresholding (Cai, Candès & Shen, SIAM J. Optim. 2010), the proximal operator of
  τ||X||_*. τ = λ σ (√n + √k), a multiple of the largest singular value of an n × k Gaussian noise
  matrix. Run inside the same iterative-regularisation loop as WNNM (Gu et al. compare exactly
  this NNM baseline).
- `wnnm` — weighted nuclear-norm minimisation, Gu, Zhang, Zuo & Feng, CVPR 2014 (and IJCV 2017):
  weights w_i = c √k / (σ_i(X) + ε) with the closed-form fixed point of the weighted shrinkage,
  σ_i(X) = (σ_i(Y) + sqrt(σ_i(Y)² − 4C)) / 2 when σ_i(Y)² > 4C else 0, C = 2 c √k σ_g², where
  σ_g is the group's noise level; iterative regularisation y⁽ᵗ⁾ = x̂⁽ᵗ⁻¹⁾ + δ (y − x̂⁽ᵗ⁻¹⁾); per-
  patch noise re-estimation σ_g = γ sqrt(|σ² − mean((y − y⁽ᵗ⁾)²)|); re-matching every second
  iteration with 10 fewer patches each time. Parameters (patch size, k, iterations, γ) follow the
  authors' released code for each noise range, with its search window (±30) and step.

Groups, block matching and the shrinkage formulas are in `patch_groups.py`. Speed: block matching,
the group gathers / aggregation (`group_kernels`) and the singular-value shrinkage
(`spectral_kernels`: only the eigenpairs above the threshold) are compiled numba kernels; the
previous numpy code is kept as the tests' reference (tests/reference_methods/slow_low_rank.py).

Array convention: float64, (H, W) gray or (H, W, 3) RGB on [0, 1] at the edge; `group_denoise`
works on one channel on the 0–255 scale (the scale the constants are given in). Colour images are
processed channel by channel (the published WNNM is a grayscale method).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reference_methods.group_kernels import gather_groups, patch_mean_sq, scatter_groups
from reference_methods.patch_groups import block_match, wnnm_grid
from reference_methods.patches import check_count, check_positive, per_channel
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.spectral_kernels import SOFT, WEIGHTED, shrink_groups


@dataclass(frozen=True)
class GroupSchedule:
    """Parameters of the WNNM framework for one noise level (Gu et al.'s released code, ParSet)."""

    patch: int
    patches: int
    iterations: int
    noise_gain: float  # γ ("lamada") of the per-patch noise re-estimation
    step: int
    window: int = 30
    delta: float = 0.1
    c: float = np.sqrt(2.0)
    rematch_every: int = 2


def wnnm_schedule(sigma255: float) -> GroupSchedule:
    """The authors' settings by noise range (σ on 0–255)."""
    if sigma255 <= 20:
        patch, patches, iterations, gain = 6, 70, 8, 0.54
    elif sigma255 <= 40:
        patch, patches, iterations, gain = 7, 90, 12, 0.56
    elif sigma255 <= 60:
        patch, patches, iterations, gain = 8, 120, 14, 0.58
    else:
        patch, patches, iterations, gain = 9, 140, 14, 0.58
    return GroupSchedule(patch, patches, iterations, gain, step=max(1, patch // 2 - 1))


def group_denoise(
    noisy: np.ndarray,
    sigma255: float,
    schedule: GroupSchedule,
    *,
    weighted: bool,
    nnm_lambda: float = 1.0,
    chunk: int = 1024,
) -> np.ndarray:
    """WNNM (weighted=True) or NNM (weighted=False) denoising of a 2-D image on the 0–255 scale."""
    s = schedule
    h, w = noisy.shape
    p = s.patch
    if min(h, w) < p:
        raise MethodError(f"wnnm/nnm: the image {noisy.shape} is smaller than the {p}x{p} patch")
    wp = w - p + 1
    ref_ys, ref_xs = wnnm_grid(h, p, s.step), wnnm_grid(w, p, s.step)
    noisy = np.ascontiguousarray(noisy, dtype=np.float64)
    estimate = noisy.copy()
    groups = np.zeros((0, 0), dtype=np.int64)
    n = p * p
    for it in range(s.iterations):
        current = estimate + s.delta * (noisy - estimate)
        # Per-reference noise re-estimate from its own patch (in the ys × xs order of `groups`).
        local = s.noise_gain * np.sqrt(np.abs(sigma255**2 - patch_mean_sq(noisy, current, ref_ys, ref_xs, p)))
        if it % s.rematch_every == 0:
            k = max(s.patches - 10 * (it // s.rematch_every + 1), 10)
            groups = block_match(current, p, ref_ys, ref_xs, s.window, k)
            if it == 0:
                local = np.full(local.shape, float(sigma255))
        acc = np.zeros((1, h, w))
        cnt = np.zeros((h, w))
        for start in range(0, len(groups), chunk):
            g = groups[start : start + chunk]
            y = gather_groups(current, g, wp, p)  # (R, k, n)
            mean = y.mean(axis=1, keepdims=True)
            sig = local[start : start + chunk]
            kk = g.shape[1]
            if weighted:
                est = shrink_groups(y - mean, WEIGHTED, s.c * np.sqrt(kk) * 2.0 * sig * sig) + mean
            else:
                est = shrink_groups(y - mean, SOFT, nnm_lambda * sig * (np.sqrt(n) + np.sqrt(kk))) + mean
            scatter_groups(acc, cnt, est, g, wp, p)
        covered = cnt > 0
        estimate = np.where(covered, acc[0] / np.maximum(cnt, 1), current)
    return estimate


def _group_defaults(context: RestorationContext) -> dict[str, Any]:
    s = wnnm_schedule(float(context.sigma or 0.0))
    return {
        "patch": s.patch,
        "patches": s.patches,
        "iterations": s.iterations,
        "step": s.step,
        "window": s.window,
    }


def _schedule_from(method: str, context: RestorationContext, params: dict[str, Any]) -> GroupSchedule:
    base = wnnm_schedule(float(context.sigma or 0.0))
    patch = check_count(method, "patch", params["patch"], minimum=2)
    patches = check_count(method, "patches", params["patches"], minimum=2)
    iterations = check_count(method, "iterations", params["iterations"])
    step = check_count(method, "step", params["step"])
    window = check_count(method, "window", params["window"])
    if step > patch:
        raise MethodError(f"{method}: parameter 'step' ({step}) must not exceed the patch size ({patch})")
    return GroupSchedule(patch, patches, iterations, base.noise_gain, step=step, window=window)


@register_method(
    "wnnm",
    family="low-rank",
    tasks=("denoise",),
    citation=(
        "Gu, Zhang, Zuo & Feng, Weighted nuclear norm minimization with application to image denoising, "
        "CVPR 2014"
    ),
    defaults=_group_defaults,
)
def wnnm(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Weighted nuclear-norm minimisation on groups of similar patches, iterative regularisation."""
    params = get_method("wnnm").parameters(context)
    schedule = _schedule_from("wnnm", context, params)
    sigma = float(context.sigma)
    if sigma == 0:
        return degraded.copy()
    return per_channel(degraded, lambda ch: group_denoise(ch * 255.0, sigma, schedule, weighted=True) / 255.0)


def _nnm_defaults(context: RestorationContext) -> dict[str, Any]:
    # λ tuned on Train400 crops (validation), σ = 15/25/50: see reference_methods/training/tune_defaults.py.
    return {**_group_defaults(context), "lam": 0.3}


@register_method(
    "nnm",
    family="low-rank",
    tasks=("denoise",),
    citation=(
        "Cai, Candès & Shen, A singular value thresholding algorithm for matrix completion, "
        "SIAM J. Optim. 2010; "
        "Gu, Zhang, Zuo & Feng, CVPR 2014 (the NNM baseline in the WNNM framework)"
    ),
    defaults=_nnm_defaults,
)
def nnm(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Nuclear-norm minimisation (singular value soft-thresholding) on groups of similar patches."""
    params = get_method("nnm").parameters(context)
    schedule = _schedule_from("nnm", context, params)
    lam = check_positive("nnm", "lam", params["lam"])
    sigma = float(context.sigma)
    if sigma == 0:
        return degraded.copy()
    return per_channel(
        degraded,
        lambda ch: group_denoise(ch * 255.0, sigma, schedule, weighted=False, nnm_lambda=lam) / 255.0,
    )
