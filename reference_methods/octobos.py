"""OCTOBOS: a union of learned square sparsifying transforms, for denoising.

`octobos` — Wen, Ravishankar & Bresler, "Structured overcomplete sparsifying transform learning with
convergence guarantees and applications", IJCV 2015. An overcomplete transform with block cosparsity
is a union of K square transforms W_k, each serving one cluster C_k of patches:

    min  Σ_k Σ_{i∈C_k} ||W_k y_i − z_i||²  +  Σ_k λ_k (||W_k||_F² − log |det W_k|)   s.t. ||z_i||_0 ≤ s_i

with λ_k = λ0 ||Y_{C_k}||_F² (the regulariser keeps each transform well conditioned and scale-free).
Every step has a closed form:

- sparse coding: z_i = H_{s_i}(W_k y_i), keeping the s_i largest-magnitude coefficients;
- transform update (Ravishankar & Bresler, "Closed-form solutions within sparsifying transform
  learning", ICASSP 2013): with L Lᵀ = X Xᵀ + λ I and the full SVD L⁻¹ X Zᵀ = Q Σ Rᵀ,
  W = ½ R (Σ + (Σ² + 2λ I)^½) Qᵀ L⁻¹ is the global minimiser of ||W X − Z||² + λ(||W||² − log|det W|)
  (see `transform_update`);
- clustering: each patch joins the cluster whose transform gives the smallest
  ||W_k y − H_s(W_k y)||² + λ0 ||y||² (||W_k||² − log|det W_k|).

Denoising (the paper's Section on image denoising): 8×8 patches of the noisy image with their means
removed; transforms started from the 2-D DCT and clusters at random (seeded). Learning alternates
the three steps on a random subset of the patches, in rounds: the first round codes with a fixed
sparsity s0 = 0.15 n, each later round with every patch's error-driven level, the smallest s_i for
which ||y_i − W_k⁻¹ H_{s_i}(W_k y_i)||² ≤ n (C σ)² (the paper alternates learning with these
sparsity-level updates). Finally every patch (stride 1) is coded with its error-driven level in the
cluster that needs the fewest coefficients, reconstructed by W_k⁻¹, and the overlapping patch
estimates are averaged with a small weight on the noisy image (as K-SVD denoising does).
Differences from the paper: learning runs on a random subset of the patches for a fixed number of
iterations (for speed), and the final assignment picks the sparsest cluster rather than
re-clustering with the objective's measure. C and λ0 are tuned on validation images
(`_octobos_defaults`).

Array convention: float64, (H, W) gray or (H, W, 3) RGB on [0, 1] at the edge (colour images are
processed channel by channel); patches are columns of an (n, N) matrix, n = p² (row-major within
the patch); transforms are (n, n).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.sparse import aggregate_patches, extract_patches, grid_positions

_FASTMATH = {"reassoc", "contract", "nsz"}

# --------------------------------------------------------------------------------------------------
# The closed-form steps


def transform_regulariser(w: np.ndarray) -> float:
    """Q(W) = ||W||_F² − log |det W| (infinite for a singular W)."""
    sign, logdet = np.linalg.slogdet(w)
    return float(np.sum(w * w) - logdet) if sign != 0 else float("inf")


def transform_objective(w: np.ndarray, x: np.ndarray, z: np.ndarray, lam: float) -> float:
    """||W X − Z||_F² + λ Q(W): what `transform_update` minimises over W."""
    return float(np.sum((w @ x - z) ** 2)) + lam * transform_regulariser(w)


def transform_update(x: np.ndarray, z: np.ndarray, lam: float) -> np.ndarray:
    """The W minimising ||W X − Z||_F² + λ(||W||_F² − log |det W|), in closed form.

    x, z: (n, N) data and sparse codes; λ > 0. With V = W L, L Lᵀ = X Xᵀ + λ I, the objective is
    ||V||² − 2 tr(V L⁻¹ X Zᵀ) − λ log |det V| + const; for L⁻¹ X Zᵀ = Q Σ Rᵀ the minimiser is
    V = R D Qᵀ with d_i the positive root of 2d − 2σ_i − λ/d = 0, d_i = (σ_i + sqrt(σ_i² + 2λ)) / 2.
    """
    n = x.shape[0]
    chol = np.linalg.cholesky(x @ x.T + lam * np.eye(n))
    l_inv = np.linalg.solve(chol, np.eye(n))  # lower triangular; n ≤ 64, so a dense solve is cheap
    q, sig, rt = np.linalg.svd(l_inv @ (x @ z.T))
    d = 0.5 * (sig + np.sqrt(sig * sig + 2.0 * lam))
    return (rt.T * d) @ q.T @ l_inv


def _keep_largest(rows, sparsity):  # pragma: no cover - compiled
    """Each row i of rows (N, n) with all but its sparsity[i] largest-magnitude entries zeroed, and
    the energy of the zeroed entries (N,). Ties keep the earlier entry."""
    count, n = rows.shape
    out = np.zeros_like(rows)
    dropped = np.empty(count)
    top_mag = np.empty(n + 1)  # the s largest magnitudes so far, descending (insertion keeps it sorted)
    top_idx = np.empty(n + 1, dtype=np.int64)
    for i in range(count):
        s = min(max(sparsity[i], 0), n)
        filled = 0
        total = 0.0
        for j in range(n):
            v = rows[i, j]
            total += v * v
            m = abs(v)
            if filled < s or (s > 0 and m > top_mag[s - 1]):
                t = filled if filled < s else s - 1
                while t > 0 and top_mag[t - 1] < m:
                    top_mag[t] = top_mag[t - 1]
                    top_idx[t] = top_idx[t - 1]
                    t -= 1
                top_mag[t] = m
                top_idx[t] = j
                if filled < s:
                    filled += 1
        kept = 0.0
        for t in range(filled):
            j = top_idx[t]
            out[i, j] = rows[i, j]
            kept += rows[i, j] * rows[i, j]
        dropped[i] = max(total - kept, 0.0)
    return out, dropped


def _compile(fn):
    """njit with an on-disk cache where one can be written, in memory otherwise."""
    try:
        return numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)(fn)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, fastmath=_FASTMATH)(fn)


_keep_largest_jit = _compile(_keep_largest)


def _sparsities(sparsity: int | np.ndarray, count: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(sparsity, dtype=np.int64), (count,)))


def hard_threshold(coefs: np.ndarray, sparsity: int | np.ndarray) -> np.ndarray:
    """Keep the `sparsity` largest-magnitude entries of each column of coefs (n, N), zero the rest
    (sparsity: one for all columns or one per column)."""
    rows = np.ascontiguousarray(coefs.T, dtype=np.float64)
    kept, _ = _keep_largest_jit(rows, _sparsities(sparsity, rows.shape[0]))
    return kept.T


def cluster_costs(
    transforms: np.ndarray, x: np.ndarray, sparsity: int | np.ndarray, lam0: float
) -> np.ndarray:
    """(K, N) clustering measure ||W_k x − H_s(W_k x)||² + λ0 ||x||² Q(W_k) for each transform and column."""
    energy = np.einsum("ij,ij->j", x, x)
    xt = np.ascontiguousarray(x.T)
    levels = _sparsities(sparsity, xt.shape[0])
    out = np.empty((len(transforms), x.shape[1]))
    for k, w in enumerate(transforms):
        _, dropped = _keep_largest_jit(xt @ w.T, levels)
        out[k] = dropped + lam0 * energy * transform_regulariser(w)
    return out


def learn_union_of_transforms(
    x: np.ndarray,
    clusters: int,
    *,
    iterations: int,
    sparsity: int | np.ndarray,
    lam0: float,
    rng: np.random.Generator,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Alternate sparse coding, transform update and clustering on x (n, N).

    sparsity: one level for all columns or one per column. Transforms start from the 2-D DCT
    (n = p²) and clusters at random, or from `start` = (transforms, labels). Returns (transforms
    (K, n, n), labels (N,)). An emptied cluster keeps its transform (it may win patches back later).
    """
    n = x.shape[0]
    p = int(round(np.sqrt(n)))
    if start is None:
        transforms = np.repeat(dct2_matrix(p)[None], clusters, axis=0)
        labels = rng.integers(0, clusters, x.shape[1])
    else:
        transforms, labels = start[0].copy(), start[1].copy()
    levels = _sparsities(sparsity, x.shape[1])
    for _ in range(iterations):
        for k in range(clusters):
            members = x[:, labels == k]
            if members.shape[1] == 0:
                continue
            z = hard_threshold(transforms[k] @ members, levels[labels == k])
            transforms[k] = transform_update(members, z, lam0 * float(np.sum(members * members)))
        labels = np.argmin(cluster_costs(transforms, x, levels, lam0), axis=0)
    return transforms, labels


