"""Choose the defaults of GSR that its paper does not give, on validation data only.

    OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/tune_nonlocal_sparse.py denoise [--crop 96]
    OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/tune_nonlocal_sparse.py deblur

- denoise: GSR's threshold factor κ and noise-re-estimate gain γ (its paper has no denoising), on
  central crops of Train400 images (the validation images of bench/tune_classic_methods.py, noise
  seed 1000 + index) at σ = 15 / 25 / 50; mean PSNR (uint8, DnCNN protocol) per grid point.
- deblur: GSR's λ scale and NCSR's iteration count on the starter benchmark's "val" split under the
  two deblurring settings of the reproduction tables (seed 5000 + index).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from classic_data import images, psnr_only  # noqa: E402
from repro_classic_methods import DEBLUR_SETTINGS  # noqa: E402
from tune_classic_methods import noisy_pairs, validation_gray  # noqa: E402

from benchdata.degradations import degrade  # noqa: E402
from reference_methods.registry import RestorationContext, restore  # noqa: E402

# (κ, γ): a scan of γ at κ = 0.8, then of κ at γ = 0.9 (the two multiply in every iteration after
# the first, so a full grid mostly repeats itself).
DENOISE_GRID = ((0.8, 0.6), (0.8, 0.7), (0.8, 0.9), (0.8, 1.1), (0.6, 0.9), (1.0, 0.9))


def tune_denoise(count: int, crop: int) -> None:
    # Central crops keep the run short on the shared machine (the GSR group loop is the cost).
    clean = []
    for image in validation_gray(count):
        top, left = (image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2
        clean.append(image[top : top + crop, left : left + crop])
    for sigma in (15, 25, 50):
        pairs = noisy_pairs(clean, sigma)
        for kappa, gain in DENOISE_GRID:
            params = {"kappa": kappa, "gain": gain}
            context = RestorationContext("denoise", sigma=sigma, params=params)
            score = np.mean([psnr_only(restore("gsr", y, context), x) for y, x in pairs])
            print(f"gsr denoise σ={sigma} {params}: {score:.3f} dB", flush=True)


def tune_deblur(grid: dict[str, list[dict]]) -> None:
    val = images("starter", "val")
    for label, spec in DEBLUR_SETTINGS.items():
        cases = [degrade(x, spec, 5000 + i) for i, (_, x) in enumerate(val)]
        for method, options in grid.items():
            for params in options:
                scores = []
                for case in cases:
                    context = RestorationContext("deblur", sigma=spec["sigma"], kernel=case.kernel)
                    context = context.replace(params=params)
                    scores.append(psnr_only(restore(method, case.image, context), case.ground_truth))
                print(f"{method} {label} {params}: {np.mean(scores):.3f} dB", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("denoise", "deblur"))
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--crop", type=int, default=96, help="central crop of each validation image (px)")
    args = parser.parse_args(argv)
    if args.task == "denoise":
        tune_denoise(args.images, args.crop)
    else:
        scale = 2.55**2 / 2.0
        tune_deblur(
            {
                "gsr": [{"lam": 0.4098 * scale * f, "iterations": n} for f in (0.5, 1, 2) for n in (50, 100)],
                "ncsr": [{"iterations": n} for n in (30, 60, 120)],
            }
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
