"""Where the patch-group methods (`wnnm`, `nnm`, `lowrank_completion`) spend their time.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. nice -n 10 .venv/bin/python \
        bench/profile_low_rank.py [--size 128] [--methods wnnm nnm lowrank_completion]

Part 1: each method's run on a crop of scikit-image's `camera` (the bench_methods degradations)
under cProfile; each compiled kernel is one entry, so the table is the per-kernel split.
Part 2: the cost per group of each stage of the singular-value shrinkage and of the alternatives
(numpy / torch batched `eigh`, single precision), on 1024 synthetic 80 × 49 groups (rank 2 plus
σ = 25 noise, centred: the shape of WNNM's groups at σ = 25). Numba compilation is excluded.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdata.degradations import degrade  # noqa: E402
from reference_methods import matrix_completion, wnnm  # noqa: E402
from reference_methods import spectral_kernels as K  # noqa: E402


def _method_runs(size: int) -> dict[str, Callable[[], np.ndarray]]:
    c0 = 256 - size // 2
    clean = data.camera()[c0 : c0 + size, c0 : c0 + size].astype(np.float64) / 255.0
    noisy = degrade(clean, {"task": "denoise", "sigma": 25}, 1).image * 255.0
    case = degrade(clean, {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}}, 1)
    schedule = wnnm.wnnm_schedule(25.0)
    return {
        "wnnm": lambda: wnnm.group_denoise(noisy, 25.0, schedule, weighted=True),
        "nnm": lambda: wnnm.group_denoise(noisy, 25.0, schedule, weighted=False, nnm_lambda=0.3),
        "lowrank_completion": lambda: matrix_completion.lowrank_complete(case.image * 255.0, case.mask),
    }


def profile_methods(size: int, methods: list[str]) -> None:
    runs = _method_runs(size)
    warm = np.random.default_rng(0).random((24, 24)) * 255.0
    wnnm.group_denoise(warm, 25.0, wnnm.GroupSchedule(6, 20, 1, 0.5, 2, window=5), weighted=True)
    matrix_completion.lowrank_complete(warm, warm > 200, outer=1, inner=1)
    for name in methods:
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(runs[name])
        total = time.perf_counter() - start
        print(f"\n## {name}, {size}×{size}: {total:.1f} s (load average {os.getloadavg()[0]:.1f})")
        stats = pstats.Stats(profiler)
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
        for (path, _, func), (_, calls, tottime, _, _) in rows[:8]:
            share = 100 * tottime / total
            print(f"  {tottime:6.2f} s  {share:4.0f}%  {calls:5d} calls  {Path(path).name}:{func}")


@numba.njit(cache=False)
def _stages(grams: np.ndarray, count: int, stage: int) -> None:
    """Run the shrinkage kernel's LAPACK stages on every Gram matrix, up to `stage`:
    0 dsytrd; 1 + dstemr (`count` largest pairs); 2 + dstedc (all pairs); 3 + dstedc + dormtr."""
    r = grams.shape[1]
    diag, off, tau = np.empty(r), np.empty(r), np.empty(r)
    w, z, z_full, a_mat = np.empty(r), np.empty((r, r)), np.empty((r, r)), np.empty((r, r))
    work = np.empty(max(64 * r, 1 + 4 * r + r * r))
    iwork = np.empty(3 + 12 * r, np.int32)
    for g in range(grams.shape[0]):
        a_mat[:, :] = grams[g]
        K._tridiagonalise(a_mat, diag, off, tau, work)
        if stage == 1:
            K._top_by_mrrr(diag.copy(), off.copy(), count, w, z, work, iwork)
        elif stage >= 2:
            K._top_by_divide_and_conquer(diag, off, count, w, z, z_full, work, iwork)
        if stage == 3:
            K._back_transform(a_mat, tau, z, count, work)


def profile_stages() -> None:
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n_groups, k, n = 1024, 80, 49
    y = rng.standard_normal((n_groups, k, 2)) @ (30 * rng.standard_normal((n_groups, 2, n)))
    y += 25 * rng.standard_normal((n_groups, k, n))
    y -= y.mean(axis=1, keepdims=True)
    gram = np.ascontiguousarray(np.swapaxes(y, 1, 2) @ y)
    params = np.full(n_groups, 8 * np.sqrt(2 * k) * 12.0**2)
    cases: dict[str, Callable[[], object]] = {
        "Gram matrices (numpy batched matmul)": lambda: np.swapaxes(y, 1, 2) @ y,
        "dsytrd (tridiagonalisation)": lambda: _stages(gram, 5, 0),
        "dsytrd + dstemr, 5 largest pairs": lambda: _stages(gram, 5, 1),
        "dsytrd + dstemr, 20 largest pairs": lambda: _stages(gram, 20, 1),
        "dsytrd + dstedc (all pairs)": lambda: _stages(gram, 20, 2),
        "dsytrd + dstedc + dormtr (20 vectors)": lambda: _stages(gram, 20, 3),
        "whole kernel, WNNM shrinkage (σ_g = 12)": lambda: K.shrink_groups(y, K.WEIGHTED, params),
        "numpy eigh (batched, dsyevd)": lambda: np.linalg.eigh(gram),
        "torch.linalg.eigh (batched, CPU)": lambda: torch.linalg.eigh(torch.from_numpy(gram)),
        "numpy eigh, float32": lambda: np.linalg.eigh(gram.astype(np.float32)),
    }
    print(f"\n## Per group, {k} × {n} groups (load average {os.getloadavg()[0]:.1f})")
    for name, fn in cases.items():
        fn()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        print(f"  {1e6 * min(times) / n_groups:7.1f} µs  {name}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--methods", nargs="*", default=["wnnm", "nnm", "lowrank_completion"])
    parser.add_argument("--no-stages", action="store_true", help="skip part 2")
    args = parser.parse_args(argv)
    profile_methods(args.size, args.methods)
    if not args.no_stages:
        profile_stages()
    return 0


if __name__ == "__main__":
    sys.exit(main())
