"""LSSC: learned simultaneous sparse coding, for denoising.

`lssc` — Mairal, Bach, Ponce, Sapiro & Zisserman, "Non-local sparse models for image restoration",
ICCV 2009. Similar patches should use the same few atoms of a learned dictionary D: for each
reference patch, the group S_i of patches within a search window whose distance to it is below a
threshold ξ is coded jointly,

    min ||A_i||_{0,∞}  s.t.  Σ_{j∈S_i} ||y_j − D α_ij||² ≤ |S_i| n (C σ)²,

where ||A||_{0,∞} counts the non-zero rows of the group's code matrix (one shared support). The
paper's greedy solver for this problem is simultaneous OMP (SOMP; Tropp, Gilbert & Strauss, Signal
Processing 2006): the atom added is the one whose correlations with the group's residuals have the
largest ℓ2 norm, then all members are refitted by least squares on the shared support (`somp`,
vectorised over groups with the Gram-matrix updates of Batch-OMP).

The dictionary is learned on the noisy image's own groups, starting from the overcomplete DCT:
alternate SOMP on a random subset of groups and the block-coordinate dictionary update of Mairal,
Bach, Ponce & Sapiro (online dictionary learning, JMLR 2010) with the accumulated statistics
A Aᵀ and Y Aᵀ (`update_dictionary`). Denoising runs in two passes, as in the paper: groups are first
matched on the noisy image, the resulting estimate is used to match groups again, and each pass
codes the noisy patches; every member's reconstruction is averaged into the image with a small
weight on the noisy image, x = (λ y + Σ R_jᵀ D α_j) / (λ + Σ R_jᵀ R_j), λ = lam_factor / σ.

Differences from the paper: 8×8 patches and 256 atoms (the paper: 9×9 or larger, 512 atoms, and a
dictionary first trained on an external image set); groups are the k nearest patches (at most k,
those within ξ) of references on a grid of stride `step`, and every member's estimate is averaged
(BM3D-style aggregation) rather than only each reference's; the dictionary is learned with the
same ℓ0 SOMP used for the final coding (the paper learns with the convex ℓ1,2 relaxation). C is
tuned on validation images (`_lssc_defaults`).

Array convention: float64, (H, W) gray or (H, W, 3) RGB on [0, 1] at the edge (colour images are
processed channel by channel); groups are (G, n, m): m patch columns of n = p² pixels (row-major);
dictionaries are (n, K) with unit-norm columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_methods.patch_groups import block_match
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.sparse import grid_positions, overcomplete_dct

_PATCH = 8
_ATOMS_PER_AXIS = 16  # 256 atoms for 8×8 patches

# --------------------------------------------------------------------------------------------------
# Simultaneous OMP, vectorised over groups


def somp(
    dictionary: np.ndarray,
    groups: np.ndarray,
    *,
    tol_sq: float | np.ndarray,
    max_atoms: int | None = None,
) -> np.ndarray:
    """Simultaneous OMP: codes of each group of signals on one shared support.

    dictionary (n, K) with unit-norm columns; groups (G, n, m); tol_sq: the residual energy
    ||Y − D A||_F² at which a group stops (a scalar or one per group); max_atoms: the support size
    limit (default n). The atom added maximises ||(Dᵀ R)_j||_2 over the group's residual R, computed
    as Dᵀ Y − G_{:,S} Γ with G = DᵀD; Γ solves G_SS Γ = (Dᵀ Y)_S; the residual energy is
    ||Y||² − ⟨(Dᵀ Y)_S, Γ⟩. Returns codes (G, K, m).
    """
    n, k_atoms = dictionary.shape
    n_groups, _, m = groups.shape
    limit = min(n if max_atoms is None else max_atoms, n, k_atoms)
    gram = dictionary.T @ dictionary
    corr0 = np.matmul(dictionary.T, groups)  # (G, K, m)
    energy = np.einsum("gnm,gnm->g", groups, groups)
    tol = np.broadcast_to(np.asarray(tol_sq, dtype=np.float64), (n_groups,))
    codes = np.zeros((n_groups, k_atoms, m))
    active = np.flatnonzero(energy > tol)
    corr = corr0[active]  # compacted with `active` as groups finish
    support = np.zeros((active.size, limit), dtype=np.intp)
    coefs = np.zeros((active.size, 0, m))
    for step in range(limit):
        if active.size == 0:
            break
        if step:
            resid_corr = corr - np.matmul(gram[:, support[:, :step]].transpose(1, 0, 2), coefs)
            score = np.einsum("akm,akm->ak", resid_corr, resid_corr)
            np.put_along_axis(score, support[:, :step], -1.0, axis=1)  # never reselect an atom
        else:
            score = np.einsum("akm,akm->ak", corr, corr)
        support[:, step] = np.argmax(score, axis=1)
        s_act = support[:, : step + 1]
        g_ss = gram[s_act[:, :, None], s_act[:, None, :]]  # (A, s, s)
        rhs = np.take_along_axis(corr, s_act[:, :, None], axis=1)  # (A, s, m)
        coefs = np.linalg.solve(g_ss, rhs)
        resid = energy[active] - np.einsum("asm,asm->a", rhs, coefs)
        # The second test is the floor of this residual formula's rounding error.
        done = (resid <= tol[active]) | (resid <= 1e-12 * energy[active]) | (step + 1 == limit)
        if done.any():
            codes[active[done][:, None], s_act[done]] = coefs[done]
            keep = ~done
            active, corr, support, coefs = active[keep], corr[keep], support[keep], coefs[keep]
    return codes


# --------------------------------------------------------------------------------------------------
# Dictionary learning


def update_dictionary(
    dictionary: np.ndarray, signals: np.ndarray, codes: np.ndarray, *, sweeps: int = 1
) -> np.ndarray:
    """Block-coordinate descent on ||Y − D A||_F² over the columns of D (Mairal et al., JMLR 2010).

    dictionary (n, K), signals (n, M), codes (K, M). With Σ = A Aᵀ and B = Y Aᵀ, column j becomes
    u = d_j + (b_j − D σ_j) / Σ_jj, normalised to unit norm (so the coding step's unit-norm
    assumption holds); unused atoms (Σ_jj = 0) are left as they are.
    """
    d = dictionary.copy()
    a_at = codes @ codes.T
    y_at = signals @ codes.T
    for _ in range(sweeps):
        for j in np.flatnonzero(np.diag(a_at) > 1e-12):
            u = d[:, j] + (y_at[:, j] - d @ a_at[:, j]) / a_at[j, j]
            norm = np.linalg.norm(u)
            if norm > 1e-12:
                d[:, j] = u / norm
    return d


# --------------------------------------------------------------------------------------------------
# Groups of similar patches


def _pixel_index(positions: np.ndarray, patch: int, width: int, wp: int) -> np.ndarray:
    """Flat pixel indices (…, patch²) of the patches at flat patch-grid positions (…)."""
    py, px = np.divmod(positions, wp)
    dy, dx = np.divmod(np.arange(patch * patch), patch)
    return (py[..., None] + dy) * width + (px[..., None] + dx)


def match_groups(
    guide: np.ndarray, step: int, window: int, k: int, max_dist: float
) -> tuple[np.ndarray, np.ndarray]:
    """Groups of similar patches of `guide` (H, W): references on a grid of stride `step`, each with
    its k nearest patches within ±window. Returns (pixel indices (G, k, n) into guide.ravel(),
    valid (G, k) bool: the member's mean squared distance to the reference is ≤ max_dist; the
    reference itself is always valid)."""
    h, w = guide.shape
    p = _PATCH
    ref_ys, ref_xs = grid_positions(h, p, step), grid_positions(w, p, step)
    positions = block_match(guide, p, ref_ys, ref_xs, window, k)
    pix = _pixel_index(positions, p, w, w - p + 1)
    flat = guide.ravel()
    patches = flat[pix]  # (G, k, n)
    dist = np.mean((patches - patches[:, :1]) ** 2, axis=2)
    valid = dist <= max_dist
    valid[:, 0] = True
    return pix, valid


def _group_signals(flat: np.ndarray, pix: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(G, n, k) groups of patches of `flat` with the invalid members zeroed (they then take no
    part in atom selection or the error target)."""
    return np.ascontiguousarray((flat[pix] * valid[..., None]).transpose(0, 2, 1))


