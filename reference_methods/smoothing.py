"""Local smoothing filters: Gaussian smoothing, the bilateral filter and the domain transform
(family "filtering").

Registered methods (denoising):

- ``gaussian`` — isotropic Gaussian smoothing.
- ``bilateral`` — Tomasi & Manduchi (1998).
- ``domain_transform`` — Gastal & Oliveira (2011) edge-preserving filtering, recursive-filter variant.

Array convention, boundaries and tuned defaults: as `filter_common` says (float64 on [0, 1], (H, W)
or (H, W, 3), σ on 0-255; the tables below are σ-interpolated results of
`bench/tune_classic_methods.py` on validation data).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from reference_methods.filter_common import _as_hwc, _check, _like_input, _noise01, _parameters, tuned
from reference_methods.registry import RestorationContext, register_method

# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Gaussian smoothing

GAUSSIAN_STD = {0: 0.0, 5: 0.4, 15: 0.6, 25: 0.8, 50: 1.6}  # pixels


def gaussian_filter(image: np.ndarray, std: float) -> np.ndarray:
    """Isotropic Gaussian smoothing of each channel; std in pixels, kernel truncated at 4 std."""
    if std == 0:
        return image.copy()
    sig = (std, std) if image.ndim == 2 else (std, std, 0)
    return ndimage.gaussian_filter(image, sig, mode="reflect", truncate=4.0)


@register_method(
    "gaussian",
    family="filtering",
    tasks=("denoise",),
    citation="R. C. Gonzalez and R. E. Woods, Digital Image Processing, 4th ed., Pearson, 2018, "
    "sec. 3.5 (Gaussian smoothing filters)",
    defaults=lambda ctx: {"std": tuned(ctx.sigma, GAUSSIAN_STD)},
)
def gaussian(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Gaussian low-pass filtering with a noise-dependent standard deviation (pixels)."""
    p = _parameters("gaussian", context)
    _check(p["std"] >= 0, "gaussian", f"std must be >= 0 pixels, got {p['std']}")
    return gaussian_filter(degraded, float(p["std"]))


# ---------------------------------------------------------------------------------------------
# Bilateral filter

BILATERAL_SPATIAL = {5: 1.0, 15: 1.5, 25: 1.5, 50: 2.0}  # pixels
BILATERAL_RANGE = {5: 2.0, 15: 2.5, 25: 2.5, 50: 4.0}  # in units of σ


def bilateral_filter(
    image: np.ndarray, sigma_spatial: float, sigma_range: float, radius: int | None = None
) -> np.ndarray:
    """Bilateral filter (Tomasi & Manduchi 1998), brute force over a square window.

    out(x) = Σ_y w(x, y) I(y) / Σ_y w(x, y), w = exp(-|x-y|² / 2σs²) · exp(-‖I(x)-I(y)‖² / 2σr²),
    y over the (2·radius+1)² window (radius defaults to ceil(3σs)), ‖·‖ the Euclidean distance over
    channels, σs in pixels, σr in intensity units. Symmetric (edge-repeating) extension.
    Vectorised over the image, one pass per window offset.
    """
    r = int(math.ceil(3.0 * sigma_spatial)) if radius is None else int(radius)
    x = _as_hwc(image).astype(np.float64, copy=False)
    h, w, _ = x.shape
    xp = np.pad(x, ((r, r), (r, r), (0, 0)), mode="symmetric")
    num = np.zeros_like(x)
    den = np.zeros((h, w, 1))
    inv_s = 1.0 / (2.0 * sigma_spatial * sigma_spatial)
    inv_r = 1.0 / (2.0 * sigma_range * sigma_range)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            shifted = xp[r + dy : r + dy + h, r + dx : r + dx + w]
            d2 = np.sum((shifted - x) ** 2, axis=2, keepdims=True)
            wt = np.exp(-(dy * dy + dx * dx) * inv_s - d2 * inv_r)
            num += wt * shifted
            den += wt
    return _like_input(num / den, image)


