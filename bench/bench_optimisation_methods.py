"""Time the optimisation, sparse and low-rank methods on a 512×512 image; compare TV and RL with
scikit-image.

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python bench/bench_optimisation_methods.py [--repeat 3]
        [--methods NAME,...]

Part 1: each method of `reference_methods.variational`, `.ksvd`, `.scsr`, `.wnnm`, `.matrix_completion`
and `.bm3d_wrapper` (the former `.low_rank`), with its defaults, on each task it serves, on
scikit-image's 512×512 gray `camera` degraded as in bench/bench_methods.py (denoise σ = 25; deblur
Gaussian 15×15 σ = 2 + noise σ = 2.55; inpaint random boxes 20%; SR ×4 from the 128×128 bicubic LR).
The median of `--repeat` runs (a single run for methods slower than 20 s).

Part 2: against scikit-image, same input, same process, runs alternated:
- ROF / TV Chambolle at equal accuracy: the reference is our solver run to an RMS certificate of
  1e-5; ours with its default stopping rule (certified RMS error ≤ 1e-3 from the primal–dual gap)
  vs `denoise_tv_chambolle` with the largest `eps` (its relative-energy stopping rule) whose result is
  also within RMS 1e-3 of the reference; and per iteration (100 iterations each, no early stop);
- Richardson–Lucy, 30 iterations of the same algorithm (zero boundary, constant 0.5 start).

Prints markdown tables; results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads only contend on the shared machine

import numpy as np  # noqa: E402
from skimage import data, restoration  # noqa: E402

from benchdata.degradations import degrade  # noqa: E402
from reference_methods.registry import RestorationContext, list_methods, restore  # noqa: E402
from reference_methods.richardson_lucy import richardson_lucy  # noqa: E402
from reference_methods.tv_denoising import rof_denoise  # noqa: E402

OWN_MODULES = (
    "reference_methods.variational",
    "reference_methods.ksvd",
    "reference_methods.scsr",
    "reference_methods.wnnm",
    "reference_methods.matrix_completion",
    "reference_methods.bm3d_wrapper",
)
SPECS = {
    "denoise": {"task": "denoise", "sigma": 25},
    "deblur": {"task": "deblur", "sigma": 2.55, "kernel": {"type": "gaussian", "size": 15, "sigma": 2.0}},
    "sr": {"task": "sr", "scale": 4},
    "inpaint": {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}},
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def part_one(clean: np.ndarray, repeat: int, only: set[str] | None) -> None:
    print("\n| method | task | seconds (512×512) | s / MP | runs |\n|---|---|---|---|---|")
    for info in list_methods():
        if info.fn.__module__ not in OWN_MODULES or (only and info.name not in only):
            continue
        for task in info.tasks:
            case = degrade(clean, SPECS[task], 1)
            spec = SPECS[task]
            ctx = RestorationContext(
                task, sigma=spec.get("sigma"), kernel=case.kernel, scale=spec.get("scale"), mask=case.mask
            )
            times = [timed(lambda c=case, x=ctx, n=info.name: restore(n, c.image, x))]
            while len(times) < repeat and times[0] < 20.0:
                times.append(timed(lambda c=case, x=ctx, n=info.name: restore(n, c.image, x)))
            t = statistics.median(times)
            print(f"| {info.name} | {task} | {t:.2f} | {t / 0.262144:.2f} | {len(times)} |", flush=True)


def part_two(clean: np.ndarray, repeat: int) -> None:
    noisy = degrade(clean, SPECS["denoise"], 1).image
    blur = degrade(clean, SPECS["deblur"], 1)
    weight = 0.1
    reference, _ = rof_denoise(noisy, weight, rmse_tol=1e-5, max_iter=100000)

    def rms(u: np.ndarray) -> float:
        return float(np.sqrt(np.mean((u - reference) ** 2)))

    ours_result, ours_iterations = rof_denoise(noisy, weight)
    eps = 2e-4  # scikit-image's default
    while rms(restoration.denoise_tv_chambolle(noisy, weight=weight, eps=eps, max_num_iter=100000)) > 1e-3:
        eps /= 2.0
    print(
        f"\nROF λ = {weight}: ours stops after {ours_iterations} iterations at RMS {rms(ours_result):.1e} "
        f"from the reference; scikit-image needs eps = {eps:.1e} for RMS ≤ 1e-3."
    )
    pairs = {
        "TV / ROF, to RMS ≤ 1e-3 of the minimiser": (
            lambda: rof_denoise(noisy, weight),
            lambda: restoration.denoise_tv_chambolle(noisy, weight=weight, eps=eps, max_num_iter=100000),
        ),
        "TV / ROF, 100 iterations each": (
            lambda: rof_denoise(noisy, weight, rmse_tol=0.0, max_iter=100),
            lambda: restoration.denoise_tv_chambolle(noisy, weight=weight, eps=0.0, max_num_iter=100),
        ),
        "Richardson–Lucy, 30 iterations": (
            lambda: richardson_lucy(np.clip(blur.image, 0, 1), blur.kernel, 30),
            lambda: restoration.richardson_lucy(
                np.clip(blur.image, 0, 1), blur.kernel, num_iter=30, clip=False
            ),
        ),
    }
    print("\n| operation | ours (s) | scikit-image (s) | ratio ours / scikit-image |\n|---|---|---|---|")
    for label, (ours, theirs) in pairs.items():
        t_ours, t_theirs = [], []
        for _ in range(repeat):  # alternate, so load changes hit both alike
            t_ours.append(timed(ours))
            t_theirs.append(timed(theirs))
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        print(f"| {label} | {a:.3f} | {b:.3f} | {a / b:.2f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", default=None, help="comma-separated names for part 1")
    parser.add_argument("--skip-part-one", action="store_true")
    args = parser.parse_args(argv)
    clean = data.camera().astype(np.float64) / 255.0
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if not args.skip_part_one:
        part_one(clean, args.repeat, set(args.methods.split(",")) if args.methods else None)
    part_two(clean, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
