"""Sparse-representation methods: K-SVD (denoise, inpaint) and sparse-coding super-resolution (SR).

- `ksvd` — Elad & Aharon, "Image denoising via sparse and redundant representations over learned
  dictionaries", IEEE TIP 2006. 8×8 patches, a 64×256 dictionary started from the overcomplete DCT
  and trained on the noisy image's own patches by K-SVD (Aharon, Elad & Bruckstein, IEEE TSP 2006),
  sparse coding by error-constrained OMP (||x − Dα||² ≤ n (C σ)², C = 1.15), and the paper's
  closed-form averaging x̂ = (λ y + Σ Rᵢᵀ D αᵢ) / (λ + Σ Rᵢᵀ Rᵢ) with λ = 30/σ (σ on 0–255).
  For speed: the dictionary is trained on a random subset of patches (as the authors' code does,
  with a smaller cap) for a fixed number of K-SVD iterations; OMP is vectorised over patches
  (Batch-OMP, Rubinstein, Zibulevsky & Elad 2008).
  Inpainting: OMP and K-SVD restricted to each patch's known pixels ("masked OMP"; Mairal, Elad &
  Sapiro, IEEE TIP 2008 for the missing-data K-SVD), the dictionary update fed with the current
  estimate in the missing entries (an EM step), and the missing pixels set to the average of the
  patch reconstructions, each weighted by the square of its patch's known fraction. Pixels no
  usable patch covers (the middle of large holes) keep the normalized-convolution first fill.
- `scsr` — Yang, Wright, Huang & Ma, "Image super-resolution via sparse representation", IEEE TIP
  2010: coupled low/high-resolution dictionaries trained jointly on Train400 (see
  `reference_methods/training/train_scsr.py` and `reference_methods/weights/scsr.md`), L1 sparse
  coding of each bicubic-upscaled patch's gradient features, high-resolution patches from the
  coupled dictionary, averaging of overlaps, then the paper's global back-projection. Differences
  from the paper: patches are coded independently (no sequential overlap term in the coding
  problem, the overlap is averaged instead), and the patch contrast gain is fitted on the training
  set instead of the authors' fixed 1.2. Colour images: SR of the BT.601 luma Y, bicubic chroma.

Array convention: float64, (H, W) gray or (H, W, 3) RGB on [0, 1]; patches are rows of an
(N, p²) matrix (row-major within the patch); dictionaries are (p², K) with unit-norm columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.variational import normalized_convolution_fill

# --------------------------------------------------------------------------------------------------
# Parameter checks


def _check_positive(method: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise MethodError(f"{method}: parameter {name!r} must be a positive number, got {value!r}")
    return float(value)


def _check_count(method: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise MethodError(f"{method}: parameter {name!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------------
# Patches on a grid: positions are the Cartesian product of row starts `ys` and column starts `xs`
# (step `stride`, last position always included so every pixel is covered).


def grid_positions(length: int, patch: int, stride: int) -> np.ndarray:
    """Patch start indices along one axis: 0, stride, 2·stride, …, and always length − patch."""
    if length < patch:
        raise MethodError(f"image side {length} is smaller than the patch size {patch}")
    pos = np.arange(0, length - patch + 1, stride)
    if pos[-1] != length - patch:
        pos = np.append(pos, length - patch)
    return pos


def extract_patches(image: np.ndarray, patch: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Patches of a 2-D image at all (y, x) in ys × xs, as rows: (len(ys) · len(xs), patch²)."""
    out = np.empty((len(ys), len(xs), patch, patch))
    for dy in range(patch):
        for dx in range(patch):
            out[:, :, dy, dx] = image[np.ix_(ys + dy, xs + dx)]
    return out.reshape(len(ys) * len(xs), patch * patch)


