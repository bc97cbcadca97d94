"""Compiled CPU kernel (numba) for the LARS–lasso homotopy, one signal at a time (`scsr.lasso`).

Why compiled: SCSR codes every overlapping patch of the upscaled image (about 63 000 at 512×512),
and the numpy version advanced all of them together: at every homotopy step it gathered
(signals × active × atoms) Gram blocks, solved a batch of systems padded to the largest active
set and rebuilt boolean masks over the whole batch, so most of its time went to indexing and
padding. Here each signal follows its own path on small vectors.

Same algorithm, same event rules and tolerances, the same slot bookkeeping (a leaving atom frees
its slot, a joining one takes the lowest free slot, unused slots are identity rows in G_AA) and
the same LU solve per step, so the codes agree with the numpy version to rounding (the lasso
solution is unique for a dictionary in general position; tested against the previous code).
"""

from __future__ import annotations

import numba
import numpy as np


def _compile(fn):
    """njit with an on-disk cache where one can be written; in memory otherwise (read-only install)."""
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, error_model="numpy")(fn)


def _lars_lasso(corr, gram, sets, lam, rank):
    """LARS–lasso of every signal over its working set: corr (N, K) = DᵀX, gram = DᵀD (K, K), sets
    (N, T) the atoms each signal works with. Returns the codes (N, K) and, per signal, whether the
    solution violates the optimality conditions on an atom outside its working set
    (|Dᵀ(x − Dα)|_j > λ with α_j = 0: it must be solved again over the whole dictionary)."""
    n_sig, size = sets.shape
    k_atoms = corr.shape[1]
    smax = min(rank, size)
    out = np.zeros((n_sig, k_atoms))
    violated = np.zeros(n_sig, np.bool_)
    c = np.empty(size)
    a = np.empty(size)
    grad = np.empty(k_atoms)
    slots = np.zeros(smax, np.int64)
    valid = np.zeros(smax, np.bool_)
    beta = np.zeros(smax)
    work = np.empty((smax, smax + 1))  # G_AA | sign(c_A), then the direction d in the last column
    rows = np.empty((smax, size))  # per slot, its atom's Gram row over the working set
    in_set = np.zeros(size, np.bool_)
    for i in range(n_sig):
        big_c = 0.0
        for j in range(size):
            c[j] = corr[i, sets[i, j]]
            big_c = max(big_c, abs(c[j]))
        if not big_c > lam:
            continue
        valid[:] = False
        beta[:] = 0.0
        slots[0] = np.argmax(np.abs(c))
        _gather_row(gram, sets[i], slots[0], rows[0])
        valid[0] = True
        for _ in range(8 * smax + 8):
            finish, gamma = _lars_step_compiled(
                c, a, gram, sets[i], slots, valid, beta, big_c, lam, work, in_set, rows
            )
            big_c -= gamma
            if finish:
                break
        grad[:] = corr[i]
        for s in range(smax):
            if valid[s]:
                atom = sets[i, slots[s]]
                out[i, atom] = beta[s]
                row = gram[atom]
                for j in range(k_atoms):
                    grad[j] -= beta[s] * row[j]
        for j in range(k_atoms):
            if out[i, j] == 0.0 and abs(grad[j]) > lam * (1.0 + 1e-9) + 1e-12:
                violated[i] = True
                break
    return out, violated


def _solve_in_place(work, n):
    """Solve work[:n, :n] x = work[:n, n] by Gaussian elimination with partial pivoting (what
    LAPACK's gesv does, unblocked: these systems are at most a few dozen wide); x lands in
    work[:n, n]. Written out because np.linalg.solve's copies and checks cost more than the
    arithmetic at this size."""
    for k in range(n):
        p = k
        for r in range(k + 1, n):
            if abs(work[r, k]) > abs(work[p, k]):
                p = r
        if p != k:
            for col in range(k, n + 1):
                work[k, col], work[p, col] = work[p, col], work[k, col]
        for r in range(k + 1, n):
            f = work[r, k] / work[k, k]
            for col in range(k + 1, n + 1):
                work[r, col] -= f * work[k, col]
    for k in range(n - 1, -1, -1):
        acc = work[k, n]
        for col in range(k + 1, n):
            acc -= work[k, col] * work[col, n]
        work[k, n] = acc / work[k, k]


def _gather_row(gram, atoms, atom, row):
    """row = G[atoms[atom], atoms]: gathered once when the atom joins, not at every step."""
    src = gram[atoms[atom]]
    for j in range(row.size):
        row[j] = src[atoms[j]]


def _lars_step(c, a, gram, atoms, slots, valid, beta, big_c, lam, work, in_set, rows):
    """One homotopy step in place (c, a, slots, valid, beta); returns (finished, step length γ).

    Direction d = G_AA⁻¹ sign(c_A); a = d G_A· is the rate of change of every correlation; γ is the
    first event: an inactive atom reaching ±C (joins), an active coefficient reaching 0 (leaves),
    or C reaching λ (done)."""
    eps = 1e-12
    size = c.size
    used = 0
    for s in range(valid.size):
        if valid[s]:
            used = s + 1
    for s in range(used):
        work[s, used] = np.sign(c[slots[s]]) if valid[s] else 0.0
        for t in range(used):
            if valid[s] and valid[t]:
                work[s, t] = rows[s, slots[t]]
            else:  # unused slots: identity rows, decoupled
                work[s, t] = 1.0 if s == t else 0.0
    _solve_in_place(work, used)
    d = work[:used, used]
    a[:] = 0.0
    for s in range(used):
        if not valid[s]:
            d[s] = 0.0
            continue
        row = rows[s]
        for j in range(size):
            a[j] += d[s] * row[j]
    in_set[:] = False  # active atoms cannot join again
    for s in range(used):
        in_set[slots[s]] = valid[s] or in_set[slots[s]]
    gam_add, j_add = np.inf, 0
    for j in range(size):
        if in_set[j]:
            continue
        g1 = (big_c - c[j]) / (1.0 - a[j])
        g2 = (big_c + c[j]) / (1.0 + a[j])
        g = min(g1 if g1 > eps else np.inf, g2 if g2 > eps else np.inf)
        if g < gam_add:
            gam_add, j_add = g, j
    gam_drop, s_drop = np.inf, 0
    for s in range(used):
        if valid[s] and d[s] != 0.0:
            g = -beta[s] / d[s]
            if g > eps and g < gam_drop:
                gam_drop, s_drop = g, s
    gam_lam = big_c - lam
    gamma = min(min(gam_add, gam_drop), gam_lam)
    for s in range(used):
        beta[s] += gamma * d[s]
    for j in range(size):
        c[j] -= gamma * a[j]
    if gam_lam <= min(gam_add, gam_drop):
        return True, gamma
    if gam_drop < gam_add:
        valid[s_drop] = False
        beta[s_drop] = 0.0
        return False, gamma
    for s in range(valid.size):
        if not valid[s]:
            slots[s] = j_add
            _gather_row(gram, atoms, j_add, rows[s])
            valid[s] = True
            return False, gamma
    return True, gamma  # the active set is full (rank reached)


_gather_row = _compile(_gather_row)
_solve_in_place = _compile(_solve_in_place)
_lars_step_compiled = _compile(_lars_step)
lars_lasso = _compile(_lars_lasso)
