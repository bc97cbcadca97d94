"""NCSR: nonlocally centralized sparse representation (Dong, Zhang, Shi & Li, IEEE TIP 2013).

The model: each patch x_i = Φ α_i in a PCA sub-dictionary Φ chosen for the patch's cluster, and the
restored image minimises ||y − H x||² + Σ_i λ_i ||α_i − β_i||_1, where β_i = Σ_j w_ij α_ij is the
nonlocal (weighted) mean of the codes of the patches most similar to patch i: the sparse codes are
centralised on their nonlocal estimate, so the "sparse coding noise" α − β is what gets shrunk.
λ_i = c · 2√2 σ_n² / (δ_i + ε) per coefficient (MAP with a Laplacian prior), δ_i estimated from the
similar patches' codes around β_i. Solved by iterative shrinkage.

What this module follows, from the paper and the authors' released code (the parameters per noise
range are those of the released `Parameters_setting` / `NCSR_Deblurring_Par`):

- Dictionaries (`learn_dictionaries`): patches are clustered by K-means on their high-pass part
  (image minus a Gaussian low-pass), the clusters' PCA bases are the sub-dictionaries (covariance minus
  σ² I, as the code does); smooth patches (high-pass RMS below sqrt(σ² + 16)) share one PCA basis.
  Training patches come from the image and three bilinear down-scalings (0.8², 0.8⁴, 0.8⁶); clusters
  smaller than a minimum are merged away two iterations before the end (never below 40 clusters).
- Nonlocal codes: the `neighbours` most similar patches within ±30 px, weights exp(−d / h),
  d = SSD / p² (the reference's own distance replaced by its nearest neighbour's), β = Φ(Σ w x_j).
- denoise (H = I): K outer rounds (re-cluster, re-match), each three shrinkage passes with iterative
  regularisation y⁽ᵗ⁾ = x + 0.02 (y − x) and the noise re-estimate σ_t = γ sqrt|σ² − mean((y⁽ᵗ⁾ − y)²)|.
- deblur: each iteration three preconditioned Landweber steps x ← x + Hᵀ(y − Hx) / (|H|² + ε₂) (FFT),
  clipped to [0, 255], then the centralised shrinkage of Φ(x − m) with m the nonlocal mean of the
  patches (updated every second iteration). Four rounds with a fixed threshold t₁, then two with the
  adaptive λ estimated once per round, `iterations` iterations per round.

Differences from the released code, for speed on a shared CPU (each a parameter where it matters):
reference patches on a grid of step 2 for denoising (the code uses every position; step 1 is
`step=1`); K-means trained on at most `train_patches` randomly chosen patches (seeded) with the minimum
cluster size scaled by the same fraction; the Gaussian low-pass reflects at the border (the code pads
with zeros). The deblurring model is circular in the code; here the image is padded by symmetric
reflection and cropped (the tracks blur with symmetric boundaries). Colour images are restored channel
by channel (the code restores the luma and keeps the degraded chroma). Super-resolution is not served.

Array convention: float64 (H, W) or (H, W, 3) on [0, 1] at the edge; internally one channel on the
0–255 scale (the scale of the paper's constants). Patches are rows (N, p²), row-major in the patch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from reference_methods.patch_groups import wnnm_grid
from reference_methods.patch_match import aggregate, all_patches, match_patches
from reference_methods.patches import per_channel
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.variational_operators import _check_count, _check_positive, psf2otf

_EPS = np.finfo(np.float64).eps
_MIN_CLUSTERS = 40  # the released code never merges below 40 clusters
_KMEANS_ITERATIONS = 14


@dataclass(frozen=True)
class NcsrSettings:
    """One noise range's parameters (names follow the paper; the code's in brackets)."""

    patch: int  # [win]
    neighbours: int  # similar patches per reference [nblk]
    c1: float  # threshold constant c of λ = c 2√2 σ² / δ
    gain: float  # γ of the noise re-estimate [lamada]
    lowpass_sigma: float  # Gaussian low-pass for the clustering features [sigma]
    h: float  # weight bandwidth floor: h = max(12 σ, h) [hp]
    rounds: int  # outer rounds K
    min_cluster: int  # [m_num]
    step: int = 2
    window: int = 30
    clusters: int = 70
    train_patches: int = 20000


def denoise_settings(sigma255: float) -> NcsrSettings:
    """The released code's settings for σ (0–255) (`Parameters_setting.m`)."""
    if sigma255 <= 10:
        return NcsrSettings(6, 13, 0.56, 0.22, 1.7, 75.0, 3, 240)
    if sigma255 <= 15:
        return NcsrSettings(6, 13, 0.59, 0.22, 1.8, 75.0, 3, 240)
    if sigma255 <= 30:
        return NcsrSettings(7, 16, 0.64, 0.23, 2.0, 80.0, 3, 250)
    if sigma255 <= 50:
        return NcsrSettings(9, 18, 0.64, 0.26, 2.4, 90.0, 4, 300)
    return NcsrSettings(8, 20, 0.64, 0.26, 2.4, 95.0, 4, 300)


