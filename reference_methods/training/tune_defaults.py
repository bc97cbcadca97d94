"""Tune the defaults of the optimisation, sparse and low-rank methods on validation data only.

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python -m reference_methods.training.tune_defaults [--only NAME,...]

Validation data (never Set12, BSD68, CSet14 or a starter test image):
- gray denoising (`tv`, `nnm`): Train400 images (every 50th file, 180×180; 96×96 crops for the slow
  group methods), σ ∈ {15, 25, 50}, noise from `benchdata.degradations.degrade`, PSNR of uint8-rounded
  images (the DnCNN protocol);
- deblurring (`tv`, `hyper_laplacian`, `richardson_lucy`): the starter benchmark's "val" split
  (3 RGB 192×192 crops), Gaussian 15×15 σ = 2 and motion 15×15 kernels, noise σ ∈ {1, 2.55, 7.65};
- inpainting (`ksvd`, `lowrank_completion`): the same val split, boxes 20% and pixels 50%;
- super-resolution (`scsr`): the val split at ×2, PSNR on BT.601 Y, shave 2.

Each function searches a small grid and prints the mean PSNR per setting; the chosen values are
written by hand into the defaults of `reference_methods/{variational,ksvd,scsr}.py`, `wnnm.py` and
`matrix_completion.py`, and the numbers into docs/reference_methods.md. The datasets come in through
`bench/classic_data.py` (checksummed import of ../shared/data, the starter benchmark build).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from classic_data import images, psnr_only, psnr_ssim  # noqa: E402

from benchdata.degradations import degrade  # noqa: E402
from reference_methods.registry import RestorationContext, restore  # noqa: E402

DEBLUR_KERNELS = {
    "gaussian": {"type": "gaussian", "size": 15, "sigma": 2.0},
    "motion": {"type": "motion", "size": 15},
}


def gray_validation(count: int, crop: int | None = None) -> list[np.ndarray]:
    chosen = [image for _, image in images("train400")[::50][:count]]
    return [im[:crop, :crop] for im in chosen] if crop else chosen


def colour_validation() -> list[np.ndarray]:
    return [image for _, image in images("starter", "val")]


def report(label: str, scores: list[float], seconds: float) -> float:
    mean = float(np.mean(scores))
    print(f"  {label:<44} {mean:7.3f} dB   ({seconds:5.1f} s)", flush=True)
    return mean


def sweep_denoise(
    name: str, sigmas: list[float], grid: dict[float, list[dict]], gray: list[np.ndarray]
) -> None:
    for sigma in sigmas:
        print(f"{name} denoise σ={sigma:g}")
        cases = [degrade(im, {"task": "denoise", "sigma": sigma}, 500 + i) for i, im in enumerate(gray)]
        for params in grid[sigma]:
            t0 = time.time()
            scores = [
                psnr_only(
                    restore(name, c.image, RestorationContext("denoise", sigma=sigma, params=params)),
                    c.ground_truth,
                )
                for c in cases
            ]
            report(str(params), scores, time.time() - t0)


def tune_tv_denoise() -> None:
    gray = gray_validation(6)
    grid = {s: [{"weight": f * s / 255} for f in (0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.3)] for s in (15, 25, 50)}
    sweep_denoise("tv", [15, 25, 50], grid, gray)


def tune_nnm() -> None:
    gray = gray_validation(3, crop=96)
    grid = {s: [{"lam": v} for v in (0.1, 0.2, 0.3, 0.4, 0.5)] for s in (15, 25, 50)}
    sweep_denoise("nnm", [15, 25, 50], grid, gray)


def sweep_deblur(name: str, grid: Callable[[float], list[dict]]) -> None:
    colour = colour_validation()
    for kname, kernel in DEBLUR_KERNELS.items():
        for sigma in (1.0, 2.55, 7.65):
            print(f"{name} deblur {kname} σ={sigma:g}")
            spec = {"task": "deblur", "sigma": sigma, "kernel": kernel}
            cases = [degrade(im, spec, 800 + i) for i, im in enumerate(colour)]
            for params in grid(sigma):
                t0 = time.time()
                scores = []
                for c in cases:
                    ctx = RestorationContext("deblur", sigma=sigma, kernel=c.kernel, params=params)
                    scores.append(psnr_ssim(restore(name, c.image, ctx), c.ground_truth)[0])
                report(str(params), scores, time.time() - t0)


def tune_tv_deblur() -> None:
    sweep_deblur("tv", lambda s: [{"weight": f * max(s, 0.5) / 255} for f in (0.05, 0.1, 0.2, 0.4)])


def tune_hyper_laplacian() -> None:
    sweep_deblur(
        "hyper_laplacian", lambda s: [{"lam": c / (max(s, 0.5) / 255) ** 2} for c in (0.1, 0.2, 0.4, 0.8)]
    )


def tune_richardson_lucy() -> None:
    sweep_deblur(
        "richardson_lucy",
        lambda s: [{"discrepancy": f, "max_iter": 200} for f in (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)],
    )


def sweep_inpaint(name: str, grid: list[dict]) -> None:
    colour = colour_validation()
    masks = {
        "boxes 20%": {"type": "boxes", "coverage": 0.2},
        "pixels 50%": {"type": "pixels", "coverage": 0.5},
    }
    for label, mask in masks.items():
        print(f"{name} inpaint {label}")
        cases = [degrade(im, {"task": "inpaint", "mask": mask}, 900 + i) for i, im in enumerate(colour)]
        for params in grid:
            t0 = time.time()
            scores = []
            for c in cases:
                ctx = RestorationContext("inpaint", mask=c.mask, params=params)
                scores.append(psnr_ssim(restore(name, c.image, ctx), c.ground_truth)[0])
            report(str(params), scores, time.time() - t0)


def tune_ksvd_inpaint() -> None:
    sweep_inpaint("ksvd", [{"min_known": m} for m in (0.25, 0.5)])


def tune_lowrank_completion() -> None:
    sweep_inpaint("lowrank_completion", [{}, {"tau_start": 0.02, "tau_end": 5e-4}])


def tune_scsr() -> None:
    from benchdata.resize import imresize

    colour = colour_validation()
    for scale in (2, 3, 4):
        print(f"scsr x{scale}")
        cases = [degrade(im, {"task": "sr", "scale": scale}, 0) for im in colour]
        bicubic = [
            psnr_ssim(imresize(c.image, float(scale)), c.ground_truth, y_shave=scale)[0] for c in cases
        ]
        report("bicubic", bicubic, 0.0)
        for params in ({"stride": 1}, {"stride": 2}, {"stride": 2, "lam": 0.1}, {"stride": 3}):
            t0 = time.time()
            scores = []
            for c in cases:
                out = restore("scsr", c.image, RestorationContext("sr", scale=scale, params=params))
                scores.append(psnr_ssim(out, c.ground_truth, y_shave=scale)[0])
            report(str(params), scores, time.time() - t0)


TUNERS = {
    "tv_denoise": tune_tv_denoise,
    "nnm": tune_nnm,
    "tv_deblur": tune_tv_deblur,
    "hyper_laplacian": tune_hyper_laplacian,
    "richardson_lucy": tune_richardson_lucy,
    "ksvd_inpaint": tune_ksvd_inpaint,
    "lowrank_completion": tune_lowrank_completion,
    "scsr": tune_scsr,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(TUNERS), help=f"comma-separated subset of {', '.join(TUNERS)}"
    )
    args = parser.parse_args(argv)
    for name in args.only.split(","):
        if name not in TUNERS:
            parser.error(f"unknown tuner {name!r}; valid: {', '.join(TUNERS)}")
        TUNERS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
