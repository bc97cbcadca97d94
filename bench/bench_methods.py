"""Time every registered classic method on a 512x512 image, and compare with scikit-image.

    nice .venv/bin/python bench/bench_methods.py [--repeat 3] [--methods NAME,...] [--tasks TASK,...]
        [--budget SECONDS] [--skip-part-one | --skip-part-two] [--clock wall|cpu] [--pairs NLM,...]

Part 1: each non-deep method, with its defaults, on each task it serves: 512x512 gray `camera`
(scikit-image's bundled photo) degraded by `benchdata.degradations.degrade` (denoise σ=25; deblur
Gaussian 15x15 σ=2 + σ=2.55; inpaint random boxes 20%); SR from a 128x128 LR to 512x512 (×4).
The median of `--repeat` runs (one run for methods slower than 20 s). A method whose 128x128 run
projects past `--budget` seconds (default 120) at 512x512 is reported as that projection.

Part 2: the methods scikit-image also has, run with the same parameters on the same input, in the
same process, alternating ours and theirs; ratio = our time / scikit-image's time:
- bilateral (σs = 2, σr = 0.2, 13x13 window): `restoration.denoise_bilateral`;
- NLM (5x5 patches, 21x21 search, h = 0.4σ, σ subtracted): `denoise_nl_means(fast_mode=True)`;
- wavelet BayesShrink (sym8, 3 levels): `denoise_wavelet`;
- Wiener (Laplacian regulariser, periodic boundary, as scikit-image assumes): `restoration.wiener`;
  and ours with its default mirror extension (4x the pixels) for reference;
- TV Chambolle (ROF, λ = 0.1, 100 iterations, no early stop): `denoise_tv_chambolle(max_num_iter=100, eps=0)`;
- Richardson–Lucy (30 iterations): `restoration.richardson_lucy(num_iter=30)`;
- biharmonic inpainting: `restoration.inpaint_biharmonic`.

torch runs single-threaded (the benchmark machine is shared; see docs/benchmarks.md).
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from skimage import data, restoration

from benchdata.degradations import degrade
from reference_methods.filtering import nl_means
from reference_methods.interpolation import fill_missing
from reference_methods.registry import RestorationContext, list_methods, restore
from reference_methods.smoothing import bilateral_filter
from reference_methods.transforms import kernel_transfer, wavelet_shrink, wiener_deconvolve

torch.set_num_threads(1)

SPECS = {
    "denoise": {"task": "denoise", "sigma": 25},
    "deblur": {"task": "deblur", "sigma": 2.55, "kernel": {"type": "gaussian", "size": 15, "sigma": 2.0}},
    "sr": {"task": "sr", "scale": 4},
    "inpaint": {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}},
}


CLOCK = time.perf_counter  # --clock cpu: time.process_time (see main)


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
        if times[-1] > 20:
            break
    return statistics.median(times)


def _case(clean: np.ndarray, task: str) -> tuple[np.ndarray, RestorationContext]:
    spec = SPECS[task]
    case = degrade(clean, spec, 1)
    context = RestorationContext(
        task, sigma=spec.get("sigma"), kernel=case.kernel, scale=spec.get("scale"), mask=case.mask
    )
    return case.image, context


def part_one(
    clean: np.ndarray, repeat: int, only: set[str] | None, budget: float, tasks: set[str] | None = None
) -> None:
    """Each method on 512x512; a method whose 128x128 run projects (x16 pixels) past `budget` seconds
    is reported from the 128x128 run, marked as an extrapolation, instead of tying the machine up."""
    small = clean[192:320, 192:320]
    print("| method | family | task | seconds (512×512) |\n|---|---|---|---|")
    for info in list_methods():
        if info.family in ("deep", "generative") or (only and info.name not in only):
            continue
        for task in info.tasks:
            if task not in SPECS or (tasks and task not in tasks):  # jpeg, burst_sr, enhance: no case here
                continue
            image, context = _case(small, task)
            probe = timed(lambda c=context, y=image, n=info.name: restore(n, y, c), 1)
            if probe * 16 > budget:
                note = f"≈ {probe * 16:.0f} (extrapolated ×16 from {probe:.1f} s on 128×128)"
                print(f"| {info.name} | {info.family} | {task} | {note} |", flush=True)
                continue
            image, context = _case(clean, task)
            seconds = timed(lambda c=context, y=image, n=info.name: restore(n, y, c), repeat)
            print(f"| {info.name} | {info.family} | {task} | {seconds:.3f} |", flush=True)


def part_two(clean: np.ndarray, repeat: int, only: set[str] | None = None) -> None:
    from reference_methods.richardson_lucy import richardson_lucy
    from reference_methods.tv_denoising import rof_denoise

    sigma = 25 / 255
    noisy = degrade(clean, SPECS["denoise"], 1).image
    blur = degrade(clean, SPECS["deblur"], 1)
    kernel = blur.kernel
    boxes = degrade(clean, SPECS["inpaint"], 1)
    periodic_blur = np.fft.irfft2(np.fft.rfft2(clean) * kernel_transfer(kernel, clean.shape), s=clean.shape)
    pairs = {
        "bilateral": (
            lambda: bilateral_filter(noisy, 2.0, 0.2, radius=6),
            lambda: restoration.denoise_bilateral(noisy, win_size=13, sigma_color=0.2, sigma_spatial=2.0),
        ),
        "NLM": (
            lambda: nl_means(noisy, 0.4 * sigma, sigma, 2, 10, "one"),
            lambda: restoration.denoise_nl_means(noisy, 5, 10, 0.4 * sigma, sigma=sigma, fast_mode=True),
        ),
        "wavelet BayesShrink": (
            lambda: wavelet_shrink(noisy, sigma, "bayesshrink", "sym8", 3),
            lambda: restoration.denoise_wavelet(
                noisy,
                sigma=sigma,
                wavelet="sym8",
                wavelet_levels=3,
                method="BayesShrink",
                rescale_sigma=False,
            ),
        ),
        "Wiener (periodic)": (
            lambda: wiener_deconvolve(periodic_blur, kernel, 0.01, "laplacian", "periodic"),
            lambda: restoration.wiener(periodic_blur, kernel, 0.01, clip=False),
        ),
        "Wiener (ours: mirror extension)": (
            lambda: wiener_deconvolve(blur.image, kernel, 0.01, "laplacian", "symmetric"),
            lambda: restoration.wiener(blur.image, kernel, 0.01, clip=False),
        ),
        "TV Chambolle (100 iterations)": (
            lambda: rof_denoise(noisy, 0.1, rmse_tol=0.0, max_iter=100),
            lambda: restoration.denoise_tv_chambolle(noisy, weight=0.1, eps=0.0, max_num_iter=100),
        ),
        "Richardson–Lucy (30 iterations)": (
            lambda: richardson_lucy(np.clip(blur.image, 0, 1), kernel, 30),
            lambda: restoration.richardson_lucy(np.clip(blur.image, 0, 1), kernel, num_iter=30, clip=False),
        ),
        "biharmonic inpainting": (
            lambda: fill_missing(boxes.image, boxes.mask, order=2),
            lambda: restoration.inpaint_biharmonic(boxes.image, boxes.mask),
        ),
    }
    print("\n| operation | ours (s) | scikit-image (s) | ratio ours / scikit-image |\n|---|---|---|---|")
    for label, (ours, theirs) in pairs.items():
        if only and label.split(" (")[0] not in only:
            continue
        t_ours, t_theirs = [], []
        for _ in range(repeat):  # alternate, so load changes hit both alike
            t_ours.append(timed(ours, 1))
            t_theirs.append(timed(theirs, 1))
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        print(f"| {label} | {a:.3f} | {b:.3f} | {a / b:.2f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", default=None, help="comma-separated names for part 1")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks for part 1 (default: all)")
    parser.add_argument("--skip-part-one", action="store_true")
    parser.add_argument("--skip-part-two", action="store_true")
    parser.add_argument("--pairs", default=None, help="comma-separated part-2 operations, e.g. NLM,bilateral")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds a 512x512 run may take")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: the process's CPU time, which on a saturated shared machine estimates the wall time of "
        "an idle one for single-threaded code (BLAS at one thread)",
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    clean = data.camera().astype(np.float64) / 255.0
    import skimage

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__} (1 thread, "
        f"{'CUDA' if torch.cuda.is_available() else 'no GPU'}), scikit-image {skimage.__version__}\n"
    )
    if not args.skip_part_one:
        only = set(args.methods.split(",")) if args.methods else None
        tasks = set(args.tasks.split(",")) if args.tasks else None
        part_one(clean, args.repeat, only, args.budget, tasks)
    if not args.skip_part_two:
        part_two(clean, args.repeat, set(args.pairs.split(",")) if args.pairs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