@register_method(
    "bilateral",
    family="filtering",
    tasks=("denoise",),
    citation="C. Tomasi and R. Manduchi, Bilateral filtering for gray and color images, ICCV 1998",
    defaults=lambda ctx: {
        "sigma_spatial": tuned(ctx.sigma, BILATERAL_SPATIAL),
        "sigma_range": tuned(ctx.sigma, BILATERAL_RANGE) * _noise01(ctx.sigma),
        "radius": None,
    },
)
def bilateral(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Bilateral filtering: Gaussian in space times Gaussian in intensity."""
    p = _parameters("bilateral", context)
    _check(p["sigma_spatial"] > 0, "bilateral", f"sigma_spatial must be > 0 pixels, got {p['sigma_spatial']}")
    _check(p["sigma_range"] > 0, "bilateral", f"sigma_range must be > 0 (intensity), got {p['sigma_range']}")
    r = p["radius"]
    _check(
        r is None or (isinstance(r, int) and 0 <= r <= 50),
        "bilateral",
        f"radius must be an integer in [0, 50] or None, got {r!r}",
    )
    return bilateral_filter(degraded, p["sigma_spatial"], p["sigma_range"], r)


# ---------------------------------------------------------------------------------------------
# Domain transform (Gastal & Oliveira 2011), recursive-filter variant

DT_SIGMA_S = {5: 2.0, 15: 3.0, 25: 4.0, 50: 3.0}  # pixels
DT_SIGMA_R = {5: 4.0, 15: 4.0, 25: 4.0, 50: 12.0}  # in units of σ


def _recursive_pass(values: np.ndarray, feedback: np.ndarray) -> np.ndarray:
    """One left-to-right then right-to-left first-order recursive filter along axis 1.

    values: (H, W, C); feedback: (H, W-1, 1), a^d between column j and j+1.
    J[j] = (1 - f[j]) I[j] + f[j] J[j-1], then backwards J[j] = (1 - f[j]) J[j] + f[j] J[j+1]
    (Gastal & Oliveira 2011, eq. 21), vectorised over rows and channels.
    """
    out = values.copy()
    w = out.shape[1]
    for j in range(1, w):
        fb = feedback[:, j - 1]
        out[:, j] += fb * (out[:, j - 1] - out[:, j])
    for j in range(w - 2, -1, -1):
        fb = feedback[:, j]
        out[:, j] += fb * (out[:, j + 1] - out[:, j])
    return out


def domain_transform_filter(
    image: np.ndarray, sigma_s: float, sigma_r: float, iterations: int = 3, guide: np.ndarray | None = None
) -> np.ndarray:
    """Edge-preserving smoothing by the domain transform, recursive filtering (RF) variant.

    Gastal & Oliveira, "Domain transform for edge-aware image and video processing", SIGGRAPH 2011:
    the 1-D transform ct'(x) = 1 + (σs/σr) Σ_c |I'_c(x)| (eq. 11, discretised with the L1 norm of
    the neighbour differences of the guide), filtered by the recursive filter with feedback
    a^d, a = exp(-√2 / σ_Hi) (eq. 21); horizontal then vertical passes repeated `iterations` times
    with σ_Hi = σs·√3·2^(N-i)/√(4^N - 1) (eq. 14), so the N iterations together have std σs.
    σs in pixels, σr in intensity units; the guide (default: the image itself) sets the edges.
    """
    x = _as_hwc(image).astype(np.float64, copy=True)
    g = _as_hwc(image if guide is None else guide).astype(np.float64, copy=False)
    ratio = sigma_s / sigma_r
    dh = 1.0 + ratio * np.sum(np.abs(np.diff(g, axis=1)), axis=2, keepdims=True)  # (H, W-1, 1)
    dv = 1.0 + ratio * np.sum(np.abs(np.diff(g, axis=0)), axis=2, keepdims=True)  # (H-1, W, 1)
    dv_t = np.transpose(dv, (1, 0, 2))  # rows become columns, so the same pass filters vertically
    n = iterations
    for i in range(n):
        sigma_h = sigma_s * math.sqrt(3.0) * 2.0 ** (n - i - 1) / math.sqrt(4.0**n - 1.0)
        a = math.exp(-math.sqrt(2.0) / sigma_h)
        x = _recursive_pass(x, a**dh)
        x = np.transpose(_recursive_pass(np.transpose(x, (1, 0, 2)), a**dv_t), (1, 0, 2))
    return _like_input(np.ascontiguousarray(x), image)


@register_method(
    "domain_transform",
    family="filtering",
    tasks=("denoise",),
    citation="E. S. L. Gastal and M. M. Oliveira, Domain transform for edge-aware image and video "
    "processing, ACM TOG 30(4):69 (SIGGRAPH), 2011",
    defaults=lambda ctx: {
        "sigma_s": tuned(ctx.sigma, DT_SIGMA_S),
        "sigma_r": tuned(ctx.sigma, DT_SIGMA_R) * _noise01(ctx.sigma),
        "iterations": 3,
    },
)
def domain_transform(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Domain-transform edge-preserving filter (recursive filtering, 3 iterations)."""
    p = _parameters("domain_transform", context)
    m = "domain_transform"
    _check(p["sigma_s"] > 0, m, f"sigma_s must be > 0 pixels, got {p['sigma_s']}")
    _check(p["sigma_r"] > 0, m, f"sigma_r must be > 0 (intensity units), got {p['sigma_r']}")
    _check(1 <= p["iterations"] <= 10, m, f"iterations must be in [1, 10], got {p['iterations']}")
    return domain_transform_filter(degraded, p["sigma_s"], p["sigma_r"], p["iterations"])
