"""OMP as it was before the compiled kernels (numpy Batch-OMP over all signals
at once), kept as the test-only reference the fast paths are checked against
(tests/reference_methods/test_sparse.py). A verbatim copy of the previous `omp`.
"""

from __future__ import annotations

import numpy as np


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
