"""Measure the generative priors against the classic baselines on starter images; write the model cards.

    nice -n 19 .venv/bin/python -m reference_methods.generative.report --split test \
        --out reference_methods/generative/weights/scores_test.json --cards

Builds the starter benchmarks (gray and RGB, from installed packages) in a temporary folder, takes
the images of one split, degrades them with the platform's own `benchdata.degradations.degrade`:
- inpainting: random boxes, 20% coverage (boxes of 5-25% of the side), seed = image index;
- SR ×4: the bicubic protocol (MATLAB imresize, uint8 LR),
runs every generative method and the classic baselines (bicubic; harmonic and biharmonic fill), and
scores them with the evaluator's metrics: PSNR and SSIM (MATLAB ssim_index) on the gray image or
the BT.601 Y channel of RGB, SR with `scale` pixels shaved from every border, inpainting over the
whole image (known pixels are exact, so the scores are driven by the holes). Writes a JSON record
(per image and mean scores, seconds per image) and, with --cards, the model cards weights/<name>.md
from weights/<name>.train.json and these scores.

`--split val` is what the default parameters were chosen on; the test split is only reported.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchdata.degradations import degrade
from benchdata.image_files import read_image
from benchdata.manifests import load_manifest
from benchdata.starter import build_starter
from evaluator.metrics.color import rgb_to_bt601_luma
from evaluator.metrics.psnr import psnr
from evaluator.metrics.ssim import ssim
from reference_methods.deep.training.determinism import reproduction_note
from reference_methods.registry import RestorationContext, restore

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TRAIN_MODULE = "reference_methods.generative.training.train"
INPAINT_SPEC = {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}}
SR_SCALE = 4
GENERATIVE = {
    "inpaint": ["pixelcnn", "vae", "dcgan", "realnvp", "vqvae", "pixelrnn", "vqvae2"],
    "sr": ["vae", "dcgan", "realnvp", "vqvae"],
}
CLASSIC = {"inpaint": ["harmonic_inpaint", "biharmonic_inpaint"], "sr": ["bicubic"]}
MODEL_OF_METHOD = {
    "pixelcnn": ["pixelcnn"],
    "vae": ["vae"],
    "dcgan": ["dcgan"],
    "realnvp": ["realnvp"],
    "vqvae": ["vqvae", "vqvae_prior"],
    "pixelrnn": ["pixelrnn"],
    "vqvae2": ["vqvae2", "vqvae2_top_prior", "vqvae2_bottom_prior"],
}


def starter_images(split: str, root: Path) -> list[tuple[str, np.ndarray]]:
    """(name, image) of the starter split, gray variant first, as float64 on [0, 1]."""
    out = []
    for variant in ("starter_gray", "starter"):
        folder = build_starter(root / variant, variant)
        names = load_manifest(variant).data["recipe"]
        for entry in names:
            if entry["split"] == split and (folder / f"{entry['name']}.png").is_file():
                out.append((entry["name"], read_image(folder / f"{entry['name']}.png")))
    return out


def _luma(image: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float64))
    if t.ndim == 2:
        return t[None, None]
    return rgb_to_bt601_luma(t.permute(2, 0, 1)[None])


def score(pred: np.ndarray, gt: np.ndarray, shave: int) -> dict[str, float]:
    """PSNR (dB) and SSIM on gray / BT.601 Y, `shave` pixels cut from every border."""
    p, g = _luma(np.clip(pred, 0, 1)), _luma(gt)
    if shave:
        p, g = p[..., shave:-shave, shave:-shave], g[..., shave:-shave, shave:-shave]
    return {"psnr": float(psnr(p, g)[0]), "ssim": float(ssim(p, g)[0])}


def run(
    split: str,
    methods: dict[str, list[str]],
    params: dict[str, dict[str, Any]] | None = None,
    limit: int | None = None,
    names: list[str] | None = None,
) -> dict[str, Any]:
    """Scores of `methods` per task on the starter `split`; `params` overrides per method."""
    params = params or {}
    results: dict[str, Any] = {"split": split, "tasks": {}}
    with tempfile.TemporaryDirectory() as tmp:
        images = starter_images(split, Path(tmp))
    if names:
        unknown = set(names) - {name for name, _ in images}
        if unknown:
            raise ValueError(f"images {sorted(unknown)} are not in the starter {split} split")
        images = [(name, image) for name, image in images if name in names]
    images = images[:limit]
    for task, names in methods.items():
        rows: dict[str, dict[str, Any]] = {name: {"images": {}} for name in names}
        for index, (image_name, image) in enumerate(images):
            if task == "inpaint":
                d = degrade(image, INPAINT_SPEC, seed=index)
                ctx = RestorationContext("inpaint", mask=d.mask)
                gt, shave = image, 0
            else:
                d = degrade(image, {"task": "sr", "scale": SR_SCALE}, seed=index)
                ctx = RestorationContext("sr", scale=SR_SCALE)
                gt, shave = d.ground_truth, SR_SCALE
            for name in names:
                start = time.perf_counter()
                out = restore(name, d.image, ctx.replace(params=params.get(name, {})))
                seconds = time.perf_counter() - start
                rows[name]["images"][image_name] = {**score(out, gt, shave), "seconds": round(seconds, 1)}
                print(f"{task} {image_name} {name}: {rows[name]['images'][image_name]}", flush=True)
        for row in rows.values():
            values = list(row["images"].values())
            row["mean"] = {k: float(np.mean([v[k] for v in values])) for k in ("psnr", "ssim", "seconds")}
        results["tasks"][task] = rows
    results["images"] = [name for name, _ in images]
    results["protocol"] = {
        "inpaint": INPAINT_SPEC,
        "sr": {"scale": SR_SCALE, "shave": SR_SCALE},
        "metrics": "evaluator psnr/ssim on gray or BT.601 Y",
        "params": params,
    }
    results["machine"] = {"threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()}
    return results


def write_cards(scores: dict[str, Any], weights_dir: Path = WEIGHTS_DIR) -> None:
    """weights/<model>.md from the training record and the restoration scores, for the methods that
    `scores` holds (a run of some methods leaves the other cards alone)."""
    scored = {name for rows in scores["tasks"].values() for name in rows}
    for method, models in MODEL_OF_METHOD.items():
        if method not in scored:
            continue
        for model in models:
            record = json.loads((weights_dir / f"{model}.train.json").read_text())
            lines = [
                f"# Model card: {model}",
                "",
                f"- Architecture: `{record['arch']}` {json.dumps(record['arch_params'])}, "
                f"{record['parameters']:,} parameters, file `{model}.safetensors`.",
                f"- Used by the registered method `{method}` (reference_methods/generative/"
                f"{'methods_ar' if method in ('pixelrnn', 'vqvae2') else 'methods'}.py).",
                f"- Training data: {', '.join(record['data'])}: {record['training_images']} gray images "
                f"(the last {record['held_out_images']} held out for the metrics below); never a test set.",
                f"- Command: `{record['command']}`",
                reproduction_note(TRAIN_MODULE, model, record),
                f"- Time: {record['seconds']:.0f} s wall clock, {record['steps']} steps, device "
                f"{record.get('device_name', record['device'])} ({record['cpu_threads']} CPU thread(s)), "
                f"{record['machine']}."
                + (f" {record['notes'][0].upper()}{record['notes'][1:]}." if record.get("notes") else ""),
                f"- Seed: {record['seed']}. Recipe: {json.dumps(record['recipe'])}.",
                f"- Final training loss: {record['loss_history'][-1][2]:.4f} "
                f"(first logged: {record['loss_history'][0][2]:.4f}).",
                f"- Held-out metrics: {json.dumps(record.get('held_out', {}))}.",
                "",
                f"## Restoration scores (`{method}`, starter {scores['split']} split: "
                f"{', '.join(scores['images'])})",
                "",
                "PSNR (dB) / SSIM on gray or BT.601 Y; inpainting: 20% random boxes; SR ×4: bicubic "
                "protocol, shave 4. Produced by `python -m reference_methods.generative.report`.",
                "",
                "| task | this method | classic baseline |",
                "|---|---|---|",
            ]
            for task, rows in scores["tasks"].items():
                if method not in rows:
                    continue
                mine = rows[method]["mean"]
                classic = CLASSIC[task][-1]
                base = rows.get(classic, {}).get("mean")
                base_text = f"{classic}: {base['psnr']:.2f} / {base['ssim']:.4f}" if base else "(not run)"
                lines.append(
                    f"| {task} | {mine['psnr']:.2f} / {mine['ssim']:.4f} "
                    f"({mine['seconds']:.0f} s/image) | {base_text} |"
                )
            lines += [
                "",
                'See docs/reference_methods.md, section "Generative priors", for what it does well '
                "and badly.",
                "",
            ]
            (weights_dir / f"{model}.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the scores")
    parser.add_argument("--methods", nargs="*", help="only these methods (default: all, with baselines)")
    parser.add_argument("--params", type=json.loads, default={}, help='JSON {"method": {"param": value}}')
    parser.add_argument("--limit", type=int, default=None, help="only the first N images of the split")
    parser.add_argument("--images", nargs="*", help="only these images of the split (by name)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cards", action="store_true", help="write the model cards from these scores")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    methods = {task: GENERATIVE[task] + CLASSIC[task] for task in GENERATIVE}
    if args.methods:
        methods = {t: [m for m in names if m in args.methods] for t, names in methods.items()}
        methods = {t: names for t, names in methods.items() if names}
    results = run(args.split, methods, args.params, args.limit, args.images)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    if args.cards:
        write_cards(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
