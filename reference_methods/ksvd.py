"""K-SVD denoising and inpainting (sparse representations over a learned dictionary).

`ksvd` — Elad & Aharon, "Image denoising via sparse and redundant representations over learned
dictionaries", IEEE TIP 2006. 8×8 patches, a 64×256 dictionary started from the overcomplete DCT
and trained on the noisy image's own patches by K-SVD (Aharon, Elad & Bruckstein, IEEE TSP 2006),
sparse coding by error-constrained OMP (||x − Dα||² ≤ n (C σ)², C = 1.15), and the paper's
closed-form averaging x̂ = (λ y + Σ Rᵢᵀ D αᵢ) / (λ + Σ Rᵢᵀ Rᵢ) with λ = 30/σ (σ on 0–255).
For speed: the dictionary is trained on a random subset of patches (as the authors' code does,
with a smaller cap) for a fixed number of K-SVD iterations; OMP is Batch-OMP (Rubinstein,
Zibulevsky & Elad 2008), compiled per signal (`omp_kernels`).
Inpainting: OMP and K-SVD restricted to each patch's known pixels ("masked OMP"; Mairal, Elad &
Sapiro, IEEE TIP 2008 for the missing-data K-SVD), the dictionary update fed with the current
estimate in the missing entries (an EM step), and the missing pixels set to the average of the
patch reconstructions, each weighted by the square of its patch's known fraction. Pixels no
usable patch covers (the middle of large holes) keep the normalized-convolution first fill.

Array convention: float64, (H, W) gray or (H, W, 3) RGB on [0, 1]; patches are rows of an
(N, p²) matrix (row-major within the patch); dictionaries are (p², K) with unit-norm columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_methods.omp_kernels import batch_omp
from reference_methods.patches import (
    aggregate_patches,
    check_count,
    check_positive,
    extract_patches,
    grid_positions,
)
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.tv_inpainting import normalized_convolution_fill

# Orthogonal matching pursuit, vectorised over signals


def omp(
    dictionary: np.ndarray,
    signals: np.ndarray,
    *,
    tol_sq: float | np.ndarray | None = None,
    max_atoms: int | None = None,
) -> np.ndarray:
    """Batch-OMP (Rubinstein, Zibulevsky & Elad 2008): sparse codes of each column of `signals`.

    dictionary: (n, K), unit-norm columns; signals: (n, N). Greedy atom selection on the residual
    correlations Dᵀx − G_S γ (G = DᵀD), least squares on the support by solving G_SS γ = (Dᵀx)_S,
    residual energy ||x||² − (Dᵀx)_Sᵀ γ. A signal stops when its residual energy is ≤ tol_sq (a
    scalar or one per signal) or it has max_atoms atoms (default n). Returns codes (K, N). The
    per-signal loop is compiled (`omp_kernels.batch_omp`); DᵀD and DᵀX are BLAS products here.
    """
    n, k_atoms = dictionary.shape
    n_sig = signals.shape[1]
    limit = n if max_atoms is None else min(max_atoms, n, k_atoms)
    tol = np.zeros(n_sig) if tol_sq is None else np.broadcast_to(np.asarray(tol_sq, float), (n_sig,))
    if limit < 1 or n_sig == 0:
        return np.zeros((k_atoms, n_sig))
    energy = np.einsum("ij,ij->j", signals, signals)
    return batch_omp(
        np.ascontiguousarray(dictionary.T @ dictionary),
        np.ascontiguousarray(dictionary.T @ signals),
        energy,
        np.ascontiguousarray(tol, dtype=np.float64),
        int(limit),
    )


def masked_omp(
    dictionary: np.ndarray,
    signals: np.ndarray,
    known: np.ndarray,
    *,
    tol_sq: np.ndarray,
    max_atoms: int | np.ndarray,
) -> np.ndarray:
    """OMP using only each signal's known entries (inpainting).

    dictionary (n, K); signals and known (n, N), known bool. Atoms are selected by correlation with
    the masked residual divided by the masked atom norm; least squares on the support uses only the
    known rows. tol_sq: per-signal residual energy target over the known entries; max_atoms: a
    limit for all signals or one per signal. Returns (K, N).
    """
    n, k_atoms = dictionary.shape
    n_sig = signals.shape[1]
    limits = np.minimum(np.broadcast_to(np.asarray(max_atoms), (n_sig,)), min(n, k_atoms)).astype(np.intp)
    limit = int(limits.max()) if n_sig else 0
    tol = np.broadcast_to(np.asarray(tol_sq, dtype=np.float64), (n_sig,))
    codes = np.zeros((k_atoms, n_sig))
    m_all = known.T.astype(np.float64)  # (N, n)
    x_all = signals.T * m_all
    start = np.flatnonzero((np.einsum("an,an->a", x_all, x_all) > tol) & (limits > 0))
    # State of the signals still being coded, compacted as signals finish.
    idx = start
    m = m_all[idx]
    x = x_all[idx]
    resid = x.copy()
    atom_norm = np.sqrt(np.maximum(m @ (dictionary**2), 1e-12))  # ||m ⊙ d_j||: (A, K)
    support = np.zeros((idx.size, limit), dtype=np.intp)
    gram = np.zeros((idx.size, limit, limit))
    rhs = np.zeros((idx.size, limit))
    for step in range(limit):
        if idx.size == 0:
            break
        corr = np.abs(resid @ dictionary)
        corr /= atom_norm
        if step:
            # never reselect an atom (its masked residual correlation is ~0 anyway)
            np.put_along_axis(corr, support[:, :step], -1.0, axis=1)
        best = np.argmax(corr, axis=1)
        support[:, step] = best
        s = step + 1
        new = dictionary[:, best].T * m  # masked new atom, (A, n)
        chosen = dictionary[:, support[:, :s]]  # (n, A, s), unmasked
        row = np.einsum("an,nas->as", new, chosen)  # <m ⊙ d_new, d_S> = <m ⊙ d_new, m ⊙ d_S>
        gram[:, step, :s] = row
        gram[:, :s, step] = row
        rhs[:, step] = np.einsum("an,an->a", new, x)
        coefs = np.linalg.solve(gram[:, :s, :s] + 1e-10 * np.eye(s), rhs[:, :s, None])[..., 0]
        resid = x - m * np.einsum("nas,as->an", chosen, coefs)
        energy = np.einsum("an,an->a", resid, resid)
        done = (energy <= tol[idx]) | (s >= limits[idx])
        if done.any():
            codes[support[done, :s], idx[done, None]] = coefs[done]
            keep = ~done
            idx, m, x, resid = idx[keep], m[keep], x[keep], resid[keep]
            atom_norm, support, gram, rhs = atom_norm[keep], support[keep], gram[keep], rhs[keep]
    return codes


# --------------------------------------------------------------------------------------------------
# K-SVD


def overcomplete_dct(patch: int, atoms_per_axis: int) -> np.ndarray:
    """The separable overcomplete DCT dictionary (patch², atoms_per_axis²) with unit-norm columns."""
    k = np.arange(atoms_per_axis)
    t = np.arange(patch)
    basis = np.cos(np.outer(t, k) * np.pi / atoms_per_axis)
    basis[:, 1:] -= basis[:, 1:].mean(axis=0)
    basis /= np.linalg.norm(basis, axis=0)
    d = np.kron(basis, basis)
    return d / np.linalg.norm(d, axis=0)


def ksvd_train(
    signals: np.ndarray,
    dictionary: np.ndarray,
    *,
    iterations: int,
    tol_sq: float | np.ndarray,
    max_atoms: int | np.ndarray,
    known: np.ndarray | None = None,
    rng: np.random.Generator,
    power_iterations: int = 3,
) -> np.ndarray:
    """K-SVD (Aharon, Elad & Bruckstein 2006): alternate OMP and rank-1 atom updates.

    signals (n, N); dictionary (n, K) initial, unit columns. With `known` (n, N) bool, sparse coding
    is masked OMP and the atom update works on the signals with their missing entries replaced by
    the current reconstruction D α (EM). Atoms used by no signal, or nearly duplicating another,
    are replaced by the worst-represented signal (as in the authors' implementation). Returns D.
    """
    d = dictionary.copy()
    x = signals
    for _ in range(iterations):
        if known is None:
            a = omp(d, x, tol_sq=tol_sq, max_atoms=max_atoms)
        else:
            a = masked_omp(d, x, known, tol_sq=np.broadcast_to(tol_sq, (x.shape[1],)), max_atoms=max_atoms)
            x = np.where(known, signals, d @ a)
        resid = x - d @ a
        for j in rng.permutation(d.shape[1]):
            users = np.flatnonzero(a[j])
            if users.size == 0:
                continue
            err = resid[:, users] + np.outer(d[:, j], a[j, users])
            # Best rank-1 approximation of E by power iterations on E Eᵀ warm-started at the current
            # atom (the "approximate K-SVD" of Rubinstein, Zibulevsky & Elad 2008 uses one; a few
            # more make it the exact leading singular pair to working precision in practice).
            atom = d[:, j]
            for _ in range(power_iterations):
                atom = err @ (atom @ err)
                atom /= max(np.linalg.norm(atom), 1e-300)
            a[j, users] = atom @ err
            d[:, j] = atom
            resid[:, users] = err - np.outer(atom, a[j, users])
        _replace_unused_atoms(d, a, resid)
    return d


def _replace_unused_atoms(d: np.ndarray, a: np.ndarray, resid: np.ndarray) -> None:
    usage = (a != 0).sum(axis=1)
    gram = np.abs(d.T @ d)
    np.fill_diagonal(gram, 0.0)
    duplicate = gram.max(axis=1) > 0.99
    # Of each near-duplicate pair replace only the later atom.
    duplicate &= np.arange(d.shape[1]) > gram.argmax(axis=1)
    bad = np.flatnonzero((usage < 2) | duplicate)
    if bad.size == 0:
        return
    err = np.einsum("ij,ij->j", resid, resid)
    worst = np.argsort(-err)[: bad.size]
    for j, s in zip(bad, worst, strict=False):
        v = resid[:, s]
        norm = np.linalg.norm(v)
        if norm > 1e-12:
            d[:, j] = v / norm
            resid[:, s] = 0.0


# --------------------------------------------------------------------------------------------------
# K-SVD denoising and inpainting of one 2-D channel

_KSVD_PATCH = 8
_KNOWN_WEIGHT_POWER = 2.0
_KSVD_ATOMS_PER_AXIS = 16


def _sample_columns(n_total: int, count: int, rng: np.random.Generator) -> np.ndarray:
    if n_total <= count:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, size=count, replace=False))


def ksvd_denoise_channel(
    y: np.ndarray,
    sigma255: float,
    *,
    gain: float = 1.15,
    iterations: int = 10,
    training_patches: int = 12000,
    stride: int = 1,
    lam_factor: float = 30.0,
    seed: int = 0,
    chunk: int = 8192,
) -> np.ndarray:
    """K-SVD denoising of a 2-D image y on [0, 1] with noise σ (0–255 scale)."""
    p = _KSVD_PATCH
    n = p * p
    rng = np.random.Generator(np.random.PCG64(seed))
    sigma = sigma255 / 255.0
    tol_sq = n * (gain * sigma) ** 2
    ys, xs = grid_positions(y.shape[0], p, stride), grid_positions(y.shape[1], p, stride)
    train_ys, train_xs = grid_positions(y.shape[0], p, 1), grid_positions(y.shape[1], p, 1)
    all_train = extract_patches(y, p, train_ys, train_xs)
    train = all_train[_sample_columns(len(all_train), training_patches, rng)].T
    d = ksvd_train(
        train,
        overcomplete_dct(p, _KSVD_ATOMS_PER_AXIS),
        iterations=iterations,
        tol_sq=tol_sq,
        max_atoms=n // 2,
        rng=rng,
    )
    acc = np.zeros(y.shape)
    cnt = np.zeros(y.shape)
    # Code the patches a band of rows at a time to bound memory.
    rows_per_chunk = max(1, chunk // len(xs))
    for start in range(0, len(ys), rows_per_chunk):
        band = ys[start : start + rows_per_chunk]
        patches = extract_patches(y, p, band, xs)
        codes = omp(d, patches.T, tol_sq=tol_sq, max_atoms=n // 2)
        a, c = aggregate_patches((d @ codes).T, p, band, xs, y.shape)
        acc += a
        cnt += c
    lam = lam_factor / sigma255
    return (lam * y + acc) / (lam + cnt)


def ksvd_inpaint_channel(
    y: np.ndarray,
    mask: np.ndarray,
    sigma255: float,
    *,
    gain: float = 1.15,
    iterations: int = 10,
    training_patches: int = 12000,
    stride: int = 1,
    min_known: float = 0.25,
    error_floor: float = 2.0,
    atoms_per_known: float = 0.25,
    seed: int = 0,
    chunk: int = 4096,
) -> np.ndarray:
    """K-SVD inpainting of a 2-D image y on [0, 1]; mask True = missing. σ on 0–255 (may be 0).

    The error target of masked OMP is (C σ_eff)² per known pixel, σ_eff = max(σ, error_floor) grey
    levels, so a noise-free image stops at the dictionary's approximation error instead of fitting
    the known pixels exactly; a patch may use at most atoms_per_known × (its known pixels) atoms,
    for the same reason (with as many atoms as known pixels the missing ones would be arbitrary).
    Patches with fewer than `min_known` of their pixels known are not used.
    """
    p = _KSVD_PATCH
    n = p * p
    rng = np.random.Generator(np.random.PCG64(seed))
    sigma_eff = max(sigma255, error_floor) / 255.0
    per_pixel_tol = (gain * sigma_eff) ** 2
    init = normalized_convolution_fill(y, mask)
    known_img = ~mask
    ys, xs = grid_positions(y.shape[0], p, 1), grid_positions(y.shape[1], p, 1)
    all_known = extract_patches(known_img.astype(np.float64), p, ys, xs) > 0.5
    usable = all_known.mean(axis=1) >= min_known
    candidates = np.flatnonzero(usable)
    if candidates.size == 0:
        return init
    all_patches = extract_patches(init, p, ys, xs)
    pick = candidates[_sample_columns(candidates.size, training_patches, rng)]
    train_known = all_known[pick].T
    d = ksvd_train(
        all_patches[pick].T,
        overcomplete_dct(p, _KSVD_ATOMS_PER_AXIS),
        iterations=iterations,
        tol_sq=per_pixel_tol * train_known.sum(axis=0),
        known=train_known,
        rng=rng,
        max_atoms=np.maximum(1, (atoms_per_known * train_known.sum(axis=0)).astype(np.intp)),
    )
    del all_patches, all_known
    ys_s, xs_s = grid_positions(y.shape[0], p, stride), grid_positions(y.shape[1], p, stride)
    acc = np.zeros(y.shape)
    cnt = np.zeros(y.shape)
    rows_per_chunk = max(1, chunk // len(xs_s))
    for start in range(0, len(ys_s), rows_per_chunk):
        band = ys_s[start : start + rows_per_chunk]
        patches = extract_patches(init, p, band, xs_s)
        known = extract_patches(known_img.astype(np.float64), p, band, xs_s) > 0.5
        use = known.mean(axis=1) >= min_known
        recon = np.zeros_like(patches)
        if use.any():
            k = known[use].T
            n_known = k.sum(axis=0)
            limits = np.maximum(1, (atoms_per_known * n_known).astype(np.intp))
            codes = masked_omp(d, patches[use].T, k, tol_sq=per_pixel_tol * n_known, max_atoms=limits)
            recon[use] = (d @ codes).T
        # Patches mostly known are trusted more than those extrapolating into a hole.
        frac = known.mean(axis=1) ** _KNOWN_WEIGHT_POWER
        weight = np.repeat((use * frac)[:, None], n, axis=1)
        a, _ = aggregate_patches(recon * weight, p, band, xs_s, y.shape)
        c, _ = aggregate_patches(weight, p, band, xs_s, y.shape)
        acc += a
        cnt += c
    out = init.copy()
    covered = mask & (cnt > 0)
    out[covered] = acc[covered] / cnt[covered]
    if sigma255 > 0:
        # Noisy known pixels are denoised like K-SVD denoising does (λ = 30/σ).
        lam = 30.0 / sigma255
        obs = known_img & (cnt > 0)
        out[obs] = (lam * y[obs] + acc[obs]) / (lam + cnt[obs])
    return out


def _per_channel(image: np.ndarray, fn: Any) -> np.ndarray:
    if image.ndim == 2:
        return fn(image, 0)
    return np.stack([fn(image[..., c], c) for c in range(image.shape[2])], axis=-1)


def _ksvd_defaults(context: RestorationContext) -> dict[str, Any]:
    common = {"gain": 1.15, "iterations": 10, "training_patches": 12000, "stride": 1}
    if context.task == "denoise":
        return {**common, "lam_factor": 30.0}
    return {**common, "min_known": 0.25}


@register_method(
    "ksvd",
    family="sparse",
    tasks=("denoise", "inpaint"),
    citation=(
        "Elad & Aharon, Image denoising via sparse and redundant representations over learned dictionaries, "
        "IEEE TIP 2006; Aharon, Elad & Bruckstein, K-SVD, IEEE TSP 2006; "
        "Mairal, Elad & Sapiro, Sparse representation for color image restoration, IEEE TIP 2008"
    ),
    defaults=_ksvd_defaults,
)
def ksvd(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """K-SVD dictionary learned on the image's own patches, OMP sparse coding, patch averaging."""
    p = get_method("ksvd").parameters(context)
    gain = check_positive("ksvd", "gain", p["gain"])
    iterations = check_count("ksvd", "iterations", p["iterations"], minimum=0)
    training = check_count("ksvd", "training_patches", p["training_patches"], minimum=256)
    stride = check_count("ksvd", "stride", p["stride"])
    if stride > _KSVD_PATCH:
        raise MethodError(
            f"ksvd: parameter 'stride' must be at most the patch size {_KSVD_PATCH}, got {stride}"
        )
    if min(degraded.shape[:2]) < _KSVD_PATCH:
        raise MethodError(
            f"ksvd: the image {degraded.shape[:2]} is smaller than the {_KSVD_PATCH}x{_KSVD_PATCH} patch"
        )
    sigma = float(context.sigma or 0.0)
    if context.task == "denoise":
        lam_factor = check_positive("ksvd", "lam_factor", p["lam_factor"])
        if sigma == 0:
            return degraded.copy()  # nothing to remove: the error-constrained coding would keep every detail
        return _per_channel(
            degraded,
            lambda ch, c: ksvd_denoise_channel(
                ch,
                sigma,
                gain=gain,
                iterations=iterations,
                training_patches=training,
                stride=stride,
                lam_factor=lam_factor,
                seed=context.seed + c,
            ),
        )
    min_known = check_positive("ksvd", "min_known", p["min_known"])
    if min_known > 1:
        raise MethodError(f"ksvd: parameter 'min_known' must be a fraction in (0, 1], got {min_known}")
    mask = np.asarray(context.mask, dtype=bool)
    return _per_channel(
        degraded,
        lambda ch, c: ksvd_inpaint_channel(
            ch,
            mask,
            sigma,
            gain=gain,
            iterations=iterations,
            training_patches=training,
            stride=stride,
            min_known=min_known,
            seed=context.seed + c,
        ),
    )
