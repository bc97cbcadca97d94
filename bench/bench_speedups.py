"""Same-load before/after timings of the compiled fast paths against the previous numpy code.

    PYTHONPATH=. nice .venv/bin/python bench/bench_speedups.py [--size 128] [--repeat 1]

The previous implementations are kept as test-only references (tests/reference_methods/slow_*.py);
this runs each previous / current pair on the same crop of scikit-image's `camera` (the
bench_methods degradations), alternating them in one process so machine load hits both alike, and
prints seconds, the ratio and the PSNR of both outputs (which must agree). Numba compilation is
excluded (a warm-up call first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdata.degradations import degrade  # noqa: E402
from reference_methods import ksvd, low_rank  # noqa: E402
from tests.reference_methods import slow_low_rank, slow_sparse  # noqa: E402


def _psnr(estimate: np.ndarray, clean: np.ndarray) -> float:
    return 10.0 * np.log10(1.0 / float(np.mean((np.clip(estimate, 0.0, 1.0) - clean) ** 2)))


def _time(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _ksvd_previous(noisy: np.ndarray) -> np.ndarray:
    fast_omp = ksvd.omp
    ksvd.omp = slow_sparse.omp
    try:
        return ksvd.ksvd_denoise_channel(noisy, 25.0)
    finally:
        ksvd.omp = fast_omp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    c0 = 256 - args.size // 2
    clean = data.camera()[c0 : c0 + args.size, c0 : c0 + args.size].astype(np.float64) / 255.0
    noisy = degrade(clean, {"task": "denoise", "sigma": 25}, 1).image
    case = degrade(clean, {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}}, 1)
    schedule = low_rank.wnnm_schedule(25.0)
    pairs = {
        "wnnm (σ = 25)": (
            lambda: slow_low_rank.group_denoise(noisy * 255, 25.0, schedule, weighted=True) / 255,
            lambda: low_rank.group_denoise(noisy * 255, 25.0, schedule, weighted=True) / 255,
        ),
        "nnm (σ = 25, λ = 0.3)": (
            lambda: (
                slow_low_rank.group_denoise(noisy * 255, 25.0, schedule, weighted=False, nnm_lambda=0.3) / 255
            ),
            lambda: low_rank.group_denoise(noisy * 255, 25.0, schedule, weighted=False, nnm_lambda=0.3) / 255,
        ),
        "lowrank_completion (boxes 20%)": (
            lambda: slow_low_rank.lowrank_complete(case.image * 255, case.mask) / 255,
            lambda: low_rank.lowrank_complete(case.image * 255, case.mask) / 255,
        ),
        "ksvd denoise (σ = 25)": (
            lambda: _ksvd_previous(noisy),
            lambda: ksvd.ksvd_denoise_channel(noisy, 25.0),
        ),
    }
    # Warm-up: load (or compile) the numba kernels on a tiny crop.
    small = noisy[:24, :24] * 255
    low_rank.group_denoise(small, 25.0, low_rank.GroupSchedule(6, 20, 1, 0.5, 2, window=5), weighted=True)
    low_rank.lowrank_complete(small, case.mask[:24, :24], outer=1, inner=1)
    ksvd.ksvd_denoise_channel(noisy[:24, :24], 25.0, iterations=1, training_patches=256)
    load = os.getloadavg()[0]
    print(f"{args.size}×{args.size} crop of camera; {os.cpu_count()} CPUs, load average {load:.1f}\n")
    print("| method | previous (s) | now (s) | speed-up | PSNR previous / now (dB) |\n|---|---|---|---|---|")
    for name, (previous, current) in pairs.items():
        t_prev, out_prev = _time(previous, args.repeat)
        t_now, out_now = _time(current, args.repeat)
        target = case.ground_truth if "completion" in name else clean
        print(
            f"| {name} | {t_prev:.1f} | {t_now:.1f} | {t_prev / t_now:.1f}× | "
            f"{_psnr(out_prev, target):.4f} / {_psnr(out_now, target):.4f} |",
            flush=True,
        )
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
