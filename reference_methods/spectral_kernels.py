"""Singular-value shrinkage of many small group matrices, compiled (numba + LAPACK).

Each group Y (a × b) becomes X = Y V diag(f(σ)/σ) Vᵀ (tall, a ≥ b) or V diag(f(σ)/σ) Vᵀ Y (wide),
where V Σ² Vᵀ is the eigen-decomposition of the smaller Gram matrix (YᵀY or YYᵀ) — the same
formula as `patch_groups.shrink_singular_values`. Why a kernel: the shrinkages used here (singular
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


_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def _int(value):
    """A one-element int32 array (LAPACK takes every argument by reference)."""
    return np.full(1, value, np.int32)


@numba.njit(**_JIT)
def _char(code):
    """A one-element character argument, `code` = ord(letter)."""
    return np.full(1, code, np.uint8)


@numba.njit(**_JIT)
def _tridiagonalise(a_mat, diag, off, tau, work):
    """dsytrd: a_mat (r, r) symmetric → tridiagonal (diag, off) and the reflectors (in a_mat, tau)."""
    r = a_mat.shape[0]
    n_i, info = _int(r), _int(0)
    lwork = _int(work.shape[0])
    _dsytrd(_char(ord("L")).ctypes, n_i.ctypes, a_mat.ctypes, n_i.ctypes, diag.ctypes,
            off.ctypes, tau.ctypes, work.ctypes, lwork.ctypes, info.ctypes)  # fmt: skip


@numba.njit(**_JIT)
def _top_by_mrrr(diag, off, count, w, z, work, iwork):
    """dstemr: the `count` largest eigenpairs of the tridiagonal into w, z (rows); False on failure."""
    r = diag.shape[0]
    n_i, info, m = _int(r), _int(0), _int(0)
    c_v = _char(ord("V"))
    il, iu = _int(r - count + 1), _int(r)
    unused = np.zeros(1)
    _dstemr(c_v.ctypes, _char(ord("I")).ctypes, n_i.ctypes, diag.ctypes, off.ctypes,
            unused.ctypes, unused.ctypes, il.ctypes, iu.ctypes, m.ctypes, w.ctypes, z.ctypes, n_i.ctypes,
            n_i.ctypes, iwork[: 2 * r].ctypes, _int(0).ctypes, work.ctypes,
            _int(work.shape[0]).ctypes, iwork[2 * r :].ctypes,
            _int(iwork.shape[0] - 2 * r).ctypes, info.ctypes)  # fmt: skip
    return info[0] == 0 and m[0] == count


@numba.njit(**_JIT)
def _top_by_divide_and_conquer(diag, off, count, w, z, z_full, work, iwork):
    """dstedc: every eigenpair of the tridiagonal; the `count` largest copied into w, z (rows)."""
    r = diag.shape[0]
    n_i, info = _int(r), _int(0)
    _dstedc(_char(ord("I")).ctypes, n_i.ctypes, diag.ctypes, off.ctypes, z_full.ctypes,
            n_i.ctypes, work.ctypes, _int(work.shape[0]).ctypes, iwork.ctypes,
            _int(iwork.shape[0]).ctypes, info.ctypes)  # fmt: skip
    if info[0] != 0:
        raise RuntimeError("spectral_kernels: LAPACK dstedc did not converge")
    z[:count] = z_full[r - count :]
    w[:count] = diag[r - count :]


@numba.njit(**_JIT)
def _back_transform(a_mat, tau, z, count, work):
    """dormtr: rows 0..count of z (eigenvectors of the tridiagonal) ← Q z, Q from the reflectors."""
    r = a_mat.shape[0]
    c_l = _char(ord("L"))
    n_i, info = _int(r), _int(0)
    _dormtr(c_l.ctypes, c_l.ctypes, _char(ord("N")).ctypes, n_i.ctypes,
            _int(count).ctypes, a_mat.ctypes, n_i.ctypes, tau.ctypes, z.ctypes, n_i.ctypes,
            work.ctypes, _int(work.shape[0]).ctypes, info.ctypes)  # fmt: skip


@numba.njit(**_JIT)
def _apply_shrinkage(y, vm, wm, mode, p, tall):
    """X = (Y Vₘ) diag(f(σ)/σ) Vₘᵀ (tall) or Vₘ diag(f(σ)/σ) (Vₘᵀ Y) (wide), σ = sqrt(wm)."""
    count = wm.shape[0]
    ratios = np.empty(count)
    for j in range(count):
        sigma = np.sqrt(max(wm[j], 0.0))
        if mode != WEIGHTED:
            shrunk = max(sigma - p, 0.0)
        else:
            disc = sigma * sigma - 4.0 * p
            shrunk = 0.5 * (sigma + np.sqrt(disc)) if disc > 0 else 0.0
        ratios[j] = shrunk / sigma if sigma > 0.0 else 0.0
    if tall:
        t_mat = np.dot(y, vm.T)  # (a, count)
        for j in range(count):
            t_mat[:, j] *= ratios[j]
        return np.dot(t_mat, vm)
    t_mat = np.dot(vm, y)  # (count, b)
    for j in range(count):
        t_mat[j] *= ratios[j]
    return np.dot(vm.T, t_mat)


def _shrink_groups_py(groups, grams, mode, params):
    """groups (R, a, b) (centred), grams (R, r, r) their smaller Gram matrices; returns X (R, a, b).
    mode RELATIVE replaces params[g] by the threshold it used."""
    n_ref, a, b = groups.shape
    r = grams.shape[1]
    out = np.zeros_like(groups)
    diag, off, tau = np.empty(r), np.empty(r), np.empty(max(r - 1, 1))
    d_copy, e_copy = np.empty(r), np.empty(r)
    w, z, z_full = np.empty(r), np.empty((r, r)), np.empty((r, r))
    a_mat = np.empty((r, r))
    work = np.empty(max(64 * r, 1 + 4 * r + r * r))
    iwork = np.empty(3 + 12 * r, np.int32)  # dstemr: ISUPPZ (2r) then IWORK (≥ 10r)
    few = max(1, r // 6)
    for g in range(n_ref):
        a_mat[:, :] = grams[g]
        _tridiagonalise(a_mat, diag, off, tau, work)
        if mode == RELATIVE:
            params[g] *= np.sqrt(max(_largest_eigenvalue(diag, off[: r - 1]), 0.0))
        p = params[g]
        # Eigenvalue λ = σ² above which f(σ) > 0, and how many exceed it (Sturm count, O(r)).
        threshold = 4.0 * p if mode == WEIGHTED else (p * p if p > 0 else 0.0)
        count = r - _count_below(diag, off[: r - 1], threshold)
        if count == 0:
            continue
        d_copy[:] = diag
        e_copy[:] = off
        # A few: MRRR for the wanted eigenpairs only; many (or MRRR failing): divide and conquer.
        if not (count <= few and _top_by_mrrr(d_copy, e_copy, count, w, z, work, iwork)):
            _top_by_divide_and_conquer(diag, off, count, w, z, z_full, work, iwork)
        _back_transform(a_mat, tau, z, count, work)
        out[g] = _apply_shrinkage(groups[g], z[:count], w[:count], mode, p, a >= b)
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
