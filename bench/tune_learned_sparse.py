"""Validation runs behind the `lssc` and `octobos` defaults (validation data only, never a test set).

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python bench/tune_learned_sparse.py lssc \\
        [--params '{"gain": 1.0}'] [--images 2] [--sigmas 15,25,50]

Images: N Train400 files (every 400/N-th, 180×180 gray, as `bench/tune_classic_methods.py` picks them);
noise σ/255·N(0, 1) unclipped from `benchdata.degradations.degrade` with seed = the image's index;
PSNR on uint8-rounded images. Prints the mean PSNR per σ for the method with the given overrides;
the table in docs/reference_methods.md ("LSSC and OCTOBOS") was made with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads only contend on the shared machine

import numpy as np  # noqa: E402
from classic_data import psnr_only  # noqa: E402
from tune_classic_methods import validation_gray  # noqa: E402

from benchdata.degradations import degrade  # noqa: E402
from reference_methods.registry import RestorationContext, restore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("method", choices=("lssc", "octobos"))
    parser.add_argument("--params", default="{}", help="JSON object of parameter overrides")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--sigmas", default="15,25,50")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    images = validation_gray(args.images)
    cells = []
    for sigma in (int(s) for s in args.sigmas.split(",")):
        scores = []
        for index, clean in enumerate(images):
            noisy = degrade(clean, {"task": "denoise", "sigma": sigma}, index).image
            out = restore(args.method, noisy, RestorationContext("denoise", sigma=sigma, params=params))
            scores.append(psnr_only(out, clean))
        cells.append(f"σ={sigma}: {np.mean(scores):.3f}")
    print(f"{args.method} {params} " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
