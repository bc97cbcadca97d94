"""The previous numpy LARS–lasso of SCSR (batched over signals), kept as a test-only reference.

`reference_methods.scsr.lasso` now runs the homotopy per signal in a compiled kernel
(`reference_methods.lasso_kernels`); tests compare it with this code, and bench/bench_speedups.py
times the two back to back.
"""

from __future__ import annotations

import numpy as np


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