def dct2_matrix(p: int) -> np.ndarray:
    """The orthonormal 2-D DCT-II acting on row-major p×p patches: (p², p²)."""
    t = np.arange(p)
    c = np.cos(np.pi * (t[None, :] + 0.5) * t[:, None] / p) * np.sqrt(2.0 / p)
    c[0] /= np.sqrt(2.0)
    return np.kron(c, c)


# --------------------------------------------------------------------------------------------------
# Error-driven sparse coding: the fewest coefficients meeting the error target


def _adaptive_reconstruct(coefs, inverse, signals, tol_sq):  # pragma: no cover - compiled
    """For each column c = W x of coefs (n, N): keep its largest-magnitude entries one by one until
    ||W⁻¹ (c − kept)||² ≤ tol_sq, and return W⁻¹ kept (n, N) and the count kept (N,)."""
    n, count = coefs.shape
    out = np.empty((n, count))
    kept = np.empty(count, dtype=np.int64)
    resid = np.empty(n)
    for i in range(count):
        c = coefs[:, i]
        order = np.argsort(-np.abs(c))
        # the residual W⁻¹ (c − kept) starts at W⁻¹ c = x
        err = 0.0
        for r in range(n):
            resid[r] = signals[r, i]
            err += resid[r] * resid[r]
        s = 0
        while err > tol_sq and s < n:
            j = order[s]
            cj = c[j]
            err = 0.0
            for r in range(n):
                resid[r] -= inverse[r, j] * cj
                err += resid[r] * resid[r]
            s += 1
        for r in range(n):
            out[r, i] = signals[r, i] - resid[r]
        kept[i] = s
    return out, kept


