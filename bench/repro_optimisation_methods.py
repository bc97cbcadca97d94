"""Reproduction tables for the optimisation, sparse and low-rank reference methods.

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python bench/repro_optimisation_methods.py \\
        [--tasks denoise,sr,deblur,inpaint] [--methods bm3d,wnnm,...]
        [--limits wnnm=5:2,nnm=5:2,ksvd=12:10] [--sigmas 15,25,50] [--json OUT.json]
        [--records OUT.jsonl]   (--methods bm3d/2007: BM3D with the 2007 release's parameters)
    .venv/bin/python bench/repro_optimisation_methods.py --render var/repro/a.jsonl var/repro/b.jsonl

`--records` appends one JSON line per image and method as it is measured (so a killed run keeps its
results, and a rerun with the same file skips what is already there); `--render` prints the tables
from such files without computing anything. To split the work over parallel jobs: `--only STEMS`
(these images), `--reverse` (last image first), `--watch FILES` (skip what the other jobs' records
already hold, re-read before each image). Denoising goes image by image, every σ of an image before
the next, so a run stopped early has the same images at each σ.

Same data, seeds and scoring as bench/repro_classic_methods.py (and `bench/classic_data.py`), so the
numbers sit in one table with the other classic methods:

- denoise: Set12 and BSD68 (gray) at σ = 15 / 25 / 50, noisy = clean + σ/255·N(0, 1) unclipped
  (`benchdata.degradations.degrade`, seed = 100·σ + image index); restored image and ground truth
  rounded and clipped to uint8, PSNR with no shave (the DnCNN protocol) and SSIM (ssim_index).
  The slow group methods (`wnnm`, `nnm`, `ksvd` — pure numpy on a shared 2-core machine) run on the
  first N Set12 and M BSD68 images (sorted by name, `--limits`); the table says how many images each
  number averages, prints the published BM3D/WNNM averages (DnCNN paper, Table II and its Set12
  table) beside ours, and the difference to BM3D on the same images (comparable with the published
  WNNM − BM3D gap even on a subset). `lssc` and `octobos` (learned sparse models) print LSSC's
  published BSD68 averages (TNRD paper's comparison table); OCTOBOS has none on these sets.
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
from repro_classic_methods import DEBLUR_SETTINGS, INPAINT_SETTINGS, Table, markdown  # noqa: E402

from benchdata.degradations import degrade  # noqa: E402
from reference_methods.registry import RestorationContext  # noqa: E402

DENOISERS = (
    "bm3d",
    "wnnm",
    "nnm",
    "ksvd",
    "tv",
    "lssc",
    "octobos",
    "ncsr",
    "gsr",
    "twsc",
    "ridgelet",
    "bandlet",
)
DEBLURRERS = ("tv", "hyper_laplacian", "richardson_lucy", "ncsr", "gsr")
INPAINTERS = ("tv", "ksvd", "lowrank_completion", "gsr")
SR = ("bicubic", "scsr")

# PSNR (dB) published in the DnCNN paper (Zhang et al., TIP 2017): Table II (BSD68) and the Set12
# table's averages; see ../shared/docs/conventions.md.
PUBLISHED = {
    "bm3d": {"BSD68": (31.07, 28.57, 25.62), "Set12": (32.37, 29.97, 26.72)},
    "wnnm": {"BSD68": (31.37, 28.83, 25.87), "Set12": (32.70, 30.26, 27.05)},
    # LSSC on the 68 BSD images as compiled in Chen & Pock's comparison (TNRD, TPAMI 2017); the DnCNN
    # paper does not list LSSC. No Set12 table exists for LSSC, none for OCTOBOS on either set.
    "lssc": {"BSD68": (31.27, 28.70, 25.72)},
}
SIGMAS = (15, 25, 50)


class RecordTable(Table):
    """A Table that knows each row's image and can append every row to a JSON-lines file at once."""

    def __init__(self, records: Path | None = None) -> None:
        super().__init__()
        self.records = records
        self.images: dict[tuple[str, str], list[str]] = {}
        self.done: set[tuple[str, str, str]] = set()

    def add(  # type: ignore[override]
        self,
        setting: str,
        method: str,
        psnr: float,
        ssim: float,
        seconds: float,
        mp: float,
        image: str | None = None,
        *,
        write: bool = True,
    ) -> None:
        stems = self.images.setdefault((setting, method), [])
        image = image if image is not None else str(len(stems))
        if (setting, method, image) in self.done:
            return
        super().add(setting, method, psnr, ssim, seconds, mp)
        stems.append(image)
        self.done.add((setting, method, image))
        if write and self.records is not None:
            row = {"setting": setting, "method": method, "image": image, "psnr": psnr, "ssim": ssim}
            row |= {"seconds": seconds, "mp": mp}
            with self.records.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    def load(self, path: Path) -> None:
        """Add the rows of a JSON-lines records file (later duplicates of a row are ignored)."""
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:  # blank, or a line another process is still writing
                continue
            if r:
                self.add(
                    r["setting"],
                    r["method"],
                    r["psnr"],
                    r["ssim"],
                    r["seconds"],
                    r["mp"],
                    r["image"],
                    write=False,
                )

    def psnr_by_image(self, setting: str, method: str) -> dict[str, float]:
        stems = self.images.get((setting, method), [])
        return {stem: row[0] for stem, row in zip(stems, self.rows.get((setting, method), []), strict=True)}