# The deblurring settings of `NCSR_Deblurring.m` / `NCSR_Deblurring_Par.m` (m_num as in denoising's
# σ ≤ 15 row: the deblurring code does not set it).
DEBLUR_SETTINGS = NcsrSettings(6, 13, 0.0, 0.0, 1.6, 80.0, 4, 240, step=2, clusters=64)


# --------------------------------------------------------------------------------------------------
# PCA sub-dictionaries


@dataclass(frozen=True)
class Dictionaries:
    """bases[0]: the smooth patches' PCA basis; bases[1 + c]: cluster c's (rows are atoms, orthonormal).
    centroids (C, p²): the clusters' high-pass centroids; smooth: the high-pass RMS below which a patch
    is smooth."""

    bases: np.ndarray
    centroids: np.ndarray
    smooth: float


def _highpass(image: np.ndarray, s: NcsrSettings) -> np.ndarray:
    size = s.patch + 2
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * s.lowpass_sigma**2))
    return image - ndimage.convolve(image, g / g.sum(), mode="reflect")


def _pca_basis(patches: np.ndarray, nsig: float) -> np.ndarray:
    """`getpca`: eigenvectors (as rows, largest eigenvalue first) of the covariance minus σ² I, whose
    negative entries are set to 1e-4 as the released code does."""
    n = patches.shape[1]
    if patches.shape[0] < 2:
        return sfft.dct(np.eye(n), norm="ortho", axis=0)
    centred = patches - patches.mean(axis=0)
    cov = centred.T @ centred / (patches.shape[0] - 1) - nsig**2 * np.eye(n)
    cov[cov < 0] = 1e-4
    values, vectors = np.linalg.eigh(cov)
    return vectors[:, ::-1].T.copy()


def _training_patches(image: np.ndarray, s: NcsrSettings, rng: np.random.Generator) -> tuple:
    """(high-pass, raw) patch rows from the image and its 0.8², 0.8⁴, 0.8⁶ bilinear down-scalings."""
    highs, raws = [], []
    for scale in (1.0, 0.8**2, 0.8**4, 0.8**6):
        scaled = image if scale == 1.0 else ndimage.zoom(image, scale, order=1, mode="nearest")
        if min(scaled.shape) < s.patch:
            continue
        highs.append(all_patches(_highpass(scaled, s), s.patch))
        raws.append(all_patches(scaled, s.patch))
    high, raw = np.concatenate(highs), np.concatenate(raws)
    if len(high) > s.train_patches:
        keep = np.sort(rng.choice(len(high), s.train_patches, replace=False))
        return high[keep], raw[keep], s.train_patches / len(high)
    return high, raw, 1.0