_adaptive_reconstruct_jit = _compile(_adaptive_reconstruct)


def adaptive_sparse_reconstruct(
    transform: np.ndarray, x: np.ndarray, tol_sq: float
) -> tuple[np.ndarray, np.ndarray]:
    """(W⁻¹ H_{s_i}(W x_i) for each column, s_i) with s_i the smallest sparsity whose reconstruction
    error ||x_i − W⁻¹ H_{s_i}(W x_i)||² is ≤ tol_sq."""
    coefs = np.ascontiguousarray(transform @ x)
    inverse = np.ascontiguousarray(np.linalg.inv(transform))
    return _adaptive_reconstruct_jit(coefs, inverse, np.ascontiguousarray(x, dtype=np.float64), float(tol_sq))


# --------------------------------------------------------------------------------------------------
# Denoising


def _sparsest_reconstruction(
    transforms: np.ndarray, x: np.ndarray, tol_sq: float, lam0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code every column of x (n, N) in every cluster with the error-driven sparsity and keep the
    cluster that needs the fewest coefficients (ties: the smaller error plus λ0 ||x||² Q(W_k)).
    Returns (reconstructions (n, N), sparsity levels (N,), labels (N,))."""
    energy = np.einsum("ij,ij->j", x, x)
    best = np.full(x.shape[1], np.inf)
    out = np.empty_like(x)
    levels = np.zeros(x.shape[1], dtype=np.int64)
    labels = np.zeros(x.shape[1], dtype=np.int64)
    for k, w in enumerate(transforms):
        recon, kept = adaptive_sparse_reconstruct(w, x, tol_sq)
        secondary = np.sum((x - recon) ** 2, axis=0) + lam0 * energy * transform_regulariser(w)
        # The secondary term is far below one coefficient's worth: scale it into [0, 0.5).
        cost = kept + 0.5 * secondary / (secondary + tol_sq + 1e-300)
        better = cost < best
        best[better] = cost[better]
        out[:, better] = recon[:, better]
        levels[better] = kept[better]
        labels[better] = k
    return out, levels, labels


def octobos_denoise_channel(
    y: np.ndarray,
    sigma255: float,
    *,
    patch: int = 8,
    clusters: int = 4,
    rounds: int = 3,
    iterations: int = 8,
    training_patches: int = 20000,
    sparsity_fraction: float = 0.15,
    lam0: float = 3.1e-2,
    gain: float = 1.08,
    lam_factor: float = 30.0,
    seed: int = 0,
    chunk: int = 16384,
) -> np.ndarray:
    """OCTOBOS denoising of a 2-D image y on [0, 1] with noise σ on the 0–255 scale (σ > 0).

    `rounds` rounds of `iterations` learning iterations on a random subset of the mean-removed
    patches; the first round codes with sparsity_fraction·n coefficients per patch, each later one
    with the patches' error-driven levels from the transforms learned so far (as the paper's
    denoising algorithm alternates learning and sparsity-level updates).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    n = patch * patch
    sigma = sigma255 / 255.0
    tol_sq = n * (gain * sigma) ** 2
    ys, xs = grid_positions(y.shape[0], patch, 1), grid_positions(y.shape[1], patch, 1)
    patches = extract_patches(y, patch, ys, xs).T  # (n, N)
    means = patches.mean(axis=0)
    patches -= means
    pick = np.sort(rng.permutation(patches.shape[1])[: min(training_patches, patches.shape[1])])
    train = patches[:, pick]
    levels: int | np.ndarray = max(1, int(round(sparsity_fraction * n)))
    state = None
    for _ in range(rounds):
        state = learn_union_of_transforms(
            train, clusters, iterations=iterations, sparsity=levels, lam0=lam0, rng=rng, start=state
        )
        _, levels, labels = _sparsest_reconstruction(state[0], train, tol_sq, lam0)
        state = (state[0], labels)
    transforms = state[0] if state is not None else np.repeat(dct2_matrix(patch)[None], clusters, axis=0)
    estimate = np.empty_like(patches)
    for start in range(0, patches.shape[1], chunk):
        estimate[:, start : start + chunk], _, _ = _sparsest_reconstruction(
            transforms, patches[:, start : start + chunk], tol_sq, lam0
        )
    estimate += means
    acc, cnt = aggregate_patches(estimate.T, patch, ys, xs, y.shape)
    lam = lam_factor / sigma255
    return (lam * y + acc) / (lam + cnt)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise MethodError(f"octobos: parameter {name!r} must be a positive number, got {value!r}")
    return float(value)