def run_denoise(
    methods: list[str],
    limits: dict[str, dict[str, int | None]],
    table: RecordTable,
    sigmas: tuple[int, ...] = SIGMAS,
    only: set[str] | None = None,
    reverse: bool = False,
    watch: list[Path] | None = None,
) -> None:
    # Image-major order (every σ of an image before the next image): a run stopped early still has
    # the same images at every σ. Noise seeds depend only on σ and the image index.
    sets = {"Set12": images("set12"), "BSD68": images("bsd68")}
    for set_name, pairs in sets.items():
        indexed = list(enumerate(pairs))
        for index, (stem, clean) in reversed(indexed) if reverse else indexed:
            for path in watch or []:  # rows another process has recorded meanwhile
                if path.exists():
                    table.load(path)
            for sigma in sigmas:
                setting = f"{set_name} σ={sigma}"
                wanted = [
                    m
                    for m in methods
                    if (limits[m][set_name] is None or index < limits[m][set_name])
                    and (setting, m, stem) not in table.done
                    and (only is None or stem in only)
                ]
                if not wanted:
                    continue
                noisy = degrade(clean, {"task": "denoise", "sigma": sigma}, 100 * sigma + index).image
                for name in wanted:
                    # "bm3d/PROFILE": BM3D with another profile of bm3d_wrapper._BM3D_PROFILES (e.g. 2007)
                    method, _, profile = name.partition("/")
                    params = {"profile": profile} if profile else {}
                    context = RestorationContext("denoise", sigma=sigma, params=params)
                    out, seconds = timed_restore(method, noisy, context)
                    p, s = psnr_ssim(out, clean)
                    table.add(setting, name, p, s, seconds, clean.size / 1e6, stem)
                    print(
                        f"  {setting} {stem} {name}: {p:.2f} dB, {seconds:.1f} s", file=sys.stderr, flush=True
                    )


