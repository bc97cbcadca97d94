"""Benchmark: time to generate a DIV2K-size x4 super-resolution track (public inputs + hidden GT).

Synthesises `--count` RGB images of `--height` x `--width` (default 100 of 1356 x 2040, DIV2K's usual
landscape size) as 8-bit PNGs with a dataset manifest, then times
`benchdata.track_data.generate_track_data` with the MATLAB-bicubic x4 spec (per image: read + SHA-256
check, modcrop, imresize 1/4, quantise, write the LR PNG and the GT PNG, checksum everything). A second
run checks that the output is byte-identical. The synthetic images are smooth random fields plus fine
noise, so PNG sizes (and so encode/decode times) are in the range of real photographs.

    nice .venv/bin/python bench/bench_track_data.py [--count 100] [--workdir /tmp/rb-bench]

Results go in docs/benchmarks.md ("Track data generation").
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchdata.image_files import write_image  # noqa: E402
from benchdata.manifests import DatasetManifest, scan_folder  # noqa: E402
from benchdata.resize import imresize  # noqa: E402
from benchdata.track_data import generate_track_data  # noqa: E402


def synthesise(folder: Path, count: int, height: int, width: int, seed: int = 0) -> None:
    """Write `count` photograph-like RGB PNGs and a store manifest (split "test" = all)."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        coarse = rng.random((height // 32 + 1, width // 32 + 1, 3))
        smooth = imresize(coarse, 32.0)[:height, :width]
        image = np.clip(0.15 + 0.7 * smooth + 0.03 * rng.standard_normal((height, width, 3)), 0, 1)
        write_image(folder / f"{index + 1:04d}.png", image)
    files = scan_folder(folder)
    data = {
        "schema": 1,
        "name": "synthetic_div2k",
        "title": "Synthetic DIV2K-size images (benchmark only)",
        "checksums": "known",
        "splits": {"test": "all"},
        "source": {},
        "licence": "generated",
        "recommended_use": "benchmark",
        "files": [record.to_dict() for record in files.values()],
    }
    (folder / "manifest.json").write_text(DatasetManifest("synthetic_div2k", data).to_json())


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--height", type=int, default=1356)
    parser.add_argument("--width", type=int, default=2040)
    parser.add_argument("--workdir", help="scratch folder (default: a temporary folder, removed afterwards)")
    args = parser.parse_args()
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="rb-bench-track-"))
    try:
        data = work / "data"
        if not (data / "manifest.json").is_file():
            t0 = time.perf_counter()
            synthesise(data, args.count, args.height, args.width)
            elapsed = time.perf_counter() - t0
            print(f"synthesised {args.count} images in {elapsed:.1f} s (not part of the timing)")
        gt_bytes = sum(p.stat().st_size for p in data.glob("*.png"))
        spec = {"task": "sr", "scale": 4}
        runs = []
        for run in (1, 2):
            out = work / f"run{run}"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            generate_track_data(data, spec, 2017, out / "public", out / "hidden")
            runs.append(time.perf_counter() - t0)
            print(f"run {run}: {runs[-1]:.1f} s ({runs[-1] / args.count:.2f} s per image)")
        identical = tree_digest(work / "run1") == tree_digest(work / "run2")
        public_bytes = sum(p.stat().st_size for p in (work / "run1" / "public").rglob("*") if p.is_file())
        print(
            f"images: {args.count} x {args.height}x{args.width} RGB, GT PNGs {gt_bytes / 1e6:.0f} MB, "
            f"public folder {public_bytes / 1e6:.0f} MB"
        )
        print(f"best of 2: {min(runs):.1f} s; re-run byte-identical: {identical}")
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
            f"Python {platform.python_version()}, numpy {np.__version__}"
        )
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
