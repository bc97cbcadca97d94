"""Reproduction tables for the classic reference methods (docs/reference_methods.md).

    nice .venv/bin/python bench/repro_classic_methods.py [--tasks denoise,sr,deblur,inpaint]
        [--methods NAME,... | classic] [--bsd68 N] [--json OUT.json]

- denoise: Set12 and BSD68 (gray) at σ = 15 / 25 / 50, noisy = clean + σ/255·N(0, 1) unclipped
  (`benchdata.degradations.degrade`, seed = 100·σ + image index), restored image rounded and clipped
  to uint8, PSNR (no shave, the DnCNN protocol) and SSIM (ssim_index). `--bsd68 N` uses the first N
  BSD68 images (sorted by name) to bound the run; the table says how many.
- sr: CSet14 ×2 / ×3 / ×4, LR = MATLAB bicubic imresize of the modcropped HR, rounded to uint8;
  PSNR / SSIM on BT.601 Y with `scale` pixels shaved (the SRCNN/VDSR protocol).
- deblur, inpaint: the starter benchmark's test split (5 RGB 192x192 crops) under the demo bundle's
  tracks (Gaussian 15x15 σ=2 blur + σ=2.55 noise; random boxes 20%) and a second setting each
  (motion blur 15x15 + σ=2.55; random missing pixels 50%); PSNR / SSIM over RGB, uint8, no shave.

Methods: by default those of `reference_methods.interpolation`, `.smoothing`, `.diffusion`,
`.filtering` and `.transforms` (`--methods classic` adds every non-deep method). Runtime is the
mean seconds per megapixel of output, measured in this run (torch single-threaded; see
docs/benchmarks.md for the machine).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from classic_data import images, psnr_ssim, timed_restore

from benchdata.degradations import degrade
from reference_methods.registry import RestorationContext, list_methods

torch.set_num_threads(1)

OWN_MODULES = (
    "reference_methods.interpolation",
    "reference_methods.smoothing",
    "reference_methods.diffusion",
    "reference_methods.filtering",
    "reference_methods.transforms",
)
DEBLUR_SETTINGS = {
    "Gaussian 15×15 σ=2, noise σ=2.55 (demo track)": {
        "task": "deblur",
        "sigma": 2.55,
        "kernel": {"type": "gaussian", "size": 15, "sigma": 2.0},
    },
    "motion 15×15, noise σ=2.55": {"task": "deblur", "sigma": 2.55, "kernel": {"type": "motion", "size": 15}},
}
INPAINT_SETTINGS = {
    "random boxes, 20% (demo track)": {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}},
    "random pixels, 50%": {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.5}},
}


def methods_for(task: str, choice: str | None) -> list[str]:
    infos = list_methods(task)
    if choice == "classic":
        return [m.name for m in infos if m.family not in ("deep", "generative")]
    if choice:
        wanted = choice.split(",")
        return [m.name for m in infos if m.name in wanted]
    return [m.name for m in infos if m.fn.__module__ in OWN_MODULES]


class Table:
    """Accumulates per-image (psnr, ssim, seconds, megapixels) per (setting, method)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[tuple[float, float, float, float]]] = defaultdict(list)

    def add(self, setting: str, method: str, psnr: float, ssim: float, seconds: float, mp: float) -> None:
        self.rows[(setting, method)].append((psnr, ssim, seconds, mp))

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
        for (setting, method), values in self.rows.items():
            array = np.array(values)
            out[setting][method] = {
                "psnr": float(array[:, 0].mean()),
                "ssim": float(array[:, 1].mean()),
                "s_per_mp": float(array[:, 2].sum() / array[:, 3].sum()),
                "images": len(values),
            }
        return out


def run_denoise(methods: list[str], bsd68: int | None, table: Table) -> None:
    sets = {"Set12": images("set12"), "BSD68": images("bsd68")}
    if bsd68 is not None:
        sets["BSD68"] = sets["BSD68"][:bsd68]
    for sigma in (15, 25, 50):
        for set_name, pairs in sets.items():
            setting = f"{set_name} σ={sigma}"
            for index, (_, clean) in enumerate(pairs):
                noisy = degrade(clean, {"task": "denoise", "sigma": sigma}, 100 * sigma + index).image
                context = RestorationContext("denoise", sigma=sigma)
                for name in methods:
                    out, seconds = timed_restore(name, noisy, context)
                    p, s = psnr_ssim(out, clean)
                    table.add(setting, name, p, s, seconds, clean.size / 1e6)
                print(f"  {setting}: {index + 1}/{len(pairs)}", file=sys.stderr, flush=True)