def learn_group_dictionary(
    flat: np.ndarray,
    pix: np.ndarray,
    valid: np.ndarray,
    dictionary: np.ndarray,
    *,
    iterations: int,
    training_groups: int,
    per_signal_tol: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Alternate SOMP on a random subset of the groups and the dictionary update."""
    pick = np.sort(rng.permutation(len(pix))[: min(training_groups, len(pix))])
    groups = _group_signals(flat, pix[pick], valid[pick])
    tol = per_signal_tol * valid[pick].sum(axis=1)
    n = dictionary.shape[0]
    signals = groups.transpose(1, 0, 2).reshape(n, -1)
    d = dictionary
    for _ in range(iterations):
        codes = somp(d, groups, tol_sq=tol, max_atoms=n // 2)
        d = update_dictionary(d, signals, codes.transpose(1, 0, 2).reshape(d.shape[1], -1))
    return d


def _denoise_pass(
    y: np.ndarray,
    guide: np.ndarray,
    dictionary: np.ndarray,
    *,
    sigma: float,
    max_dist: float,
    params: dict[str, Any],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSSC pass: groups matched on `guide`, dictionary refined on the noisy groups, every
    group coded by SOMP and averaged into the image. Returns (estimate, dictionary)."""
    n = _PATCH * _PATCH
    pix, valid = match_groups(guide, params["step"], params["window"], params["group_size"], max_dist)
    flat = y.ravel()
    per_signal_tol = n * (params["gain"] * sigma) ** 2
    d = learn_group_dictionary(
        flat,
        pix,
        valid,
        dictionary,
        iterations=params["iterations"],
        training_groups=params["training_groups"],
        per_signal_tol=per_signal_tol,
        rng=rng,
    )
    acc = np.zeros(y.size)
    cnt = np.zeros(y.size)
    chunk = max(1, 4096 // params["group_size"])
    for start in range(0, len(pix), chunk):
        p_ch, v_ch = pix[start : start + chunk], valid[start : start + chunk]
        groups = _group_signals(flat, p_ch, v_ch)
        codes = somp(d, groups, tol_sq=per_signal_tol * v_ch.sum(axis=1), max_atoms=n // 2)
        recon = np.matmul(d, codes).transpose(0, 2, 1)  # (G, k, n)
        targets = p_ch[v_ch].ravel()
        acc += np.bincount(targets, weights=recon[v_ch].ravel(), minlength=y.size)
        cnt += np.bincount(targets, minlength=y.size)
    lam = params["lam_factor"] / (sigma * 255.0)
    return ((lam * flat + acc) / (lam + cnt)).reshape(y.shape), d


def lssc_denoise_channel(y: np.ndarray, sigma255: float, params: dict[str, Any], seed: int = 0) -> np.ndarray:
    """LSSC denoising of a 2-D image y on [0, 1] with noise σ on the 0–255 scale (σ > 0).

    params: the method's parameters (see `_lssc_defaults`). The first pass matches groups on the
    noisy image, where a pair's expected squared distance is its clean distance plus 2σ² per pixel;
    the later passes match on the previous estimate.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    sigma = sigma255 / 255.0
    d = overcomplete_dct(_PATCH, _ATOMS_PER_AXIS)
    estimate = y
    for index in range(params["passes"]):
        noisy_guide = index == 0
        max_dist = (params["match_threshold"] + (2.0 if noisy_guide else 0.0)) * sigma**2
        estimate, d = _denoise_pass(y, estimate, d, sigma=sigma, max_dist=max_dist, params=params, rng=rng)
    return estimate


# --------------------------------------------------------------------------------------------------
# The registered method


def _lssc_defaults(context: RestorationContext) -> dict[str, Any]:
    # gain: tuned on Train400 validation images (bench/tune_classic_methods.py protocol): the group
    # error target pools m patches' noise, so C = 1 suffices at σ ≤ 30; at σ = 50 C = 1.1 does better.
    high_noise = (context.sigma or 0.0) > 30
    return {
        "passes": 2,
        "iterations": 5,
        "training_groups": 1500,
        "group_size": 16,
        "window": 12,
        "step": 3,
        "match_threshold": 1.0,
        "gain": 1.1 if high_noise else 1.0,
        "lam_factor": 30.0,
    }


def _check(params: dict[str, Any]) -> dict[str, Any]:
    counts = {"passes": 1, "iterations": 0, "training_groups": 16, "group_size": 1, "window": 1, "step": 1}
    for name, minimum in counts.items():
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise MethodError(f"lssc: parameter {name!r} must be an integer >= {minimum}, got {value!r}")
    for name in ("match_threshold", "gain", "lam_factor"):
        value = params[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not np.isfinite(value)
            or value <= 0
        ):
            raise MethodError(f"lssc: parameter {name!r} must be a positive number, got {value!r}")
    if params["step"] > _PATCH:
        raise MethodError(
            f"lssc: parameter 'step' must be at most the patch size {_PATCH}, got {params['step']}"
        )
    return params


@register_method(
    "lssc",
    family="sparse",
    tasks=("denoise",),
    citation=(
        "Mairal, Bach, Ponce, Sapiro & Zisserman, Non-local sparse models for image restoration, ICCV 2009"
    ),
    defaults=_lssc_defaults,
)
def lssc(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Learned simultaneous sparse coding (LSSC): similar patches coded jointly on a learned dictionary."""
    params = _check(get_method("lssc").parameters(context))
    if min(degraded.shape[:2]) < _PATCH:
        raise MethodError(f"lssc: the image {degraded.shape[:2]} is smaller than the {_PATCH}x{_PATCH} patch")
    sigma = float(context.sigma or 0.0)
    if sigma == 0:
        return degraded.copy()  # nothing to remove: the error target would keep every detail
    if degraded.ndim == 2:
        return lssc_denoise_channel(degraded, sigma, params, context.seed)
    return np.stack(
        [lssc_denoise_channel(degraded[..., c], sigma, params, context.seed + c) for c in range(3)], axis=-1
    )