def run_sr(methods: list[str], table: RecordTable) -> None:
    hr_images = images("cset14")
    for scale in (2, 3, 4):
        for index, (stem, hr) in enumerate(hr_images):
            case = degrade(hr, {"task": "sr", "scale": scale}, index)
            context = RestorationContext("sr", scale=scale)
            for name in methods:
                if (f"CSet14 ×{scale}", name, stem) in table.done:
                    continue
                out, seconds = timed_restore(name, case.image, context)
                p, s = psnr_ssim(out, case.ground_truth, y_shave=scale)
                table.add(f"CSet14 ×{scale}", name, p, s, seconds, out.shape[0] * out.shape[1] / 1e6, stem)
                print(
                    f"  CSet14 x{scale} {stem} {name}: {p:.2f} dB, {seconds:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )


def run_starter(task: str, settings: dict[str, dict], methods: list[str], table: RecordTable) -> None:
    """repro_classic_methods.run_starter, resumable: rows are keyed by the test image's index."""
    test = images("starter", "test")
    for label, spec in settings.items():
        for index, (stem, clean) in enumerate(test):
            key = str(index)
            wanted = [m for m in ("(degraded input)", *methods) if (label, m, key) not in table.done]
            if not wanted:
                continue
            case = degrade(clean, spec, 7000 + index)
            context = RestorationContext(task, sigma=spec.get("sigma"), kernel=case.kernel, mask=case.mask)
            mp = clean.shape[0] * clean.shape[1] / 1e6
            for name in wanted:
                if name == "(degraded input)":
                    out, seconds = case.image, 0.0
                else:
                    out, seconds = timed_restore(name, case.image, context)
                p, s = psnr_ssim(out, clean)
                table.add(label, name, p, s, seconds, mp, key)
                print(f"  {label} {stem} {name}: {p:.2f} dB, {seconds:.1f} s", file=sys.stderr, flush=True)


def starter_markdown(summary: dict[str, dict[str, dict[str, float]]], settings: list[str]) -> str:
    """markdown() of repro_classic_methods with the number of images behind each cell."""
    methods = sorted({m for s in settings for m in summary.get(s, {})})
    lines = ["| method | " + " | ".join(settings) + " | s/MP |", "|---" * (len(settings) + 2) + "|"]
    for method in methods:
        cells, rates = [], []
        for setting in settings:
            r = summary.get(setting, {}).get(method)
            cells.append(f"{r['psnr']:.2f} / {r['ssim']:.4f} ({r['images']})" if r else "–")
            if r:
                rates.append(r["s_per_mp"])
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {np.mean(rates):.2f} |")
    return "\n".join(lines)


def denoise_markdown(table: RecordTable, set_name: str) -> str:
    """One row per method: PSNR/SSIM per σ, image counts, published PSNR, gap to BM3D on the same images."""
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
        rows = [summary.get(s, {}).get(method) for s in settings]
        count = "/".join(str(r["images"]) if r else "0" for r in rows)
        cells = [f"{r['psnr']:.2f} / {r['ssim']:.4f}" if r else "–" for r in rows]
        published = PUBLISHED.get(method, {}).get(set_name)
        pub = " / ".join(f"{v:.2f}" for v in published) if published else "–"
        gaps = []
        for s in settings:
            ours, bm3d = table.psnr_by_image(s, method), table.psnr_by_image(s, "bm3d")
            common = sorted(set(ours) & set(bm3d))
            gaps.append(
                f"{np.mean([ours[i] - bm3d[i] for i in common]):+.2f}"
                if common and method != "bm3d" and len(common) == len(ours)
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
    parser.add_argument("--sigmas", default="15,25,50", help="denoising noise levels to run")
    parser.add_argument("--reverse", action="store_true", help="denoise the images last to first")
    parser.add_argument(
        "--watch", nargs="*", default=None, help="records files of parallel runs: skip what they have done"
    )
    parser.add_argument("--only", default=None, help="denoise only these image stems (to split a run)")
    parser.add_argument("--json", default=None, help="also write the summary here")
    parser.add_argument("--records", default=None, help="append per-image rows here (JSON lines); resumes")
    parser.add_argument(
        "--render", nargs="+", default=None, help="only print tables from these records files"
    )
    args = parser.parse_args(argv)
    chosen = set(args.methods.split(",")) if args.methods else None

    def pick(names: tuple[str, ...]) -> list[str]:
        return [n for n in names if chosen is None or n in chosen]

    tasks = args.tasks.split(",")
    table = RecordTable(Path(args.records) if args.records else None)
    if args.records and Path(args.records).exists():
        table.load(Path(args.records))
    if args.render:
        for path in map(Path, args.render):
            if path.exists():
                table.load(path)
            else:
                print(f"  (no records yet in {path})", file=sys.stderr)
    else:
        if "denoise" in tasks:
            methods = pick(DENOISERS) + sorted(m for m in chosen or () if m.startswith("bm3d/"))
            given = parse_limits(args.limits)
            limits = {
                m: dict(zip(("Set12", "BSD68"), given.get(m, (None, None)), strict=True)) for m in methods
            }
            only = set(args.only.split(",")) if args.only else None
            sigmas = tuple(int(s) for s in args.sigmas.split(","))
            watch = [Path(w) for w in args.watch or []]
            run_denoise(methods, limits, table, sigmas, only, args.reverse, watch)
        if "sr" in tasks:
            run_sr(pick(SR), table)
        if "deblur" in tasks:
            run_starter("deblur", DEBLUR_SETTINGS, pick(DEBLURRERS), table)
        if "inpaint" in tasks:
            run_starter("inpaint", INPAINT_SETTINGS, pick(INPAINTERS), table)
    summary = table.summary()
    out: list[str] = []
    for set_name in ("Set12", "BSD68"):
        if any(s.startswith(set_name + " ") for s in summary):
            out.append(f"\n### Gray denoising, {set_name} (PSNR dB / SSIM; images per σ = 15 / 25 / 50)\n")
            out.append(denoise_markdown(table, set_name))
    sections = [
        ("Super-resolution, CSet14 (Y, shave = scale; PSNR dB / SSIM)", [f"CSet14 ×{s}" for s in (2, 3, 4)]),
        ("Deblurring, starter test split (RGB; PSNR dB / SSIM (images))", list(DEBLUR_SETTINGS)),
        ("Inpainting, starter test split (RGB; PSNR dB / SSIM (images))", list(INPAINT_SETTINGS)),
    ]
    for title, settings in sections:
        if any(s in summary for s in settings):
            out.append(f"\n### {title}\n")
            out.append((markdown if title.startswith("Super") else starter_markdown)(summary, settings))
    print("\n".join(out))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