def _kmeans(features: np.ndarray, clusters: int, min_size: float, rng: np.random.Generator) -> tuple:
    """The released code's K-means: random initial centres, 14 iterations, and two iterations before
    the end the smallest clusters dropped while smaller than `min_size` (keeping at least 40)."""
    centres = features[rng.permutation(len(features))[:clusters]].copy()
    sq = (features * features).sum(axis=1)
    labels = np.zeros(len(features), dtype=np.int64)
    for it in range(_KMEANS_ITERATIONS):
        dist = sq[:, None] - 2.0 * features @ centres.T + (centres * centres).sum(axis=1)[None, :]
        labels = np.argmin(dist, axis=1)
        counts = np.bincount(labels, minlength=len(centres))
        sums = np.stack([np.bincount(labels, weights=f, minlength=len(centres)) for f in features.T], axis=1)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
        if it == _KMEANS_ITERATIONS - 3:
            while len(centres) >= _MIN_CLUSTERS and counts.min() < min_size:
                drop = int(np.argmin(counts))
                centres = np.delete(centres, drop, axis=0)
                counts = np.delete(counts, drop)
    return centres, labels


def learn_dictionaries(image: np.ndarray, s: NcsrSettings, nsig: float, seed: int) -> Dictionaries:
    """K-means on high-pass patches and one PCA basis per cluster (`KMeans_PCA.m`), image on 0–255."""
    rng = np.random.Generator(np.random.PCG64(seed))
    high, raw, fraction = _training_patches(image, s, rng)
    smooth = float(np.sqrt(nsig**2 + 16.0))
    is_smooth = np.sqrt((high * high).mean(axis=1)) < smooth
    n = s.patch * s.patch
    if is_smooth.sum() >= s.min_cluster * fraction:
        base0 = _pca_basis(raw[is_smooth], nsig)
    else:
        base0 = sfft.dct(np.eye(n), norm="ortho", axis=0)
    high, raw = high[~is_smooth], raw[~is_smooth]
    if len(high) == 0:
        return Dictionaries(base0[None], np.zeros((0, n)), smooth)
    # Small images hold too few patches for the code's cluster count: keep clusters of the minimum size.
    clusters = max(1, min(s.clusters, int(len(high) // max(s.min_cluster * fraction, 1.0))))
    centres, labels = _kmeans(high, clusters, s.min_cluster * fraction, rng)
    bases = [base0] + [_pca_basis(raw[labels == c], nsig) for c in range(len(centres))]
    return Dictionaries(np.stack(bases), centres, smooth)


def classify(image: np.ndarray, s: NcsrSettings, dicts: Dictionaries, ref_pos: np.ndarray) -> np.ndarray:
    """The basis index of each reference patch: 0 if smooth, else 1 + its nearest centroid."""
    high = all_patches(_highpass(image, s), s.patch)[ref_pos]
    labels = np.zeros(len(ref_pos), dtype=np.int64)
    rough = np.sqrt((high * high).mean(axis=1)) >= dicts.smooth
    if len(dicts.centroids) and rough.any():
        c = dicts.centroids
        dist = (c * c).sum(axis=1)[None, :] - 2.0 * high[rough] @ c.T
        labels[rough] = 1 + np.argmin(dist, axis=1)
    return labels


# --------------------------------------------------------------------------------------------------
# Nonlocal estimates and the centralised shrinkage


@dataclass(frozen=True)
class Groups:
    """Reference patches on the grid, their similar patches and weights, their basis indices."""

    ref_pos: np.ndarray  # (R,) flat patch positions
    pos: np.ndarray  # (R, k) the similar patches (the reference first)
    weights: np.ndarray  # (R, k), rows summing to 1
    labels: np.ndarray  # (R,) basis index


def make_groups(image: np.ndarray, s: NcsrSettings, nsig: float, dicts: Dictionaries) -> Groups:
    """Block matching (`Block_matching.m`) and classification of the grid's reference patches."""
    h, w = image.shape
    ys, xs = wnnm_grid(h, s.patch, s.step), wnnm_grid(w, s.patch, s.step)
    wp = w - s.patch + 1
    ref_pos = (ys[:, None] * wp + xs[None, :]).ravel()
    pos, ssd = match_patches(image, s.patch, ys, xs, s.window, s.neighbours)
    dis = ssd / (s.patch * s.patch)
    if dis.shape[1] > 1:
        dis[:, 0] = dis[:, 1]
    weights = np.exp(-dis / max(12.0 * nsig, s.h))
    weights /= weights.sum(axis=1, keepdims=True) + _EPS
    return Groups(ref_pos, pos, weights, classify(image, s, dicts, ref_pos))


def _by_class(groups: Groups, chunk: int = 4096):
    """(basis index, reference indices) in chunks, so a large class never makes a huge temporary."""
    order = np.argsort(groups.labels, kind="stable")
    bounds = np.flatnonzero(np.diff(groups.labels[order])) + 1
    for part in np.split(order, bounds):
        for start in range(0, len(part), chunk):
            idx = part[start : start + chunk]
            yield int(groups.labels[idx[0]]), idx


def shrink(
    image: np.ndarray,
    s: NcsrSettings,
    groups: Groups,
    dicts: Dictionaries,
    *,
    nsig: float,
    c1: float | None,
    fixed: float = 0.0,
    means: np.ndarray | None = None,
) -> np.ndarray:
    """One centralised shrinkage pass: for each reference patch x with nonlocal mean m (the weighted
    mean of its similar patches in `image`, or `means` (R, p²) when given), α − β = Φ(x − m) is
    soft-thresholded by λ = c1 √2 σ² / (δ + ε) (δ² = the similar patches' mean squared code deviation
    from β, minus σ², floored at 0) or, with c1 None, by the constant `fixed`; the patches Φᵀ(·) + m are
    averaged back into the image."""
    patches = all_patches(image, s.patch)
    out = np.empty((len(groups.ref_pos), s.patch * s.patch))
    for label, idx in _by_class(groups):
        basis = dicts.bases[label]
        similar = patches[groups.pos[idx]]  # (L, k, n)
        m = np.einsum("lk,lkn->ln", groups.weights[idx], similar) if means is None else means[idx]
        codes = (patches[groups.ref_pos[idx]] - m) @ basis.T
        if c1 is None:
            tau: Any = fixed
        else:
            spread = ((similar - m[:, None, :]) @ basis.T) ** 2
            delta = np.sqrt(np.maximum(spread.mean(axis=1) - nsig**2, 0.0))
            tau = c1 * np.sqrt(2.0) * nsig**2 / (delta + _EPS)
        out[idx] = (np.sign(codes) * np.maximum(np.abs(codes) - tau, 0.0)) @ basis + m
    acc, cnt = aggregate(out, groups.ref_pos, s.patch, image.shape)
    return acc / np.maximum(cnt, _EPS)


def nonlocal_means(image: np.ndarray, s: NcsrSettings, groups: Groups) -> np.ndarray:
    """The weighted mean of each reference's similar patches in `image` (`Update_NLM.m`), (R, p²)."""
    patches = all_patches(image, s.patch)
    return np.einsum("rk,rkn->rn", groups.weights, patches[groups.pos])


# --------------------------------------------------------------------------------------------------
# Denoising and deblurring of one channel on the 0–255 scale


def ncsr_denoise(noisy: np.ndarray, sigma255: float, s: NcsrSettings, *, seed: int = 0) -> np.ndarray:
    """`NCSR_Denoising.m`: K rounds of (re-cluster, re-match, 3 iterative-regularisation passes)."""
    if min(noisy.shape) < s.patch:
        raise MethodError(f"ncsr: the image {noisy.shape} is smaller than the {s.patch}x{s.patch} patch")
    estimate = noisy.copy()
    nsig = float(sigma255)
    for k in range(s.rounds):
        dicts = learn_dictionaries(estimate, s, nsig, seed + k)
        groups = make_groups(estimate, s, nsig, dicts)
        for i in range(3):
            estimate = estimate + 0.02 * (noisy - estimate)
            level = np.sqrt(abs(sigma255**2 - float(np.mean((estimate - noisy) ** 2))))
            nsig = level if (i == 0 and k == 0) else level * s.gain
            estimate = shrink(estimate, s, groups, dicts, nsig=nsig, c1=s.c1)
    return estimate


def deblur_thresholds(sigma255: float, kernel: np.ndarray) -> tuple[float, float]:
    """(t₁, c₁) of `NCSR_Deblurring_Par.m`: uniform kernels and others (Gaussian) differ there."""
    s2 = max(sigma255, 0.5) ** 2  # a floor: the code's thresholds vanish with σ
    if np.allclose(kernel, kernel.flat[0]):  # uniform (box) blur
        return (0.21 * s2, 0.65 * s2) if sigma255 < 2 else (0.17 * s2, 0.5 * s2)
    return 0.13 * s2, 0.41 * s2


def ncsr_deblur(
    blurred: np.ndarray,
    kernel: np.ndarray,
    sigma255: float,
    *,
    iterations: int = 120,
    eps2: float = 0.3,
    seed: int = 0,
    s: NcsrSettings = DEBLUR_SETTINGS,
) -> np.ndarray:
    """`NCSR_Deblurring.m` on a symmetrically padded image: 4 rounds with t₁, then 2 with adaptive λ."""
    margin = max(kernel.shape) + 4
    padded = np.pad(blurred, margin, mode="symmetric")
    shape = padded.shape
    otf = psf2otf(kernel, shape)
    data = np.conj(otf) * sfft.rfft2(padded)
    power = np.abs(otf) ** 2
    t1, c1 = deblur_thresholds(sigma255, kernel)
    nsig = max(sigma255, 0.5)
    estimate = padded
    for adaptive, rounds in ((False, 4), (True, 2)):
        for k in range(rounds):
            dicts = learn_dictionaries(estimate, s, nsig, seed + k + (10 if adaptive else 0))
            groups = make_groups(estimate, s, nsig, dicts)
            current = estimate
            means = nonlocal_means(current, s, groups)
            for it in range(1, iterations + 1):
                step = current
                for _ in range(3):
                    f = sfft.rfft2(step)
                    step = np.clip(sfft.irfft2(f + (data - power * f) / (power + eps2), s=shape), 0, 255)
                if it % 2 == 0:
                    means = nonlocal_means(step, s, groups)
                current = shrink(
                    step, s, groups, dicts, nsig=nsig, c1=c1 if adaptive else None, fixed=t1, means=means
                )
            estimate = current
    return estimate[margin:-margin, margin:-margin]


# --------------------------------------------------------------------------------------------------
# Registration


def _ncsr_defaults(context: RestorationContext) -> dict[str, Any]:
    if context.task == "deblur":
        return {"iterations": 120, "eps2": 0.3}
    s = denoise_settings(float(context.sigma or 0.0))
    return {"rounds": s.rounds, "step": s.step, "c1": s.c1, "train_patches": s.train_patches}


@register_method(
    "ncsr",
    family="sparse",
    tasks=("denoise", "deblur"),
    citation=(
        "Dong, Zhang, Shi & Li, Nonlocally centralized sparse representation for image restoration, "
        "IEEE TIP 2013"
    ),
    defaults=_ncsr_defaults,
    summary="Nonlocally centralized sparse representation: PCA sub-dictionaries, codes centred nonlocally",
)
def ncsr(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Nonlocally centralized sparse representation: PCA sub-dictionaries, codes centred nonlocally."""
    p = get_method("ncsr").parameters(context)
    sigma = float(context.sigma or 0.0)
    if context.task == "deblur":
        iterations = _check_count("ncsr", "iterations", p["iterations"])
        eps2 = _check_positive("ncsr", "eps2", p["eps2"])
        kernel = np.asarray(context.kernel, dtype=np.float64)
        seed = context.seed
        return per_channel(
            degraded,
            lambda ch: (
                ncsr_deblur(ch * 255.0, kernel, sigma, iterations=iterations, eps2=eps2, seed=seed) / 255.0
            ),
        )
    s = replace(
        denoise_settings(sigma),
        rounds=_check_count("ncsr", "rounds", p["rounds"]),
        step=_check_count("ncsr", "step", p["step"]),
        c1=_check_positive("ncsr", "c1", p["c1"]),
        train_patches=_check_count("ncsr", "train_patches", p["train_patches"], minimum=100),
    )
    if s.step > s.patch:
        raise MethodError(f"ncsr: parameter 'step' ({s.step}) must not exceed the patch size ({s.patch})")
    if sigma == 0:
        return degraded.copy()
    return per_channel(degraded, lambda ch: ncsr_denoise(ch * 255.0, sigma, s, seed=context.seed) / 255.0)
