"""Score the trained deep reference methods on the standard test sets; write scores and model cards.

    nice .venv/bin/python -m reference_methods.deep.training.evaluate --data ../shared/data

- Super-resolution (CSet14, ×2/×3/×4): every SR entry of export.SUBMISSIONS is exported to ONNX and
  run through the model-submission sandbox (`evaluator.model_runner.run_model_job`) on the track's
  8-bit LR inputs (benchdata's bicubic protocol), then scored with the SR track spec (PSNR/SSIM on
  BT.601 Y with shave = scale, LPIPS-Alex on RGB). The bicubic row is the same protocol's upscaling.
  Runtime per image, parameter count and peak memory come from the sandbox's RunReport.
- Denoising (Set12, BSD68, σ = 25): the registered methods (`reference_methods.restore`) on float,
  unclipped noisy images (the DnCNN protocol, which 8-bit track files cannot carry), outputs rounded
  to 8 bits, scored with PSNR/SSIM/LPIPS. Runtime is measured in process.

Writes reference_methods/deep/weights/scores.json and one model card per weights file
(weights/<name>.md) from its training record and these scores. Test sets are only ever scored.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchdata.degradations import degrade
from benchdata.image_files import read_image, to_uint8, write_image
from benchdata.resize import bicubic_sr_protocol
from evaluator.model_runner import RunLimits, run_model_job
from evaluator.scoring import score
from evaluator.spec import ScoringSpec
from reference_methods.deep.export import SUBMISSIONS, Submission, export_submission
from reference_methods.deep.inference import WEIGHTS_DIR, load_network, weights_record
from reference_methods.deep.training.determinism import reproduction_command, reproduction_note
from reference_methods.registry import RestorationContext, restore

SIGMA = 25
TRAIN_MODULE = "reference_methods.deep.training.train"
DENOISE_METHODS = {"dncnn": "dncnn_s25", "ipt": "ipt"}


def _sr_track(hr_dir: Path, scale: int, root: Path) -> tuple[Path, Path, Path]:
    inputs, gt, bicubic = (root / f"x{scale}" / d for d in ("inputs", "gt", "bicubic"))
    for d in (inputs, gt, bicubic):
        d.mkdir(parents=True)
    for path in sorted(hr_dir.glob("*.png")):
        proto = bicubic_sr_protocol(read_image(path), scale)
        write_image(inputs / path.name, proto.lr)
        write_image(gt / path.name, proto.hr)
        write_image(bicubic / path.name, proto.sr)
    return inputs, gt, bicubic


def _aggregates(result: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in result["aggregates"].items()}


# Scored like the submissions but not entered on the leaderboards: ESRGAN's PSNR-oriented pretraining,
# the starting point of its GAN fine-tuning (the paper's RRDB-PSNR row).
SCORED_ONLY = {"esrgan_psnr_x4": Submission("esrgan_psnr_x4", "sr", 4)}


def evaluate_sr(
    data: Path, work: Path, limits: RunLimits, entries: list[str] | None = None
) -> list[dict[str, Any]]:
    """CSet14 rows: bicubic and every SR entry per scale; only `entries` (no bicubic rows) when given."""
    rows = []
    onnx_dir = work / "onnx"
    for scale in (2, 3, 4):
        inputs, gt, bicubic = _sr_track(data / "CSet14", scale, work / "sr")
        spec = ScoringSpec.for_task("sr", scale=scale)
        if entries is None:
            base = score(bicubic, gt, spec).to_dict()
            rows.append({"method": "bicubic", "set": "CSet14", "scale": scale, **_aggregates(base)})
            print(rows[-1], flush=True)
        for name, sub in {**SUBMISSIONS, **SCORED_ONLY}.items():
            if sub.task != "sr" or sub.scale != scale or (entries is not None and name not in entries):
                continue
            path, manifest = export_submission(name, onnx_dir, sub)
            result = run_model_job(
                str(path),
                manifest,
                str(inputs),
                str(gt),
                spec.to_dict(),
                str(work / "jobs" / name),
                limits.__dict__,
            )
            run = result["run"]
            if not run["ok"]:
                raise RuntimeError(f"{name}: the sandboxed run failed: {run['error_kind']}: {run['error']}")
            rows.append(
                {
                    "method": name.rsplit("_x", 1)[0],
                    "entry": name,
                    "weights": sub.weights,
                    "set": "CSet14",
                    "scale": scale,
                    **_aggregates(result["score"]),
                    "seconds_per_image": round(run["seconds_per_image"], 4),
                    "parameters": run["parameters"],
                    "peak_memory_mib": round(run["peak_memory_bytes"] / 2**20, 1),
                    "path": "onnx via sandbox",
                }
            )
            print(rows[-1], flush=True)
    return rows


def evaluate_denoise(data: Path, work: Path) -> list[dict[str, Any]]:
    rows = []
    for set_name in ("Set12", "BSD68"):
        paths = sorted((data / set_name).glob("*.png"))
        gt = work / "dn" / set_name / "gt"
        gt.mkdir(parents=True)
        noisy = []
        for i, path in enumerate(paths):
            clean = read_image(path)
            write_image(gt / path.name, clean)
            noisy.append(degrade(clean, {"task": "denoise", "sigma": SIGMA}, seed=1000 + i).image)
        spec = ScoringSpec.for_task("denoise", metrics=("psnr", "ssim", "lpips"))
        for method, weights in DENOISE_METHODS.items():
            out = work / "dn" / set_name / method
            out.mkdir()
            context = RestorationContext(task="denoise", sigma=SIGMA)
            seconds = 0.0
            for path, y in zip(paths, noisy, strict=True):
                t = time.perf_counter()
                restored = restore(method, y, context)
                seconds += time.perf_counter() - t
                write_image(out / path.name, to_uint8(restored))
            net = load_network(weights, **({"task": "denoise25"} if method == "ipt" else {}))
            rows.append(
                {
                    "method": method,
                    "weights": weights,
                    "set": set_name,
                    "sigma": SIGMA,
                    **_aggregates(score(out, gt, spec).to_dict()),
                    "seconds_per_image": round(seconds / len(paths), 4),
                    "parameters": sum(p.numel() for p in net.parameters()),
                    "path": "registry restore() on float noisy images",
                }
            )
            print(rows[-1], flush=True)
    return rows


def _training_command(name: str, record: dict[str, Any]) -> str:
    """The recorded command line, or one rebuilt from the record for runs made through `train()`."""
    if record.get("command"):
        return str(record["command"])
    return reproduction_command(TRAIN_MODULE, name, record)


LOSS_NAMES = {
    "srgan": "VGG relu2_2 + adversarial + pixel MSE",
    "esrgan": "L1 on VGG16 conv5_3 features before ReLU + 5e-3 relativistic adversarial + 1e-2 L1 pixel",
}


def write_model_cards(rows: list[dict[str, Any]], weights_dir: Path = WEIGHTS_DIR) -> None:
    for record_path in sorted(weights_dir.glob("*.train.json")):
        name = record_path.name.removesuffix(".train.json")
        record = weights_record(name, weights_dir)
        mine = [r for r in rows if r.get("weights") == name]
        recipe = record["recipe"]
        loss_name = LOSS_NAMES.get(recipe["kind"], recipe["loss"])
        lines = [
            f"# Model card: {name}",
            "",
            f"- Architecture: `{record['arch']}` {json.dumps(record['arch_params'])} "
            f"({record['parameters']:,} parameters); see `reference_methods/deep/archs.py`.",
            f"- Training data: {', '.join(record['data'])} ({record['training_images']} images, gray / Y); "
            "never any test set.",
            f"- Recipe: {json.dumps(record['recipe'])}",
            f"- Command: `{_training_command(name, record)}`",
            reproduction_note(TRAIN_MODULE, name, record),
            f"- Training time: {record['seconds']:.0f} s wall ({record['steps']} steps of "
            f"{recipe['batch']} patches) on {record.get('device_name', record['device'])} "
            f"({record['machine']}, {record.get('cpu_threads', 1)} CPU thread); seed {record['seed']}."
            + (f" {record['notes'][0].upper()}{record['notes'][1:]}." if record.get("notes") else ""),
            f"- Final training loss ({loss_name}): {record['loss_history'][-1][2]:.5f} "
            f"(first logged: {record['loss_history'][0][2]:.5f}).",
            "",
            "## Scores (reference_methods/deep/training/evaluate.py)",
            "",
            "| set | task | PSNR | SSIM | LPIPS | s / image | path |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in mine:
            task = f"SR ×{r['scale']}" if "scale" in r else f"denoise σ={r['sigma']}"
            lines.append(
                f"| {r['set']} | {task} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
                f"{r.get('lpips', float('nan')):.4f} | {r['seconds_per_image']:.3f} | {r['path']} |"
            )
        lines += [
            "",
            "Scores are below the papers': minutes of training instead of days, and smaller networks "
            "(see docs/reference_methods.md, section Deep methods).",
        ]
        (weights_dir / f"{name}.md").write_text("\n".join(lines) + "\n")


PUBLISHED_SR = {  # Set14, PSNR dB on Y (VDSR Table 3; SRGAN paper for SRResNet/SRGAN; ESPCN compiled)
    ("bicubic", 2): 30.24,
    ("bicubic", 3): 27.55,
    ("bicubic", 4): 26.00,
    ("srcnn", 2): 32.42,
    ("srcnn", 3): 29.28,
    ("srcnn", 4): 27.49,
    ("vdsr", 2): 33.03,
    ("vdsr", 3): 29.77,
    ("vdsr", 4): 28.01,
    ("espcn", 3): 29.49,
    ("espcn", 4): 27.73,
    ("srresnet", 4): 28.49,
    ("srgan", 4): 26.02,
}
# ESRGAN's paper reports perceptual index and RMSE, not Set14 PSNR; its authors' repository gives PSNR
# for the PSNR-oriented RRDB only. No published row here, the docs say why.
PUBLISHED_DENOISE = {("dncnn", "BSD68"): 29.23, ("dncnn", "Set12"): 30.44}


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The docs table: one line per (method, set, task) with the published PSNR next to ours."""
    lines = [
        "| method | set | task | PSNR | SSIM | LPIPS | published PSNR | params | s / image | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "scale" in r:
            task, published = f"SR ×{r['scale']}", PUBLISHED_SR.get((r["method"], r["scale"]))
        else:
            task, published = f"σ = {r['sigma']}", PUBLISHED_DENOISE.get((r["method"], r["set"]))
        cells = [
            r["method"],
            r["set"],
            task,
            f"{r['psnr']:.2f}",
            f"{r['ssim']:.4f}",
            f"{r['lpips']:.4f}" if "lpips" in r else "–",
            f"{published:.2f}" if published else "–",
            f"{r['parameters']:,}" if "parameters" in r else "–",
            f"{r['seconds_per_image']:.3f}" if "seconds_per_image" in r else "–",
            f"{r['peak_memory_mib']:.0f}" if "peak_memory_mib" in r else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rescore_entries(args: argparse.Namespace, limits: RunLimits, t0: float) -> int:
    """Score `args.entries` only; their rows replace (or join, after their scale's rows) the old ones."""
    rows = json.loads(args.out.read_text())["rows"]
    with tempfile.TemporaryDirectory(prefix="restorebench-deep-eval-") as tmp:
        new = evaluate_sr(args.data, Path(tmp), limits, entries=args.entries)
    for row in new:
        old = [i for i, r in enumerate(rows) if r.get("entry") == row["entry"]]
        if old:
            rows[old[0]] = row
        else:
            last = max(i for i, r in enumerate(rows) if r.get("scale") == row["scale"])
            rows.insert(last + 1, row)
    args.out.write_text(
        json.dumps({"rows": rows, "seconds": round(time.perf_counter() - t0, 1)}, indent=1) + "\n"
    )
    write_model_cards(rows)
    print(markdown_table(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[4] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "scores.json")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table-only", action="store_true", help="print the docs table from --out and stop")
    parser.add_argument(
        "--entries",
        nargs="+",
        default=None,
        help="SR entries to (re)score, replacing their rows in --out and keeping every other row",
    )
    parser.add_argument(
        "--part",
        choices=("all", "sr", "denoise"),
        default="all",
        help="evaluate one part only, keeping the other part's rows from --out",
    )
    args = parser.parse_args(argv)
    if args.table_only:
        print(markdown_table(json.loads(args.out.read_text())["rows"]))
        return 0
    import torch

    torch.set_num_threads(args.threads)
    limits = RunLimits(threads=args.threads)
    t0 = time.perf_counter()
    if args.entries:
        return _rescore_entries(args, limits, t0)
    with tempfile.TemporaryDirectory(prefix="restorebench-deep-eval-") as tmp:
        work = Path(tmp)
        sr = evaluate_sr(args.data, work, limits) if args.part in ("all", "sr") else None
        dn = evaluate_denoise(args.data, work) if args.part in ("all", "denoise") else None
    if args.part != "all":  # keep the other part's rows from the previous run
        kept = json.loads(args.out.read_text())["rows"]
        sr = sr if sr is not None else [r for r in kept if "scale" in r]
        dn = dn if dn is not None else [r for r in kept if "scale" not in r]
    rows = sr + dn
    args.out.write_text(
        json.dumps({"rows": rows, "seconds": round(time.perf_counter() - t0, 1)}, indent=1) + "\n"
    )
    write_model_cards(rows)
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