def _check_count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise MethodError(f"octobos: parameter {name!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _octobos_defaults(context: RestorationContext) -> dict[str, Any]:
    # gain and lam0 tuned on Train400 validation images: the paper's C = 1.08 is best at σ ≤ 30,
    # C = 1.15 at σ = 50; λ0 = 0.031 (10× the paper's) gained up to 0.08 dB at σ = 15.
    high_noise = (context.sigma or 0.0) > 30
    return {
        "clusters": 4,
        "rounds": 3,
        "iterations": 8,
        "training_patches": 20000,
        "sparsity_fraction": 0.15,
        "lam0": 3.1e-2,
        "gain": 1.15 if high_noise else 1.08,
        "lam_factor": 30.0,
    }


@register_method(
    "octobos",
    family="sparse",
    tasks=("denoise",),
    citation=(
        "Wen, Ravishankar & Bresler, Structured overcomplete sparsifying transform learning with "
        "convergence guarantees and applications, IJCV 2015"
    ),
    defaults=_octobos_defaults,
)
def octobos(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Union of learned square sparsifying transforms (OCTOBOS): clustering and closed-form updates."""
    p = get_method("octobos").parameters(context)
    clusters = _check_count("clusters", p["clusters"])
    rounds = _check_count("rounds", p["rounds"], minimum=0)
    iterations = _check_count("iterations", p["iterations"], minimum=0)
    training = _check_count("training_patches", p["training_patches"], minimum=256)
    fraction = _check_positive("sparsity_fraction", p["sparsity_fraction"])
    if fraction > 1:
        raise MethodError(f"octobos: parameter 'sparsity_fraction' must be in (0, 1], got {fraction}")
    lam0 = _check_positive("lam0", p["lam0"])
    gain = _check_positive("gain", p["gain"])
    lam_factor = _check_positive("lam_factor", p["lam_factor"])
    if min(degraded.shape[:2]) < 8:
        raise MethodError(f"octobos: the image {degraded.shape[:2]} is smaller than the 8x8 patch")
    sigma = float(context.sigma or 0.0)
    if sigma == 0:
        return degraded.copy()  # nothing to remove: the error target would keep every coefficient

    def channel(ch: np.ndarray, c: int) -> np.ndarray:
        return octobos_denoise_channel(
            ch,
            sigma,
            clusters=clusters,
            rounds=rounds,
            iterations=iterations,
            training_patches=training,
            sparsity_fraction=fraction,
            lam0=lam0,
            gain=gain,
            lam_factor=lam_factor,
            seed=context.seed + c,
        )

    if degraded.ndim == 2:
        return channel(degraded, 0)
    return np.stack([channel(degraded[..., c], c) for c in range(degraded.shape[2])], axis=-1)
