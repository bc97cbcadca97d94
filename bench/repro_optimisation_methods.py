"""Reproduction tables for the optimisation, sparse and low-rank reference methods.

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python bench/repro_optimisation_methods.py \\
        [--tasks denoise,sr,deblur,inpaint] [--methods bm3d,wnnm,...]
        [--limits wnnm=5:2,nnm=5:2,ksvd=12:10] [--json OUT.json]

Same data, seeds and scoring as bench/repro_classic_methods.py (and `bench/classic_data.py`), so the
numbers sit in one table with the other classic methods:

- denoise: Set12 and BSD68 (gray) at σ = 15 / 25 / 50, noisy = clean + σ/255·N(0, 1) unclipped
  (`benchdata.degradations.degrade`, seed = 100·σ + image index); restored image and ground truth
  rounded and clipped to uint8, PSNR with no shave (the DnCNN protocol) and SSIM (ssim_index).
  The slow group methods (`wnnm`, `nnm`, `ksvd` — pure numpy on a shared 2-core machine) run on the
  first N Set12 and M BSD68 images (sorted by name, `--limits`); the table says how many images each
  number averages, prints the published BM3D/WNNM averages (DnCNN paper, Table II and its Set12
  table) beside ours, and the difference to BM3D on the same images (comparable with the published
  WNNM − BM3D gap even on a subset).
- sr: CSet14 ×2 / ×3 / ×4, LR = MATLAB bicubic imresize of the modcropped HR rounded to uint8;
  PSNR / SSIM on BT.601 Y with `scale` pixels shaved; `bicubic` beside `scsr`.
- deblur, inpaint: the starter benchmark's test split under the settings of repro_classic_methods.

Runtime: seconds per image (mean) and per megapixel, measured in this run, one BLAS thread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads only contend on the shared machine

import numpy as np  # noqa: E402
from classic_data import images, psnr_ssim, timed_restore  # noqa: E402
from repro_classic_methods import DEBLUR_SETTINGS, INPAINT_SETTINGS, Table, markdown, run_starter  # noqa: E402

from benchdata.degradations import degrade  # noqa: E402
from reference_methods.registry import RestorationContext  # noqa: E402

DENOISERS = ("bm3d", "wnnm", "nnm", "ksvd", "tv")
DEBLURRERS = ("tv", "hyper_laplacian", "richardson_lucy")
INPAINTERS = ("tv", "ksvd", "lowrank_completion")
SR = ("bicubic", "scsr")

# PSNR (dB) published in the DnCNN paper (Zhang et al., TIP 2017): Table II (BSD68) and the Set12
# table's averages; see /work/shared/docs/conventions.md.
PUBLISHED = {
    "bm3d": {"BSD68": (31.07, 28.57, 25.62), "Set12": (32.37, 29.97, 26.72)},
    "wnnm": {"BSD68": (31.37, 28.83, 25.87), "Set12": (32.70, 30.26, 27.05)},
}
SIGMAS = (15, 25, 50)


def run_denoise(methods: list[str], limits: dict[str, dict[str, int | None]], table: Table) -> None:
    sets = {"Set12": images("set12"), "BSD68": images("bsd68")}
    for sigma in SIGMAS:
        for set_name, pairs in sets.items():
            setting = f"{set_name} σ={sigma}"
            for index, (stem, clean) in enumerate(pairs):
                wanted = [m for m in methods if limits[m][set_name] is None or index < limits[m][set_name]]
                if not wanted:
                    continue
                noisy = degrade(clean, {"task": "denoise", "sigma": sigma}, 100 * sigma + index).image
                context = RestorationContext("denoise", sigma=sigma)
                for name in wanted:
                    out, seconds = timed_restore(name, noisy, context)
                    p, s = psnr_ssim(out, clean)
                    table.add(setting, name, p, s, seconds, clean.size / 1e6)
                    print(
                        f"  {setting} {stem} {name}: {p:.2f} dB, {seconds:.1f} s", file=sys.stderr, flush=True
                    )


def run_sr(methods: list[str], table: Table) -> None:
    hr_images = images("cset14")
    for scale in (2, 3, 4):
        for index, (stem, hr) in enumerate(hr_images):
            case = degrade(hr, {"task": "sr", "scale": scale}, index)
            context = RestorationContext("sr", scale=scale)
            for name in methods:
                out, seconds = timed_restore(name, case.image, context)
                p, s = psnr_ssim(out, case.ground_truth, y_shave=scale)
                table.add(f"CSet14 ×{scale}", name, p, s, seconds, out.shape[0] * out.shape[1] / 1e6)
                print(
                    f"  CSet14 x{scale} {stem} {name}: {p:.2f} dB, {seconds:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )


def denoise_markdown(table: Table, set_name: str) -> str:
    """One row per method: PSNR/SSIM per σ, image count, published PSNR, gap to BM3D on the same images."""
    settings = [f"{set_name} σ={s}" for s in SIGMAS]
    summary = table.summary()
    lines = [
        "| method | images | "
        + " | ".join(f"σ={s}" for s in SIGMAS)
        + " | published (DnCNN paper) | − BM3D, same images | s / image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    methods = sorted({m for s in settings for m in summary.get(s, {})})
    for method in methods:
        rows = [summary[s].get(method) for s in settings]
        count = max(r["images"] for r in rows if r)
        cells = [f"{r['psnr']:.2f} / {r['ssim']:.4f}" if r else "–" for r in rows]
        published = PUBLISHED.get(method, {}).get(set_name)
        pub = " / ".join(f"{v:.2f}" for v in published) if published else "–"
        gaps = []
        for s in settings:
            ours, bm3d = table.rows.get((s, method), []), table.rows.get((s, "bm3d"), [])
            n = len(ours)
            gaps.append(
                f"{np.mean([r[0] for r in ours]) - np.mean([r[0] for r in bm3d[:n]]):+.2f}"
                if ours and len(bm3d) >= n
                else "–"
            )
        per_image = np.mean([r[2] for s in settings for r in table.rows.get((s, method), [])])
        lines.append(
            f"| {method} | {count} | "
            + " | ".join(cells)
            + f" | {pub} | {' / '.join(gaps)} | {per_image:.1f} |"
        )
    return "\n".join(lines)


def parse_limits(text: str) -> dict[str, tuple[int | None, int | None]]:
    """'wnnm=5:0,ksvd=12:10' -> {'wnnm': (5, 0), 'ksvd': (12, 10)} (Set12 count : BSD68 count)."""
    out: dict[str, tuple[int | None, int | None]] = {}
    for item in filter(None, text.split(",")):
        name, _, counts = item.partition("=")
        a, _, b = counts.partition(":")
        out[name] = (int(a) if a else None, int(b) if b else None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="denoise,sr,deblur,inpaint")
    parser.add_argument("--methods", default=None, help="comma-separated subset of the methods above")
    parser.add_argument(
        "--limits",
        default="wnnm=5:2,nnm=5:2,ksvd=12:10",
        help="per method, the first N Set12 : first M BSD68 images (empty = all); "
        "the slow pure-numpy group methods default to subsets",
    )
    parser.add_argument("--json", default=None, help="also write the summary here")
    args = parser.parse_args(argv)
    chosen = set(args.methods.split(",")) if args.methods else None

    def pick(names: tuple[str, ...]) -> list[str]:
        return [n for n in names if chosen is None or n in chosen]

    tasks = args.tasks.split(",")
    table = Table()
    out: list[str] = []
    if "denoise" in tasks:
        methods = pick(DENOISERS)
        given = parse_limits(args.limits)
        limits = {m: dict(zip(("Set12", "BSD68"), given.get(m, (None, None)), strict=True)) for m in methods}
        run_denoise(methods, limits, table)
        for set_name in ("Set12", "BSD68"):
            out.append(f"\n### Gray denoising, {set_name} (PSNR dB / SSIM)\n")
            out.append(denoise_markdown(table, set_name))
    if "sr" in tasks:
        run_sr(pick(SR), table)
        out.append("\n### Super-resolution, CSet14 (Y, shave = scale; PSNR dB / SSIM)\n")
        out.append(markdown(table.summary(), [f"CSet14 ×{s}" for s in (2, 3, 4)]))
    if "deblur" in tasks:
        run_starter("deblur", DEBLUR_SETTINGS, pick(DEBLURRERS), table)
        out.append("\n### Deblurring, starter test split (RGB; PSNR dB / SSIM)\n")
        out.append(markdown(table.summary(), list(DEBLUR_SETTINGS)))
    if "inpaint" in tasks:
        run_starter("inpaint", INPAINT_SETTINGS, pick(INPAINTERS), table)
        out.append("\n### Inpainting, starter test split (RGB; PSNR dB / SSIM)\n")
        out.append(markdown(table.summary(), list(INPAINT_SETTINGS)))
    print("\n".join(out))
    if args.json:
        Path(args.json).write_text(
            json.dumps(table.summary(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
