"""Singular-value shrinkage of many small group matrices, compiled (numba + LAPACK).

Each group Y (a × b) becomes X = Y V diag(f(σ)/σ) Vᵀ (tall, a ≥ b) or V diag(f(σ)/σ) Vᵀ Y (wide),
where V Σ² Vᵀ is the eigen-decomposition of the smaller Gram matrix (YᵀY or YYᵀ) — the same
formula as `low_rank.shrink_singular_values`. Why a kernel: the shrinkages used here (singular
value soft-thresholding, WNNM's weighted shrinkage) set every σ below a known threshold to zero, and
WNNM keeps only a handful of the p² directions. So instead of the full eigen-decomposition (numpy's
`eigh`, LAPACK dsyevd, which dominated WNNM's profile), each Gram matrix is reduced to tridiagonal
form (dsytrd), only the eigenpairs above the threshold are computed by MRRR (dstemr, RANGE='V'),
and they are mapped back (dormtr). Same eigenpairs to working precision, a fraction of the work.

LAPACK is reached through scipy's `cython_lapack` exports, registered with LLVM under names of our
own, so the compiled kernel links them by name and can be cached on disk like the other kernels.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import binding
from numba import types
from numba.extending import get_cython_function_address


def _lapack(name: str, n_args: int) -> types.ExternalFunction:
    """LAPACK routine `name` from scipy, as an external symbol numba links by name (so the compiled
    kernel can be cached on disk: the address is registered again at each import)."""
    symbol = f"restorebench_{name}"
    binding.add_symbol(symbol, get_cython_function_address("scipy.linalg.cython_lapack", name))
    return types.ExternalFunction(symbol, types.void(*([types.voidptr] * n_args)))


_dsytrd = _lapack("dsytrd", 10)
_dstemr = _lapack("dstemr", 21)
_dormtr = _lapack("dormtr", 13)
_dstedc = _lapack("dstedc", 11)

SOFT = 0  # f(σ) = max(σ − τ, 0); param = τ
WEIGHTED = 1  # WNNM: f(σ) = (σ + sqrt(σ² − 4C)) / 2 when σ² > 4C else 0; param = C
RELATIVE = 2  # soft-thresholding with τ = param · σ_max(group); param is replaced by that τ


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _count_below(diag, off, x):
    """Eigenvalues of the symmetric tridiagonal (diag, off) below x: the negative pivots of the
    LDLᵀ factorisation of T − x·I (Sturm count), O(r)."""
    below = 0
    q = 1.0
    for j in range(diag.shape[0]):
        q = diag[j] - x - (off[j - 1] * off[j - 1] / q if j else 0.0)
        if q == 0.0:
            q = -1e-300
        if q < 0.0:
            below += 1
    return below


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _largest_eigenvalue(diag, off):
    """The largest eigenvalue of the symmetric tridiagonal (diag, off), by bisection on the Sturm
    count inside the Gershgorin interval, to the last bit."""
    r = diag.shape[0]
    lo, hi = np.inf, -np.inf
    for j in range(r):
        radius = (abs(off[j - 1]) if j else 0.0) + (abs(off[j]) if j < r - 1 else 0.0)
        lo = min(lo, diag[j] - radius)
        hi = max(hi, diag[j] + radius)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _count_below(diag, off, mid) == r:
            hi = mid
        else:
            lo = mid
    return hi


def _shrink_groups_py(groups, grams, mode, params):
    """groups (R, a, b) (centred), grams (R, r, r) their smaller Gram matrices; returns X (R, a, b)."""
    n_ref, a, b = groups.shape
    r = grams.shape[1]
    tall = a >= b
    out = np.zeros_like(groups)
    # LAPACK arguments are passed by reference: one-element arrays.
    c_l = np.array([ord("L")], np.uint8)
    c_v = np.array([ord("V")], np.uint8)
    c_n = np.array([ord("N")], np.uint8)
    n_i = np.array([r], np.int32)
    info = np.zeros(1, np.int32)
    lwork = np.array([64 * r], np.int32)
    work = np.empty(max(64 * r, 18 * r))
    iwork = np.empty(10 * r, np.int32)
    liwork = np.array([10 * r], np.int32)
    diag = np.empty(r)
    off = np.empty(r)
    tau = np.empty(max(r - 1, 1))
    vl = np.empty(1)
    vu = np.empty(1)
    il = np.ones(1, np.int32)
    iu = np.array([r], np.int32)
    m = np.zeros(1, np.int32)
    w = np.empty(r)
    z = np.empty((r, r))  # row j: eigenvector j (column j in LAPACK's column-major view)
    nzc = np.array([r], np.int32)
    isuppz = np.empty(2 * r, np.int32)
    tryrac = np.zeros(1, np.int32)
    c_i = np.array([ord("I")], np.uint8)
    few = max(1, r // 6)
    zfull = np.empty((r, r))
    dc_work = np.empty(1 + 4 * r + r * r)
    dc_lwork = np.array([1 + 4 * r + r * r], np.int32)
    dc_iwork = np.empty(3 + 5 * r, np.int32)
    dc_liwork = np.array([3 + 5 * r], np.int32)
    m_cols = np.zeros(1, np.int32)
    a_mat = np.empty((r, r))
    ratios = np.empty(r)
    for g in range(n_ref):
        a_mat[:, :] = grams[g]
        _dsytrd(
            c_l.ctypes,
            n_i.ctypes,
            a_mat.ctypes,
            n_i.ctypes,
            diag.ctypes,
            off.ctypes,
            tau.ctypes,
            work.ctypes,
            lwork.ctypes,
            info.ctypes,
        )
        if mode == RELATIVE:
            params[g] *= np.sqrt(max(_largest_eigenvalue(diag, off[: r - 1]), 0.0))
        p = params[g]
        # Eigenvalue λ = σ² above which f(σ) > 0, and how many exceed it.
        threshold = 4.0 * p if mode == WEIGHTED else (p * p if p > 0 else 0.0)
        count = r - _count_below(diag, off[: r - 1], threshold)
        if count == 0:
            continue
        if count <= few:
            # A few: MRRR for the top `count` eigenpairs only, mapped back by the reflectors.
            il[0] = r - count + 1
            _dstemr(
                c_v.ctypes,
                c_i.ctypes,
                n_i.ctypes,
                diag.ctypes,
                off.ctypes,
                vl.ctypes,
                vu.ctypes,
                il.ctypes,
                iu.ctypes,
                m.ctypes,
                w.ctypes,
                z.ctypes,
                n_i.ctypes,
                nzc.ctypes,
                isuppz.ctypes,
                tryrac.ctypes,
                work.ctypes,
                lwork.ctypes,
                iwork.ctypes,
                liwork.ctypes,
                info.ctypes,
            )
            count = m[0]
            m_cols[0] = count
            _dormtr(
                c_l.ctypes,
                c_l.ctypes,
                c_n.ctypes,
                n_i.ctypes,
                m_cols.ctypes,
                a_mat.ctypes,
                n_i.ctypes,
                tau.ctypes,
                z.ctypes,
                n_i.ctypes,
                work.ctypes,
                lwork.ctypes,
                info.ctypes,
            )
            vm = z[:count]
            wm = w[:count]
        else:
            # Many: all eigenpairs of the tridiagonal by divide and conquer (as dsyevd), and only
            # the kept ones mapped back by the reflectors.
            _dstedc(
                c_i.ctypes,
                n_i.ctypes,
                diag.ctypes,
                off.ctypes,
                zfull.ctypes,
                n_i.ctypes,
                dc_work.ctypes,
                dc_lwork.ctypes,
                dc_iwork.ctypes,
                dc_liwork.ctypes,
                info.ctypes,
            )
            z[:count] = zfull[r - count :]
            w[:count] = diag[r - count :]
            m_cols[0] = count
            _dormtr(
                c_l.ctypes,
                c_l.ctypes,
                c_n.ctypes,
                n_i.ctypes,
                m_cols.ctypes,
                a_mat.ctypes,
                n_i.ctypes,
                tau.ctypes,
                z.ctypes,
                n_i.ctypes,
                work.ctypes,
                lwork.ctypes,
                info.ctypes,
            )
            vm = z[:count]
            wm = w[:count]
        # Only the kept directions: X = (Y Vₘ) diag(ratio) Vₘᵀ (tall) or Vₘ diag(ratio) (Vₘᵀ Y) (wide).
        for j in range(count):
            sigma = np.sqrt(max(wm[j], 0.0))
            if mode != WEIGHTED:
                shrunk = max(sigma - p, 0.0)
            else:
                disc = sigma * sigma - 4.0 * p
                shrunk = 0.5 * (sigma + np.sqrt(disc)) if disc > 0 else 0.0
            ratios[j] = shrunk / sigma if sigma > 0.0 else 0.0
        if tall:
            t_mat = np.dot(groups[g], vm.T)  # (a, count)
            for j in range(count):
                t_mat[:, j] *= ratios[j]
            out[g] = np.dot(t_mat, vm)
        else:
            t_mat = np.dot(vm, groups[g])  # (count, b)
            for j in range(count):
                t_mat[j] *= ratios[j]
            out[g] = np.dot(vm.T, t_mat)
    return out


def _compile(fn):
    """njit with an on-disk cache where one can be written; in memory otherwise (read-only install)."""
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, error_model="numpy")(fn)


_shrink_groups = _compile(_shrink_groups_py)


def shrink_groups(groups: np.ndarray, mode: int, params: np.ndarray) -> np.ndarray:
    """X = U f(Σ) Vᵀ for every matrix of `groups` (R, a, b); f soft-thresholding (mode SOFT, params =
    τ per group) or WNNM's weighted shrinkage (mode WEIGHTED, params = C per group)."""
    groups = np.ascontiguousarray(groups, dtype=np.float64)
    tall = groups.shape[1] >= groups.shape[2]
    gram = np.swapaxes(groups, 1, 2) @ groups if tall else groups @ np.swapaxes(groups, 1, 2)
    params = np.array(np.broadcast_to(np.asarray(params, dtype=np.float64), (groups.shape[0],)))
    return _shrink_groups(groups, np.ascontiguousarray(gram), mode, params)


def shrink_groups_relative(groups: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Soft-thresholding of every matrix of `groups` at τ = ratio · (its largest singular value);
    returns (X, τ per group)."""
    groups = np.ascontiguousarray(groups, dtype=np.float64)
    tall = groups.shape[1] >= groups.shape[2]
    gram = np.swapaxes(groups, 1, 2) @ groups if tall else groups @ np.swapaxes(groups, 1, 2)
    taus = np.full(groups.shape[0], float(ratio))
    return _shrink_groups(groups, np.ascontiguousarray(gram), RELATIVE, taus), taus