def run_sr(methods: list[str], table: Table) -> None:
    hr_images = images("cset14")
    for scale in (2, 3, 4):
        for index, (_, hr) in enumerate(hr_images):
            case = degrade(hr, {"task": "sr", "scale": scale}, index)
            context = RestorationContext("sr", scale=scale)
            for name in methods:
                out, seconds = timed_restore(name, case.image, context)
                p, s = psnr_ssim(out, case.ground_truth, y_shave=scale)
                table.add(f"CSet14 ×{scale}", name, p, s, seconds, out.shape[0] * out.shape[1] / 1e6)
        print(f"  CSet14 ×{scale} done", file=sys.stderr, flush=True)


def run_starter(task: str, settings: dict[str, dict], methods: list[str], table: Table) -> None:
    test = images("starter", "test")
    for label, spec in settings.items():
        for index, (_, clean) in enumerate(test):
            case = degrade(clean, spec, 7000 + index)
            context = RestorationContext(task, sigma=spec.get("sigma"), kernel=case.kernel, mask=case.mask)
            p, s = psnr_ssim(case.image, clean)
            table.add(label, "(degraded input)", p, s, 0.0, clean.shape[0] * clean.shape[1] / 1e6)
            for name in methods:
                out, seconds = timed_restore(name, case.image, context)
                p, s = psnr_ssim(out, clean)
                table.add(label, name, p, s, seconds, clean.shape[0] * clean.shape[1] / 1e6)
        print(f"  {label} done", file=sys.stderr, flush=True)


def markdown(summary: dict[str, dict[str, dict[str, float]]], settings: list[str]) -> str:
    methods = sorted({m for s in settings for m in summary[s]})
    head = "| method | " + " | ".join(settings) + " | s/MP |"
    lines = [head, "|---" * (len(settings) + 2) + "|"]
    for method in methods:
        cells = []
        for setting in settings:
            r = summary[setting].get(method)
            cells.append(f"{r['psnr']:.2f} / {r['ssim']:.4f}" if r else "–")
        rates = [summary[s][method]["s_per_mp"] for s in settings if method in summary[s]]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {np.mean(rates):.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="denoise,sr,deblur,inpaint")
    parser.add_argument("--methods", default=None, help="comma-separated names, or 'classic'")
    parser.add_argument("--bsd68", type=int, default=None, help="use only the first N BSD68 images")
    parser.add_argument("--json", default=None, help="also write the summary here")
    args = parser.parse_args(argv)
    tasks = args.tasks.split(",")
    table = Table()
    sections = []
    if "denoise" in tasks:
        run_denoise(methods_for("denoise", args.methods), args.bsd68, table)
        for set_name in ("Set12", "BSD68"):
            sections.append((f"Gray denoising, {set_name}", [f"{set_name} σ={s}" for s in (15, 25, 50)]))
    if "sr" in tasks:
        run_sr(methods_for("sr", args.methods), table)
        sections.append(("Super-resolution, CSet14 (Y, shave = scale)", [f"CSet14 ×{s}" for s in (2, 3, 4)]))
    if "deblur" in tasks:
        run_starter("deblur", DEBLUR_SETTINGS, methods_for("deblur", args.methods), table)
        sections.append(("Deblurring, starter test split (RGB)", list(DEBLUR_SETTINGS)))
    if "inpaint" in tasks:
        run_starter("inpaint", INPAINT_SETTINGS, methods_for("inpaint", args.methods), table)
        sections.append(("Inpainting, starter test split (RGB)", list(INPAINT_SETTINGS)))
    summary = table.summary()
    for title, settings in sections:
        counts = {s: max(r["images"] for r in summary[s].values()) for s in settings}
        print(
            f"\n### {title} (PSNR dB / SSIM; images: {', '.join(f'{s}: {n}' for s, n in counts.items())})\n"
        )
        print(markdown(summary, settings))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
