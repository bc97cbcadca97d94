"""Groups of similar patches: the machinery the low-rank group methods share.

A group is the matrix whose rows are the k patches most similar (Euclidean distance) to a
reference patch within a search window ("block matching"). Natural-image groups are nearly low-rank,
noise is not; so shrinking the group's singular values denoises it (`wnnm.py`: WNNM, NNM), and
completing a low-rank group from its known entries fills missing pixels (`matrix_completion.py`).
Also used by LSSC, NCSR, GSR and TWSC.

- `block_match` — the k nearest patches of each reference within ±window (compiled distance
  kernel in `group_kernels`, numpy's introselect for the k nearest);
- `wnnm_grid` — the reference-patch grid of Gu et al.'s released code (dense along the border);
- `svt`, `weighted_svt`, `shrink_singular_values` — the singular-value shrinkages as plain numpy
  formulas: soft-thresholding (Cai, Candès & Shen, SIAM J. Optim. 2010) and WNNM's closed-form
  weighted shrinkage (Gu, Zhang, Zuo & Feng, CVPR 2014). The methods run the compiled
  `spectral_kernels.shrink_groups`; these are the definitions it is tested against.

Array convention: float64; images (H, W) or (H, W, C) on any scale (the methods pass 0–255);
groups (R, k, n), one matrix per reference patch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_methods.group_kernels import band_distances

# --------------------------------------------------------------------------------------------------
# Block matching


def block_match(
    image: np.ndarray, patch: int, ref_ys: np.ndarray, ref_xs: np.ndarray, window: int, k: int
) -> np.ndarray:
    """The k patches nearest each reference patch within ±window, as flat patch-position indices.

    image (H, W) or (H, W, C) (distances summed over channels); patch positions are the
    (H − p + 1) × (W − p + 1) top-left corners, flattened row-major. References are ref_ys × ref_xs
    (sorted); candidates are the positions within ±window
    of the reference in each direction that lie inside the image. Returns (R, k) indices sorted by
    distance (the reference itself, at distance 0, first). References are processed in bands of
    rows; the compiled kernel fills each band's distance table (float32, as the selection needs no
    more) and numpy's introselect picks the k nearest.
    """
    chans = np.ascontiguousarray(
        image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0), dtype=np.float64
    )
    h, w = image.shape[:2]
    hp, wp = h - patch + 1, w - patch + 1
    span = 2 * window + 1
    k = min(k, span * span)
    ref_ys = np.ascontiguousarray(ref_ys, dtype=np.int64)
    ref_xs = np.ascontiguousarray(ref_xs, dtype=np.int64)
    # Bands of reference rows sized so the band's distance table stays around 4M entries.
    per_band = max(1, 4_000_000 // (len(ref_xs) * span * span))
    out = []
    for b0 in range(0, len(ref_ys), per_band):
        ys = ref_ys[b0 : b0 + per_band]
        dist = band_distances(chans, patch, ys, ref_xs, window, hp, wp)
        flat = dist.reshape(len(ys) * len(ref_xs), span * span)
        nearest = np.argpartition(flat, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(flat, nearest, axis=1), axis=1, kind="stable")
        nearest = np.take_along_axis(nearest, order, axis=1)
        oy, ox = np.divmod(nearest, span)
        ry = np.repeat(ys, len(ref_xs))[:, None]
        rx = np.tile(ref_xs, len(ys))[:, None]
        out.append((ry + oy - window) * wp + (rx + ox - window))
    return np.concatenate(out)


def wnnm_grid(length: int, patch: int, step: int) -> np.ndarray:
    """Reference patch starts along one axis as in the authors' code: 0, step, 2 step, … and then
    every remaining position up to length − patch (so the border is densely covered)."""
    last = length - patch
    pos = np.arange(0, last + 1, step)
    return np.concatenate([pos, np.arange(pos[-1] + 1, last + 1)])


# --------------------------------------------------------------------------------------------------
# Singular-value shrinkage


def svt(singular: np.ndarray, tau: np.ndarray | float) -> np.ndarray:
    """Soft-thresholding of singular values: the prox of τ||·||_* (Cai, Candès & Shen 2010)."""
    return np.maximum(singular - np.asarray(tau, dtype=np.float64)[..., None], 0.0)


def weighted_svt(singular: np.ndarray, c_const: np.ndarray) -> np.ndarray:
    """WNNM's closed-form shrinkage (Gu et al. 2014, Remark 1 / released code `ClosedWNNM`).

    With weights w_i = C' / (σ_i(X) + ε), ε → 0, the fixed point of σ_x = σ_y − w(σ_x) is
    σ_x = (σ_y + sqrt(σ_y² − 4C)) / 2 when σ_y² > 4C, else 0. singular (…, r), c_const (…).
    """
    c = np.asarray(c_const)[..., None]
    disc = singular * singular - 4.0 * c
    return np.where(disc > 0, 0.5 * (singular + np.sqrt(np.maximum(disc, 0.0))), 0.0)


def shrink_singular_values(groups: np.ndarray, shrink: Any) -> np.ndarray:
    """Apply X = U f(Σ) Vᵀ to every matrix of `groups` (R, a, b); f = shrink((R, r) singular values).

    The general (any f) numpy form; the methods use the compiled `spectral_kernels.shrink_groups`
    for their two shrinkages (both are checked against the SVD formula in the tests).

    Computed from the eigen-decomposition of the smaller Gram matrix (YᵀY or YYᵀ, r = min(a, b)):
    for Y = U Σ Vᵀ, YᵀY = V Σ² Vᵀ and X = Y V diag(f(σ)/σ) Vᵀ. Several times cheaper than a batched
    SVD for these small matrices; directions whose σ is ~0 get f(σ)/σ = 0 (f(0) = 0 for every
    shrinkage used here).
    """
    tall = groups.shape[1] >= groups.shape[2]
    gram = np.swapaxes(groups, 1, 2) @ groups if tall else groups @ np.swapaxes(groups, 1, 2)
    evals, evecs = np.linalg.eigh(gram)
    singular = np.sqrt(np.maximum(evals, 0.0))
    shrunk = shrink(singular)
    ratio = np.where(
        singular > 1e-8 * np.maximum(singular.max(axis=1, keepdims=True), 1e-300),
        shrunk / np.maximum(singular, 1e-300),
        0.0,
    )
    proj = (evecs * ratio[:, None, :]) @ np.swapaxes(evecs, 1, 2)
    return groups @ proj if tall else proj @ groups
