"""Natural-scene-statistics features shared by NIQE and BRISQUE (Mittal, Moorthy, Bovik), as the authors'
MATLAB release code computes them: MSCN coefficients, (asymmetric) generalised Gaussian fits by the
moment-matching table search over α = 0.2 : 0.001 : 10, and the paired-product features of the four
neighbour orientations. float64 numpy throughout.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.special import gamma as gamma_fn

from evaluator.metrics.kernels import gaussian_window

# MATLAB's 0.2:0.001:10 (the colon operator; k·0.001 steps).
_ALPHAS = 0.2 + 0.001 * np.arange(9801)
# AGGD table: Γ(2/α)² / (Γ(1/α) Γ(3/α)); GGD table: its reciprocal (brisque's estimateggdparam).
_R_AGGD = gamma_fn(2 / _ALPHAS) ** 2 / (gamma_fn(1 / _ALPHAS) * gamma_fn(3 / _ALPHAS))
_R_GGD = 1 / _R_AGGD
# (row, column) circshift offsets of the four orientations, in each release's order.
NIQE_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
BRISQUE_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))


def gaussian_7x7() -> np.ndarray:
    """`fspecial('gaussian', 7, 7/6)` normalised to sum 1 (both releases' local window)."""
    g = gaussian_window(7, 7 / 6)
    w = np.outer(g, g)
    return w / w.sum()


def mscn(image: np.ndarray, padding: str) -> np.ndarray:
    """(I − μ) / (σ + 1) with μ, σ from the 7×7 Gaussian window. `padding`: "replicate" (NIQE's
    `imfilter(…, 'replicate')`, PIQE) or "zero" (BRISQUE's `filter2(…, 'same')`)."""
    mode = {"replicate": "nearest", "zero": "constant"}[padding]
    w = gaussian_7x7()
    mu = ndimage.correlate(image, w, mode=mode, cval=0.0)
    sigma = np.sqrt(np.abs(ndimage.correlate(image * image, w, mode=mode, cval=0.0) - mu * mu))
    return (image - mu) / (sigma + 1)


def aggd_fit(vec: np.ndarray) -> tuple[float, float, float]:
    """`estimateaggdparam`: (α, left σ, right σ) of an asymmetric generalised Gaussian."""
    left, right = vec[vec < 0], vec[vec > 0]
    left_std = math.sqrt(np.mean(left * left)) if left.size else math.nan
    right_std = math.sqrt(np.mean(right * right)) if right.size else math.nan
    g = left_std / right_std
    mean_sq = np.mean(vec * vec)
    rhat = np.mean(np.abs(vec)) ** 2 / mean_sq if mean_sq > 0 else math.nan
    rhat_norm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    # MATLAB's min over an all-NaN vector returns index 1: a degenerate block (flat, or one-signed) gets
    # α = 0.2, which still enters nanmean (its σ features are NaN).
    alpha = float(_ALPHAS[0 if math.isnan(rhat_norm) else np.argmin((_R_AGGD - rhat_norm) ** 2)])
    return alpha, left_std, right_std


def ggd_fit(vec: np.ndarray) -> tuple[float, float]:
    """`estimateggdparam`: (α, σ²) of a generalised Gaussian (BRISQUE's first two features)."""
    sigma_sq = float(np.mean(vec * vec))
    e = float(np.mean(np.abs(vec)))
    rho = sigma_sq / e**2 if e > 0 else math.nan
    return float(_ALPHAS[0 if math.isnan(rho) else np.argmin(np.abs(rho - _R_GGD))]), sigma_sq  # as aggd_fit


def pair_features(structdis: np.ndarray, shifts: tuple[tuple[int, int], ...], *, niqe: bool) -> list[float]:
    """For each orientation, the AGGD fit of structdis · circshift(structdis): α, the mean
    (βr − βl)·Γ(2/α)/Γ(1/α), then NIQE's βl, βr (`computefeature.m`) or BRISQUE's σl², σr²
    (`brisque_feature.m`), with β = σ·sqrt(Γ(1/α)/Γ(3/α)). A degenerate fit gives NaN σ features."""
    feats: list[float] = []
    flat = structdis.ravel()
    for shift in shifts:
        alpha, left, right = aggd_fit(flat * np.roll(structdis, shift, axis=(0, 1)).ravel())
        c = math.sqrt(gamma_fn(1 / alpha) / gamma_fn(3 / alpha))
        mean = (right - left) * c * (gamma_fn(2 / alpha) / gamma_fn(1 / alpha))
        feats += [alpha, mean, left * c, right * c] if niqe else [alpha, mean, left**2, right**2]
    return feats