def aggregate_patches(
    patches: np.ndarray, patch: int, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Sum patch rows back into an image; return (sum, count of patches covering each pixel)."""
    acc = np.zeros(shape)
    cnt = np.zeros(shape)
    grid = patches.reshape(len(ys), len(xs), patch, patch)
    for dy in range(patch):
        rows = ys + dy
        for dx in range(patch):
            idx = np.ix_(rows, xs + dx)
            # Within one offset the target pixels are distinct, so fancy-index += is exact.
            acc[idx] += grid[:, :, dy, dx]
            cnt[idx] += 1.0
    return acc, cnt


# --------------------------------------------------------------------------------------------------
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
    scalar or one per signal) or it has max_atoms atoms (default n). Returns codes (K, N).
    """
    n, k_atoms = dictionary.shape
    n_sig = signals.shape[1]
    limit = n if max_atoms is None else min(max_atoms, n, k_atoms)
    gram = dictionary.T @ dictionary
    corr0 = dictionary.T @ signals  # (K, N)
    energy = np.einsum("ij,ij->j", signals, signals)
    tol = np.zeros(n_sig) if tol_sq is None else np.broadcast_to(np.asarray(tol_sq, float), (n_sig,))
    codes = np.zeros((k_atoms, n_sig))
    active = np.flatnonzero(energy > tol)
    support = np.zeros((n_sig, limit), dtype=np.intp)
    coefs = np.zeros((n_sig, 0))
    for step in range(limit):
        if active.size == 0:
            break
        c0 = corr0[:, active].T  # (A, K)
        s_act = support[active, :step]
        if step:
            # residual correlations: Dᵀx − G[:, S] γ
            g_cols = gram[:, s_act].transpose(1, 2, 0)  # (A, step, K)
            resid_corr = np.abs(c0 - np.einsum("as,ask->ak", coefs, g_cols))
            # never reselect an atom (its residual correlation is zero up to rounding)
            np.put_along_axis(resid_corr, s_act, -1.0, axis=1)
        else:
            resid_corr = np.abs(c0)
        best = np.argmax(resid_corr, axis=1)
        support[active, step] = best
        s_act = support[active, : step + 1]
        g_ss = gram[s_act[:, :, None], s_act[:, None, :]]  # (A, s, s)
        rhs = np.take_along_axis(c0, s_act, axis=1)
        coefs = np.linalg.solve(g_ss, rhs[..., None])[..., 0]
        resid = energy[active] - np.einsum("as,as->a", rhs, coefs)
        # The second test is the floor of this residual formula's rounding error.
        done = (resid <= tol[active]) | (resid <= 1e-12 * energy[active]) | (step + 1 == limit)
        if done.any():
            idx = active[done]
            codes[s_act[done], idx[:, None]] = coefs[done]
        keep = ~done
        active = active[keep]
        coefs = coefs[keep]
    return codes


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
    gain = _check_positive("ksvd", "gain", p["gain"])
    iterations = _check_count("ksvd", "iterations", p["iterations"], minimum=0)
    training = _check_count("ksvd", "training_patches", p["training_patches"], minimum=256)
    stride = _check_count("ksvd", "stride", p["stride"])
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
        lam_factor = _check_positive("ksvd", "lam_factor", p["lam_factor"])
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
    min_known = _check_positive("ksvd", "min_known", p["min_known"])
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


# --------------------------------------------------------------------------------------------------
# L1 sparse coding (the lasso), vectorised over signals


def lasso(
    dictionary: np.ndarray,
    signals: np.ndarray,
    lam: float,
    *,
    working_set: int = 64,
) -> np.ndarray:
    """Solve min_α ½||x − Dα||² + λ||α||₁ exactly for every column x of `signals`; codes (K, N).

    dictionary (m, K); signals (m, N). Yang et al. use feature-sign search, one signal at a time;
    here every signal follows the LARS–lasso homotopy path (`_lars_lasso`) from λ_max down to λ,
    all signals together. For speed each signal first works with its `working_set` atoms most
    correlated with it; the result is then checked against the optimality conditions on every
    atom (|Dᵀ(x − Dα)|_j ≤ λ where α_j = 0), and the signals that violate them are solved again
    over the whole dictionary, so the answer is the solution of the full problem.
    """
    k_atoms = dictionary.shape[1]
    gram = dictionary.T @ dictionary
    corr = (dictionary.T @ signals).T  # (N, K)
    codes = np.zeros((signals.shape[1], k_atoms))
    todo = np.flatnonzero(np.abs(corr).max(axis=1) > lam) if k_atoms else np.zeros(0, dtype=np.intp)
    size = min(working_set, k_atoms)
    for start in range(0, todo.size, 2048):
        part = todo[start : start + 2048]
        sets = np.argpartition(-np.abs(corr[part]), size - 1, axis=1)[:, :size]
        beta = _lars_lasso(
            np.take_along_axis(corr[part], sets, axis=1),
            gram[sets[:, :, None], sets[:, None, :]],
            lam,
            dictionary.shape[0],
        )
        full = np.zeros((part.size, k_atoms))
        np.put_along_axis(full, sets, beta, axis=1)
        codes[part] = full
    if size < k_atoms and todo.size:
        grad = corr[todo] - codes[todo] @ gram
        bad = todo[((np.abs(grad) > lam * (1.0 + 1e-9) + 1e-12) & (codes[todo] == 0)).any(axis=1)]
        for start in range(0, bad.size, 256):
            part = bad[start : start + 256]
            codes[part] = _lars_lasso(corr[part], gram, lam, dictionary.shape[0])
    return codes.T


def _lars_lasso(corr: np.ndarray, gram: np.ndarray, lam: float, rank: int) -> np.ndarray:
    """The LARS–lasso homotopy, batched: corr (N, T) = Dᵀx; gram = DᵀD, shared (T, T) or per
    signal (N, T, T).

    Efron, Hastie, Johnstone & Tibshirani (2004) with the lasso modification (Osborne, Presnell &
    Turlach 2000). From λ_max = max|c| the active atoms A keep equal absolute correlation C with
    the residual while the coefficients move along d = G_AA⁻¹ sign(c_A); each step goes to the
    next event: an inactive atom's correlation reaches ±C (it joins), an active coefficient
    reaches 0 (it leaves), or C reaches λ (done). The path is piecewise linear, so the result is
    exact to rounding. At most min(rank, T) atoms are active (a signal reaching it stops there).
    Returns the coefficients (N, T).
    """
    n_sig, size = corr.shape
    smax = min(rank, size)
    out = np.zeros((n_sig, size))
    rows = np.arange(n_sig)
    c = corr.copy()
    big_c = np.abs(c).max(axis=1) if size else np.zeros(n_sig)
    keep0 = big_c > lam
    shared = gram.ndim == 2
    rows, c, big_c = rows[keep0], c[keep0], big_c[keep0]
    g = gram if shared else gram[keep0]
    slots = np.zeros((rows.size, smax), dtype=np.intp)
    valid = np.zeros((rows.size, smax), dtype=bool)
    beta = np.zeros((rows.size, smax))
    slots[:, 0] = np.argmax(np.abs(c), axis=1)
    valid[:, 0] = True
    eps = 1e-12
    for _ in range(8 * smax + 8):
        if rows.size == 0:
            break
        r = np.arange(rows.size)
        used = int(np.flatnonzero(valid.any(axis=0)).max()) + 1
        idx, v = slots[:, :used], valid[:, :used]
        sign = np.sign(np.take_along_axis(c, idx, axis=1)) * v
        g_rows = g[idx] if shared else np.take_along_axis(g, idx[:, :, None], axis=1)  # (A, used, T)
        g_aa = np.take_along_axis(g_rows, idx[:, None, :], axis=2)
        g_aa = np.where(v[:, :, None] & v[:, None, :], g_aa, np.eye(used))  # unused slots: identity
        d = np.linalg.solve(g_aa, sign[..., None])[..., 0] * v
        a = (d[:, None, :] @ g_rows)[:, 0]  # rate of change of every correlation, (A, T)
        in_set = np.zeros(c.shape, dtype=bool)
        for slot in range(used):
            in_set[r, idx[:, slot]] |= v[:, slot]
        cc = big_c[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            g1 = (cc - c) / (1.0 - a)
            g2 = (cc + c) / (1.0 + a)
            g_drop = np.where(v & (d != 0), -beta[:, :used] / d, np.inf)
        g_add = np.minimum(np.where(g1 > eps, g1, np.inf), np.where(g2 > eps, g2, np.inf))
        g_add[in_set] = np.inf
        g_drop = np.where(g_drop > eps, g_drop, np.inf)
        j_add = np.argmin(g_add, axis=1)
        s_drop = np.argmin(g_drop, axis=1)
        gam_add, gam_drop = g_add[r, j_add], g_drop[r, s_drop]
        gam_lam = big_c - lam
        gamma = np.minimum(np.minimum(gam_add, gam_drop), gam_lam)
        beta[:, :used] += gamma[:, None] * d
        c -= gamma[:, None] * a
        big_c -= gamma
        finish = gam_lam <= np.minimum(gam_add, gam_drop)
        drop = ~finish & (gam_drop < gam_add)
        add = ~finish & ~drop
        valid[r[drop], s_drop[drop]] = False
        beta[r[drop], s_drop[drop]] = 0.0
        free = np.argmin(valid, axis=1)
        full = valid.all(axis=1)
        finish |= add & full
        add &= ~full
        slots[r[add], free[add]] = j_add[add]
        valid[r[add], free[add]] = True
        if finish.any():
            fin = np.flatnonzero(finish)
            for slot in range(smax):
                sel = valid[fin, slot]
                out[rows[fin[sel]], slots[fin[sel], slot]] = beta[fin[sel], slot]
            keep = ~finish
            rows, c, big_c = rows[keep], c[keep], big_c[keep]
            slots, valid, beta = slots[keep], valid[keep], beta[keep]
            g = g if shared else g[keep]
    return out


# --------------------------------------------------------------------------------------------------
# Sparse-coding super-resolution (Yang et al. 2010)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# First- and second-order derivative filters of Yang et al. (2010), §III-C, applied to the bicubic
# upscaled image along rows and along columns.
_D1 = np.array([-1.0, 0.0, 1.0])
_D2 = np.array([1.0, 0.0, -2.0, 0.0, 1.0])


def scsr_features(mid: np.ndarray) -> np.ndarray:
    """The four derivative maps of a 2-D image (H, W) -> (4, H, W) (reflecting boundary)."""
    from scipy import ndimage

    return np.stack(
        [
            ndimage.correlate1d(mid, _D1, axis=1, mode="reflect"),
            ndimage.correlate1d(mid, _D1, axis=0, mode="reflect"),
            ndimage.correlate1d(mid, _D2, axis=1, mode="reflect"),
            ndimage.correlate1d(mid, _D2, axis=0, mode="reflect"),
        ]
    )


def scsr_feature_patches(features: np.ndarray, patch: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Feature vectors (N, 4 patch²): the four maps' patches concatenated."""
    return np.concatenate([extract_patches(f, patch, ys, xs) for f in features], axis=1)


def upscale_bicubic(lr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB-compatible bicubic upscaling (the SR papers' interpolation), float in, float out."""
    from benchdata.resize import imresize

    return imresize(lr, float(scale))


@dataclass(frozen=True)
class CoupledDictionary:
    """A trained SCSR model: high- and low-resolution dictionaries sharing one sparse code.

    dh: (patch², K) high-resolution patch atoms (mean removed), unit columns;
    dl: (4 patch², K) atoms of the derivative features of the upscaled low-resolution patch;
    gain: ||HR patch − mean|| ≈ gain · ||upscaled patch − mean||, fitted on the training pairs.
    """

    scale: int
    patch: int
    dh: np.ndarray
    dl: np.ndarray
    gain: float
    lam_train: float
    path: Path | None = None


def load_coupled_dictionary(scale: int, path: Path | None = None) -> CoupledDictionary:
    """Load the committed dictionary for `scale` (reference_methods/weights/scsr_x{scale}.npz)."""
    path = WEIGHTS_DIR / f"scsr_x{scale}.npz" if path is None else Path(path)
    if not path.is_file():
        raise MethodError(
            f"scsr: no trained coupled dictionary for x{scale} at {path}; train it with "
            f"`python -m reference_methods.training.train_scsr --scale {scale}` "
            "(see reference_methods/weights/scsr.md)"
        )
    with np.load(path, allow_pickle=False) as data:
        try:
            model = CoupledDictionary(
                scale=int(data["scale"]),
                patch=int(data["patch"]),
                dh=data["dh"].astype(np.float64),
                dl=data["dl"].astype(np.float64),
                gain=float(data["gain"]),
                lam_train=float(data["lam"]),
                path=path,
            )
        except KeyError as exc:
            raise MethodError(f"scsr: {path} is not a coupled dictionary file (missing {exc})") from None
    if model.scale != scale or model.dh.shape[0] != model.patch**2 or model.dl.shape[0] != 4 * model.patch**2:
        raise MethodError(
            f"scsr: {path} holds an inconsistent dictionary (scale {model.scale}, patch {model.patch})"
        )
    return model


def back_projection(hr: np.ndarray, lr: np.ndarray, scale: int, iterations: int) -> np.ndarray:
    """Yang et al.'s global reconstruction constraint (their eq. 8, by iterative back-projection).

    X ← X + p ∗ up(Y − down(X)), with down/up the MATLAB bicubic resize and p the authors'
    back-projection filter (5×5 Gaussian, σ = 1, squared and renormalised). 2-D arrays.
    """
    from scipy import ndimage

    from benchdata.resize import imresize

    x = np.arange(-2, 3)
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / 2.0)
    g = g / g.sum()
    p = g**2
    p /= p.sum()
    out = hr.copy()
    for _ in range(iterations):
        diff = lr - imresize(out, 1.0 / scale)
        out = out + ndimage.convolve(imresize(diff, float(scale)), p, mode="reflect")
    return out


def scsr_upscale(
    lr: np.ndarray,
    model: CoupledDictionary,
    *,
    lam: float,
    stride: int,
    bp_iterations: int,
    chunk: int = 4096,
) -> np.ndarray:
    """Super-resolve one 2-D channel `lr` on the 0–255 scale; return the (scale·H, scale·W) image."""
    s, p = model.scale, model.patch
    mid = upscale_bicubic(lr, s)
    feats = scsr_features(mid)
    ys, xs = grid_positions(mid.shape[0], p, stride), grid_positions(mid.shape[1], p, stride)
    acc = np.zeros(mid.shape)
    cnt = np.zeros(mid.shape)
    rows_per_chunk = max(1, chunk // len(xs))
    for start in range(0, len(ys), rows_per_chunk):
        band = ys[start : start + rows_per_chunk]
        m_patches = extract_patches(mid, p, band, xs)
        mean = m_patches.mean(axis=1, keepdims=True)
        m_norm = np.linalg.norm(m_patches - mean, axis=1)
        y = scsr_feature_patches(feats, p, band, xs)
        y_norm = np.linalg.norm(y, axis=1)
        # As in the authors' code: normalise feature vectors of norm > 1, keep weak ones as they are.
        y = y / np.maximum(y_norm, 1.0)[:, None]
        codes = lasso(model.dl, y.T, lam)
        h = (model.dh @ codes).T
        h_norm = np.linalg.norm(h, axis=1)
        scale_to = np.where(h_norm > 1e-12, model.gain * m_norm / np.maximum(h_norm, 1e-12), 0.0)
        # A zero code gives no detail: fall back to the interpolated patch there.
        h = np.where((h_norm > 1e-12)[:, None], h * scale_to[:, None], m_patches - mean)
        a, c = aggregate_patches(h + mean, p, band, xs, mid.shape)
        acc += a
        cnt += c
    hr = acc / cnt
    return back_projection(hr, lr, s, bp_iterations) if bp_iterations else hr


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 YCbCr as MATLAB's rgb2ycbcr, for RGB on [0, 1]; output on the 0–255 scale."""
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    return rgb @ m.T + np.array([16.0, 128.0, 128.0])


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_ycbcr`: YCbCr on 0–255 to RGB on [0, 1]."""
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    return (ycc - np.array([16.0, 128.0, 128.0])) @ np.linalg.inv(m).T


def _scsr_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"lam": 0.2, "stride": 2, "bp_iterations": 20}


@register_method(
    "scsr",
    family="sparse",
    tasks=("sr",),
    scales=(2, 3, 4),
    citation="Yang, Wright, Huang & Ma, Image super-resolution via sparse representation, IEEE TIP 2010",
    defaults=_scsr_defaults,
)
def scsr(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Sparse-coding SR: coupled LR/HR dictionaries (trained on Train400), L1 codes, back-projection."""
    p = get_method("scsr").parameters(context)
    lam = _check_positive("scsr", "lam", p["lam"])
    stride = _check_count("scsr", "stride", p["stride"])
    bp = _check_count("scsr", "bp_iterations", p["bp_iterations"], minimum=0)
    scale = int(context.scale)
    model = load_coupled_dictionary(scale)
    if stride > model.patch:
        raise MethodError(
            f"scsr: parameter 'stride' must be at most the patch size {model.patch}, got {stride}"
        )
    if min(degraded.shape[:2]) * scale < model.patch:
        raise MethodError(
            f"scsr: the image {degraded.shape[:2]} is too small for x{scale} patches of {model.patch}"
        )
    if degraded.ndim == 2:
        return scsr_upscale(degraded * 255.0, model, lam=lam, stride=stride, bp_iterations=bp) / 255.0
    ycc = rgb_to_ycbcr(degraded)
    y = scsr_upscale(ycc[..., 0], model, lam=lam, stride=stride, bp_iterations=bp)
    chroma = upscale_bicubic(ycc[..., 1:], scale)
    return ycbcr_to_rgb(np.concatenate([y[..., None], chroma], axis=-1))
