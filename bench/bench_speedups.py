"""Same-load before/after timings of the compiled fast paths against the previous numpy code.

    PYTHONPATH=. nice .venv/bin/python bench/bench_speedups.py [--size 128] [--repeat 1] [--methods scsr,tv]

The previous implementations are kept as test-only references (tests/reference_methods/slow_*.py);
this runs each previous / current pair on the same crop of scikit-image's `camera` (the
bench_methods degradations), alternating them in one process so machine load hits both alike, and
prints seconds, the ratio and the PSNR of both outputs (which must agree). Numba compilation is
excluded (a warm-up call first). `--methods` keeps the rows whose name starts with one of the given
words. "Previous" is the code before any compiled kernel: numpy for K-SVD's OMP, SCSR's lasso and TV,
the torch path (on the CPU) for NLM inpainting.
"""

from __future__ import annotations

import argparse
import contextlib
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
from reference_methods import filtering, ksvd, matrix_completion, scsr, variational, wnnm  # noqa: E402
from reference_methods.registry import RestorationContext, restore  # noqa: E402
from tests.reference_methods import slow_low_rank, slow_scsr, slow_sparse, slow_variational  # noqa: E402

SPECS = {
    "deblur": {"task": "deblur", "sigma": 2.55, "kernel": {"type": "gaussian", "size": 15, "sigma": 2.0}},
    "inpaint": {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}},
}


def _psnr(estimate: np.ndarray, clean: np.ndarray) -> float:
    return 10.0 * np.log10(1.0 / float(np.mean((np.clip(estimate, 0.0, 1.0) - clean) ** 2)))


CLOCK = time.perf_counter  # --clock cpu: time.process_time (see main)


def _time(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeat):
        start = CLOCK()
        out = fn()
        times.append(CLOCK() - start)
    return statistics.median(times), out


@contextlib.contextmanager
def _swapped(module: object, name: str, previous: Callable[..., object]):
    """Run with `module.name` replaced by the previous implementation."""
    current = getattr(module, name)
    setattr(module, name, previous)
    try:
        yield
    finally:
        setattr(module, name, current)


def _previous(module: object, name: str, previous: Callable[..., object], fn: Callable[[], np.ndarray]):
    def run() -> np.ndarray:
        with _swapped(module, name, previous):
            return fn()

    return run


def _nlm_inpaint_torch_cpu(
    u: np.ndarray, mask: np.ndarray, conf: np.ndarray, h: float, f: int, t: int, iterations: int
) -> np.ndarray:
    """The torch path NLM inpainting ran on the CPU before its compiled kernel."""
    import torch

    torch.set_num_threads(1)  # one thread, like the kernel
    return filtering._nlm_inpaint_torch(u, mask, conf, h, f, t, iterations, torch.device("cpu"))


def _method_cases(clean: np.ndarray) -> dict[str, tuple[Callable[[], np.ndarray], Callable[[], np.ndarray]]]:
    """The registered methods this change made faster, on the bench_methods degradations."""
    cases = {}
    for task, spec in SPECS.items():
        case = degrade(clean, spec, 1)
        context = RestorationContext(task, sigma=spec.get("sigma"), kernel=case.kernel, mask=case.mask)
        cases[task] = (case.image, context)
    lr = degrade(clean, {"task": "sr", "scale": 4}, 1).image
    sr_context = RestorationContext("sr", scale=4)
    (blurred, deblur), (holes, inpaint) = cases["deblur"], cases["inpaint"]
    return {
        "scsr (×4)": (
            _previous(scsr, "lasso", slow_scsr.lasso, lambda: restore("scsr", lr, sr_context)),
            lambda: restore("scsr", lr, sr_context),
        ),
        "tv deblur": (
            _previous(
                variational,
                "tv_deconvolve",
                slow_variational.tv_deconvolve,
                lambda: restore("tv", blurred, deblur),
            ),
            lambda: restore("tv", blurred, deblur),
        ),
        "tv inpaint (boxes 20%)": (
            _previous(
                variational, "tv_inpaint", slow_variational.tv_inpaint, lambda: restore("tv", holes, inpaint)
            ),
            lambda: restore("tv", holes, inpaint),
        ),
        "nlm_inpaint (boxes 20%)": (
            _previous(
                filtering,
                "_nlm_inpaint_cpu",
                _nlm_inpaint_torch_cpu,
                lambda: restore("nlm_inpaint", holes, inpaint),
            ),
            lambda: restore("nlm_inpaint", holes, inpaint),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--methods", default="", help="comma-separated name prefixes (default: all rows)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: this process's CPU seconds (one thread), less disturbed by other users' load",
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    c0 = 256 - args.size // 2
    clean = data.camera()[c0 : c0 + args.size, c0 : c0 + args.size].astype(np.float64) / 255.0
    noisy = degrade(clean, {"task": "denoise", "sigma": 25}, 1).image
    case = degrade(clean, {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}}, 1)
    schedule = wnnm.wnnm_schedule(25.0)
    pairs = {
        "wnnm (σ = 25)": (
            lambda: slow_low_rank.group_denoise(noisy * 255, 25.0, schedule, weighted=True) / 255,
            lambda: wnnm.group_denoise(noisy * 255, 25.0, schedule, weighted=True) / 255,
        ),
        "nnm (σ = 25, λ = 0.3)": (
            lambda: (
                slow_low_rank.group_denoise(noisy * 255, 25.0, schedule, weighted=False, nnm_lambda=0.3) / 255
            ),
            lambda: wnnm.group_denoise(noisy * 255, 25.0, schedule, weighted=False, nnm_lambda=0.3) / 255,
        ),
        "lowrank_completion (boxes 20%)": (
            lambda: slow_low_rank.lowrank_complete(case.image * 255, case.mask) / 255,
            lambda: matrix_completion.lowrank_complete(case.image * 255, case.mask) / 255,
        ),
        "ksvd denoise (σ = 25)": (
            _previous(ksvd, "omp", slow_sparse.omp, lambda: ksvd.ksvd_denoise_channel(noisy, 25.0)),
            lambda: ksvd.ksvd_denoise_channel(noisy, 25.0),
        ),
        **_method_cases(clean),
    }
    if args.methods:
        pairs = {k: v for k, v in pairs.items() if k.startswith(tuple(args.methods.split(",")))}
    # Warm-up: load (or compile) the numba kernels on a tiny crop.
    small = noisy[:24, :24] * 255
    wnnm.group_denoise(small, 25.0, wnnm.GroupSchedule(6, 20, 1, 0.5, 2, window=5), weighted=True)
    matrix_completion.lowrank_complete(small, case.mask[:24, :24], outer=1, inner=1)
    ksvd.ksvd_denoise_channel(noisy[:24, :24], 25.0, iterations=1, training_patches=256)
    for _, current in _method_cases(clean[:48, :48]).values():
        current()
    load = os.getloadavg()[0]
    print(
        f"{args.size}×{args.size} crop of camera; {os.cpu_count()} CPUs, load average {load:.1f}, "
        f"{args.clock} clock\n"
    )
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
