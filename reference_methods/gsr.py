"""GSR: group-based sparse representation (Zhang, Zhao & Gao, IEEE TIP 2014).

A group is the matrix whose rows are the k patches most similar to a reference patch (block matching
within ±window). Each group gets its own adaptive dictionary from its SVD, G = Σ γ_i u_i v_iᵀ: the
atoms are the rank-one u_i v_iᵀ, the codes the singular values, and the ℓ0-regularised group coding
min ||G − D α||² + τ ||α||_0 is solved exactly by hard thresholding the singular values at √(2τ).
The restoration min ½||H u − y||² + λ ||α_G||_0 is solved by split Bregman iteration (SBI):

    w ← D_G ∘ hard(G(u − c), √(2τ))       (groups of u − c; overlapping estimates averaged)
    u ← argmin ½||H u − y||² + μ/2 ||u − w − c||²
    c ← c + (w − u)

with τ = λ K / (μ N) (K/N: group coefficients per pixel; the authors' code fixes K/N = 240 for 8 × 8
patches, 60 per group, reference step 4). The u-step is exact: for inpainting (H = the mask) known
pixels get (y + μ r)/(1 + μ) and missing ones r = w + c; for deblurring (HᵀH + μ) u = Hᵀy + μ r in
Fourier space, on the image padded by symmetric reflection (the code's model is circular; the tracks
blur with symmetric boundaries). Parameters follow the released code: 8 × 8 patches, 60 per group,
step 4, search window ±20; inpainting μ = 2.5e-3, λ = 0.082, 100 iterations at 50 % missing (the code
starts from an interpolation; here the normalized-convolution fill); deblurring μ = 0.0125,
λ = 0.4098 (the code's Gaussian-blur setting at σ_n = √2, scaled here by (σ_n/√2)² since τ ∝ σ²), 100
iterations.

Denoising is not in the paper (its experiments are inpainting, deblurring and compressive sensing).
Here the same group model runs in the iterative-regularisation loop of the group denoisers (as WNNM
and NCSR do): y⁽ᵗ⁾ = u + δ (y − u), every group of y⁽ᵗ⁾ hard-thresholded at κ σ_t (√p² + √k), the
largest singular value a p² × k matrix of pure noise of level σ_t has; σ_t = γ sqrt|σ² − mean((y⁽ᵗ⁾ −
y)²)|. κ and γ were chosen on validation images (Train400), see docs/reference_methods.md.

Speed: the groups are re-matched every `rematch` iterations (the code re-matches at every one);
the kept singular components come from the eigenpairs of each group's Gram matrix above the
threshold (`hard_threshold_groups`). Colour images share their groups: patches are matched on all
channels and each group holds the channels' patches side by side (k × 3p²), one SVD for all channels.

Array convention: float64 (H, W) or (H, W, 3) on [0, 1] at the edge; internally (H, W, C) on the 0–255
scale (the scale of the paper's constants).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import fft as sfft
from scipy.linalg import lapack

from reference_methods.patch_groups import wnnm_grid
from reference_methods.patch_match import aggregate, all_patches, match_patches
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.tv_inpainting import normalized_convolution_fill
from reference_methods.variational_operators import _check_count, _check_positive, psf2otf

COEFFICIENTS_PER_PIXEL = 240.0  # K/N in τ = λ K / (μ N), as the authors' code fixes it


def hard_threshold_groups(groups: np.ndarray, threshold: float) -> np.ndarray:
    """U hard(Σ, threshold) Vᵀ for every matrix of `groups` (R, a, b): the components whose singular
    value exceeds `threshold` kept, the others dropped.

    Exact, from the eigenpairs of the smaller Gram matrix (G = Y Yᵀ or YᵀY) above threshold², which
    LAPACK's MRRR solver (dsyevr) computes alone, without the full eigen-decomposition: groups keep
    few components, so this is ~3× faster than `np.linalg.eigh` on the whole batch.
    """
    tall = groups.shape[1] > groups.shape[2]
    gram = np.swapaxes(groups, 1, 2) @ groups if tall else groups @ np.swapaxes(groups, 1, 2)
    out = np.zeros_like(groups)
    floor = float(threshold) ** 2
    for i in range(len(groups)):
        values, vectors, found, _, info = lapack.dsyevr(gram[i], compute_v=1, range="V", vl=floor, vu=np.inf)
        if info != 0:
            raise MethodError(f"gsr: the eigen-solver failed on a group (LAPACK info {info})")
        if found:
            z = vectors[:, :found]
            out[i] = (groups[i] @ z) @ z.T if tall else z @ (z.T @ groups[i])
    return out


def _channels(image: np.ndarray) -> np.ndarray:
    return image[..., None] if image.ndim == 2 else image


def group_shrink(
    image: np.ndarray,
    threshold: float,
    *,
    patch: int = 8,
    patches: int = 60,
    step: int = 4,
    window: int = 20,
    groups: np.ndarray | None = None,
    chunk: int = 512,
) -> tuple[np.ndarray, np.ndarray]:
    """Hard-threshold the singular values of every group of `image` (H, W, C) at `threshold`; return
    (the average of the overlapping group estimates, the groups used (R, k) flat patch positions).

    `groups` reuses an earlier matching; otherwise references on the grid of `step` are matched on the
    sum of the channels' squared differences.
    """
    h, w, n_ch = image.shape
    if min(h, w) < patch:
        raise MethodError(f"gsr: the image {image.shape[:2]} is smaller than the {patch}x{patch} patch")
    if groups is None:
        ys, xs = wnnm_grid(h, patch, step), wnnm_grid(w, patch, step)
        groups = match_patches(image, patch, ys, xs, window, patches)[0]
    rows = np.concatenate([all_patches(image[..., c], patch) for c in range(n_ch)], axis=1)
    n = patch * patch
    acc = np.zeros((n_ch, h, w))
    cnt = np.zeros((h, w))

    for start in range(0, len(groups), chunk):
        g = groups[start : start + chunk]
        est = hard_threshold_groups(rows[g], threshold)  # (R, k, C·p²)
        for c in range(n_ch):
            part, count = aggregate(est[..., c * n : (c + 1) * n], g, patch, (h, w))
            acc[c] += part
        cnt += count
    out = np.moveaxis(acc / np.maximum(cnt, 1.0), 0, -1)
    return np.where(cnt[..., None] > 0, out, image), groups


def _bregman_threshold(lam: float, mu: float) -> float:
    return float(np.sqrt(2.0 * lam * COEFFICIENTS_PER_PIXEL / mu))


def gsr_inpaint(
    observed: np.ndarray,
    mask: np.ndarray,
    *,
    mu: float = 2.5e-3,
    lam: float = 0.082,
    iterations: int = 100,
    rematch: int = 5,
) -> np.ndarray:
    """SBI for inpainting: `observed` (H, W, C) on 0–255, `mask` True where missing."""
    known = ~mask[..., None]
    threshold = _bregman_threshold(lam, mu)
    first = normalized_convolution_fill(observed if observed.shape[2] > 1 else observed[..., 0], mask)
    u = first.reshape(observed.shape)
    c = np.zeros_like(u)
    groups = None
    for it in range(iterations):
        w, groups = group_shrink(u - c, threshold, groups=None if it % rematch == 0 else groups)
        r = w + c
        u = np.where(known, (observed + mu * r) / (1.0 + mu), r)
        c = c + (w - u)
    return u


def gsr_deblur(
    blurred: np.ndarray,
    kernel: np.ndarray,
    *,
    mu: float,
    lam: float,
    iterations: int = 100,
    rematch: int = 5,
) -> np.ndarray:
    """SBI for non-blind deblurring: `blurred` (H, W, C) on 0–255, symmetric padding, exact FFT u-step."""
    margin = max(kernel.shape) + 4
    pad = np.pad(blurred, ((margin, margin), (margin, margin), (0, 0)), mode="symmetric")
    shape = pad.shape[:2]
    otf = psf2otf(kernel, shape)[..., None]
    hty = np.conj(otf) * sfft.rfft2(pad, axes=(0, 1))
    denom = np.abs(otf) ** 2 + mu
    threshold = _bregman_threshold(lam, mu)
    u = pad.copy()
    c = np.zeros_like(u)
    groups = None
    for it in range(iterations):
        w, groups = group_shrink(u - c, threshold, groups=None if it % rematch == 0 else groups)
        r = w + c
        u = sfft.irfft2((hty + mu * sfft.rfft2(r, axes=(0, 1))) / denom, s=shape, axes=(0, 1))
        c = c + (w - u)
    return u[margin:-margin, margin:-margin]


def gsr_denoise(
    noisy: np.ndarray,
    sigma255: float,
    *,
    kappa: float,
    gain: float,
    iterations: int,
    patches: int = 60,
    delta: float = 0.1,
    rematch: int = 2,
) -> np.ndarray:
    """Group hard-thresholding in the iterative-regularisation loop (see the module docstring)."""
    n = 8 * 8 * noisy.shape[2]
    estimate = noisy.copy()
    groups = None
    for it in range(iterations):
        current = estimate + delta * (noisy - estimate)
        residual = float(np.mean((current - noisy) ** 2))
        level = sigma255 if it == 0 else gain * np.sqrt(abs(sigma255**2 - residual))
        if it % rematch == 0:
            groups = None
        k = patches if groups is None else groups.shape[1]
        threshold = kappa * level * (np.sqrt(n) + np.sqrt(k))
        estimate, groups = group_shrink(current, threshold, patches=patches, groups=groups)
    return estimate


# --------------------------------------------------------------------------------------------------
# Registration

# Denoising: κ and γ chosen on Train400 validation crops (docs/reference_methods.md); iterations per σ.
_DENOISE = {"kappa": 0.8, "gain": 0.7}


def _denoise_iterations(sigma255: float) -> int:
    return 6 if sigma255 <= 20 else 8 if sigma255 <= 40 else 10


def _gsr_defaults(context: RestorationContext) -> dict[str, Any]:
    sigma = float(context.sigma or 0.0)
    if context.task == "denoise":
        return {**_DENOISE, "iterations": _denoise_iterations(sigma)}
    if context.task == "inpaint":
        return {"mu": 2.5e-3, "lam": 0.082, "iterations": 100, "rematch": 5}
    scale = max(sigma, 0.5) ** 2 / 2.0  # the code's λ is for σ_n = √2; τ ∝ σ²
    return {"mu": 0.0125, "lam": 0.4098 * scale, "iterations": 100, "rematch": 5}


@register_method(
    "gsr",
    family="sparse",
    tasks=("denoise", "deblur", "inpaint"),
    citation=("Zhang, Zhao & Gao, Group-based sparse representation for image restoration, IEEE TIP 2014"),
    defaults=_gsr_defaults,
    summary="Group-based sparse representation: adaptive SVD dictionaries per patch group, split Bregman",
)
def gsr(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Group-based sparse representation: adaptive SVD dictionaries per patch group, split Bregman."""
    p = get_method("gsr").parameters(context)
    image = _channels(degraded) * 255.0
    iterations = _check_count("gsr", "iterations", p["iterations"])
    if context.task == "denoise":
        sigma = float(context.sigma)
        if sigma == 0:
            return degraded.copy()
        kappa = _check_positive("gsr", "kappa", p["kappa"])
        gain = _check_positive("gsr", "gain", p["gain"])
        out = gsr_denoise(image, sigma, kappa=kappa, gain=gain, iterations=iterations)
    else:
        mu = _check_positive("gsr", "mu", p["mu"])
        lam = _check_positive("gsr", "lam", p["lam"])
        rematch = _check_count("gsr", "rematch", p["rematch"])
        if context.task == "inpaint":
            mask = np.asarray(context.mask, dtype=bool)
            if mask.all():
                raise MethodError("gsr: the mask marks every pixel missing; nothing to fill from")
            out = gsr_inpaint(image, mask, mu=mu, lam=lam, iterations=iterations, rematch=rematch)
        else:
            kernel = np.asarray(context.kernel, dtype=np.float64)
            out = gsr_deblur(image, kernel, mu=mu, lam=lam, iterations=iterations, rematch=rematch)
    out = out / 255.0
    return out[..., 0] if degraded.ndim == 2 else out
