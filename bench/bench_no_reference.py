"""Benchmark: NIQE, BRISQUE and PIQE per DIV2K-size image (2040×1356 RGB), ours next to pyiqa's on the
same image.

pyiqa's NIQE and BRISQUE would download their parameter files at construction; for this run they are
written from our provisioned official parameters into a temporary folder used as pyiqa's cache
(`evaluator/pyiqa_nr_files.py`), and pyiqa is built through our bridge, which refuses any download. One
image, synthesised deterministically (smooth field + texture + noise), best of `--repeats`.

Usage: nice .venv/bin/python bench/bench_no_reference.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform as std_platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
W, H = 2040, 1356


def _image() -> torch.Tensor:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:H, 0:W] / 100.0
    base = (
        0.5 + 0.25 * np.sin(x)[..., None] * np.cos(y * 1.3)[..., None] + 0.05 * rng.standard_normal((H, W, 3))
    )
    img = np.clip(np.round(base * 255), 0, 255) / 255.0
    return torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()


def _best(fn, repeats: int) -> tuple[float, float]:
    times, value = [], 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = float(fn())
        times.append(time.perf_counter() - t0)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from evaluator.metrics import create_metric

    img = _image()
    print(f"# {std_platform.processor() or std_platform.machine()}, {os.cpu_count()} CPUs, {W}×{H} RGB")
    for name in ("niqe", "brisque", "piqe"):
        metric = create_metric(name)
        seconds, value = _best(lambda m=metric: m(img, None).item(), args.repeats)
        print(f"ours   {name:<8} {seconds:6.2f} s/image  value {value:.4f}", flush=True)
    import pyiqa

    from evaluator.metrics.pyiqa_bridge import PYIQA_CACHE_ENV, enable_pyiqa_metric
    from evaluator.pyiqa_nr_files import write_pyiqa_brisque_file, write_pyiqa_niqe_file

    with tempfile.TemporaryDirectory(prefix="pyiqa-cache-") as cache:
        os.environ[PYIQA_CACHE_ENV] = cache
        write_pyiqa_niqe_file(Path(cache))
        write_pyiqa_brisque_file(Path(cache))
        for name in ("niqe", "brisque", "piqe"):
            metric = create_metric(enable_pyiqa_metric(name), device="cpu")
            seconds, value = _best(lambda m=metric: m(img, None).item(), args.repeats)
            print(f"pyiqa  {name:<8} {seconds:6.2f} s/image  value {value:.4f}  (pyiqa {pyiqa.__version__})")


if __name__ == "__main__":
    main()
