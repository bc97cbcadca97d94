"""Train one deep reference method for a budget of iterations and write its weights + training record.

    nice .venv/bin/python -m reference_methods.deep.training.train vdsr \
        --data ../shared/data/Train400 --steps 20000 --seed 0 --threads 1 --device cpu

writes reference_methods/deep/weights/<name>.safetensors (recipe, seed, steps, device and torch build
in its metadata) and <name>.train.json (data, command, time, steps, seed, device, loss curve). Runs
on CUDA when present unless `--device cpu`. The same command with the same torch build and device
gives the same weight file bit for bit (see determinism.py): a budget in iterations, not minutes.

Recipes (one per committed weights file) fix the architecture, loss, optimiser and patch sampling:
- srcnn, vdsr: one model for ×2/×3/×4 (scales cycled per step; VDSR trains multi-scale as in its paper,
  SRCNN per scale in its paper — a deviation that saves two trainings), MSE.
- espcn_x2/x3/x4: one model per scale, MSE.
- srresnet_x4 (the paper's scale) and srresnet_x2: MSE. srgan_x4 / srgan_x2: start from the matching
  SRResNet and train with the SRGAN loss (VGG feature loss + 1e-3 adversarial), see gan.py.
- dncnn_s25: σ = 25, MSE on the residual (DnCNN-S).
- ipt: all four IPT tasks (denoise σ = 25, SR ×2/×3/×4), one task per step in turn, L1.
- esrgan_psnr_x4: the ESRGAN generator (RRDBNet) trained PSNR-oriented with L1, as the paper pretrains;
  esrgan_x4 starts from it and trains with the ESRGAN loss (VGG16 conv5_3 features before activation,
  relativistic average GAN, L1 pixel term; see esrgan.py).
Adam everywhere (the papers mostly used SGD with far longer schedules), learning rate divided by 10 at
80% of the iterations; VDSR clips the gradient norm (at 1), as its paper clips gradients.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from reference_methods.deep.archs import IPT_TASKS, create_arch
from reference_methods.deep.training.data import NoisyPatches, SRPatches, load_images, starter_train_images
from reference_methods.deep.training.determinism import (
    deterministic,
    device_label,
    pick_device,
    run_record,
    save_weights,
)

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "Train400"


@dataclass(frozen=True)
class Recipe:
    arch: str
    params: dict[str, Any]
    kind: str  # "sr" | "denoise" | "ipt" | "srgan" | "esrgan"
    scales: tuple[int, ...] = ()
    patch: int = 16  # LR patch side for SR, clean patch side for denoising
    batch: int = 16
    lr: float = 1e-3
    loss: str = "mse"
    clip: float | None = None
    init_from: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    "srcnn": Recipe("srcnn", {"scale": 3}, "sr", scales=(2, 3, 4), patch=12, batch=32),
    "vdsr": Recipe("vdsr", {"scale": 3}, "sr", scales=(2, 3, 4), patch=11, batch=16, clip=1.0),
    "espcn_x2": Recipe("espcn", {"scale": 2}, "sr", scales=(2,), patch=17, batch=32),
    "espcn_x3": Recipe("espcn", {"scale": 3}, "sr", scales=(3,), patch=17, batch=32),
    "espcn_x4": Recipe("espcn", {"scale": 4}, "sr", scales=(4,), patch=17, batch=32),
    "srresnet_x4": Recipe("srresnet", {"scale": 4}, "sr", scales=(4,), patch=16, batch=16),
    "srresnet_x2": Recipe("srresnet", {"scale": 2}, "sr", scales=(2,), patch=24, batch=16),
    "srgan_x2": Recipe(
        "srresnet",
        {"scale": 2},
        "srgan",
        scales=(2,),
        patch=24,
        batch=8,
        lr=1e-4,
        init_from="srresnet_x2",
        extra={"adversarial_weight": 1e-3, "vgg_layer": "relu2_2", "pixel_weight": 1.0},
    ),
    "srgan_x4": Recipe(
        "srresnet",
        {"scale": 4},
        "srgan",
        scales=(4,),
        patch=16,
        batch=8,
        lr=1e-4,
        init_from="srresnet_x4",
        extra={"adversarial_weight": 1e-3, "vgg_layer": "relu2_2", "pixel_weight": 1.0},
    ),
    "esrgan_psnr_x4": Recipe(
        "rrdbnet", {"scale": 4}, "sr", scales=(4,), patch=16, batch=8, lr=5e-4, loss="l1"
    ),
    "esrgan_x4": Recipe(
        "rrdbnet",
        {"scale": 4},
        "esrgan",
        scales=(4,),
        patch=16,
        batch=8,
        lr=1e-4,
        init_from="esrgan_psnr_x4",
        # The paper's weights: perceptual 1, relativistic adversarial 5e-3, L1 pixel 1e-2.
        extra={"adversarial_weight": 5e-3, "pixel_weight": 1e-2, "vgg_layer": "conv5_3 before ReLU"},
    ),
    "dncnn_s25": Recipe("dncnn", {}, "denoise", patch=40, batch=16, extra={"sigma": 25.0}),
    "ipt": Recipe(
        "ipt",
        {"task": "denoise25"},
        "ipt",
        scales=(2, 3, 4),
        patch=40,
        batch=8,
        lr=5e-4,
        loss="l1",
        extra={"sigma": 25.0},
    ),
}


def _loss(name: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target) if name == "l1" else F.mse_loss(pred, target)


def train(
    name: str,
    data: list[Path],
    steps: int,
    seed: int = 0,
    out_dir: Path = WEIGHTS_DIR,
    log_every: int = 25,
    quiet: bool = False,
    starter_train: bool = False,
    batch: int | None = None,
    threads: int = 1,
    device: str | None = None,
) -> dict[str, Any]:
    """Train recipe `name` for `steps` iterations, deterministically; save weights and record; return it.

    data: folders of clean training PNGs; starter_train adds the starter benchmark's train split.
    batch: patches per step instead of the recipe's (a GPU has room for larger batches).
    threads: torch CPU threads (part of what makes a run reproducible); device: "cpu", "cuda" or
    None for CUDA when present.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; recipes: {', '.join(sorted(RECIPES))}")
    if steps < 1:
        raise ValueError(f"steps must be a positive number of iterations, got {steps}")
    recipe = RECIPES[name]
    if batch is not None:
        if batch < 1:
            raise ValueError(f"batch must be a positive number of patches, got {batch}")
        recipe = replace(recipe, batch=batch)
    where = pick_device(device)
    images = load_images(data)
    if starter_train:
        images += starter_train_images()
    start = time.perf_counter()
    with deterministic(seed, threads):
        net, history = _fit(name, recipe, images, steps, seed, where, out_dir, log_every, quiet)
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    # Only what the command fixes goes into the file (no times), so reruns give identical bytes.
    meta = {
        "recipe": name,
        "arch": recipe.arch,
        "seed": str(seed),
        "steps": str(steps),
        "batch": str(recipe.batch),
        "device": device_label(where),
        "cpu_threads": str(threads),
        "torch": torch.__version__,
    }
    save_weights(state, out_dir / f"{name}.safetensors", meta)
    record = {
        "name": name,
        "arch": recipe.arch,
        "arch_params": recipe.params,
        "recipe": {k: v for k, v in recipe.__dict__.items() if k not in ("arch", "params")},
        "data": [str(Path(d)) for d in data] + (["starter benchmark, train split"] if starter_train else []),
        "training_images": len(images),
        # sys.argv[0] is the file's absolute path under `python -m`: record the module form instead.
        "command": f"python -m {__spec__.name} " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if __name__ == "__main__"
        else None,
        **run_record(
            net, where=where, threads=threads, seconds=seconds, steps=steps, seed=seed, history=history
        ),
    }
    (out_dir / f"{name}.train.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def _gan_loss(recipe: Recipe, device: torch.device, seed: int):  # noqa: ANN202 - SRGANLoss | ESRGANLoss
    """The adversarial training loss of a GAN recipe, or None."""
    if recipe.kind == "srgan":
        from reference_methods.deep.training.gan import SRGANLoss

        return SRGANLoss(
            device,
            recipe.extra["adversarial_weight"],
            seed=seed,
            pixel_weight=recipe.extra.get("pixel_weight", 0.0),
        )
    if recipe.kind == "esrgan":
        from reference_methods.deep.training.esrgan import ESRGANLoss

        return ESRGANLoss(device, recipe.extra, seed=seed)
    return None


def _fit(
    name: str,
    recipe: Recipe,
    images: list,
    steps: int,
    seed: int,
    device: torch.device,
    out_dir: Path,
    log_every: int,
    quiet: bool,
) -> tuple[torch.nn.Module, list[tuple[int, float, float]]]:
    """The training loop: `steps` iterations, learning rate /10 from 80% of them on; the trained net."""
    net = create_arch(recipe.arch, **recipe.params).to(device)
    if recipe.init_from:
        from safetensors.torch import load_file

        net.load_state_dict(load_file(str(out_dir / f"{recipe.init_from}.safetensors")))
    optimiser = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    if recipe.kind in ("sr", "srgan", "esrgan"):
        sampler = SRPatches(images, recipe.scales, recipe.patch, seed)
    elif recipe.kind == "denoise":
        sampler = NoisyPatches(images, recipe.extra["sigma"], recipe.patch, seed)
    else:
        # LR tiles and clean tiles are the network's fixed input size.
        sampler = (
            SRPatches(images, recipe.scales, recipe.patch, seed),
            NoisyPatches(images, recipe.extra["sigma"], recipe.patch, seed + 1),
        )
    gan = _gan_loss(recipe, device, seed)
    start = time.perf_counter()
    history: list[tuple[int, float, float]] = []
    running: list[float] = []
    net.train()
    for step in range(steps):
        if step == math.ceil(0.8 * steps):
            for group in optimiser.param_groups:
                group["lr"] *= 0.1
        if recipe.kind in ("sr", "srgan", "esrgan"):
            scale = recipe.scales[step % len(recipe.scales)]
            if hasattr(net, "up") and hasattr(net.up, "scale"):
                net.up.scale = scale  # multi-scale models: the fixed bicubic stage follows the batch
            x, y = sampler.batch(recipe.batch, scale)
            x, y = x.to(device), y.to(device)
            pred = net(x)
            loss = gan.generator_step(pred, y) if gan else _loss(recipe.loss, pred, y)
        elif recipe.kind == "denoise":
            x, y = sampler.batch(recipe.batch)
            pred = net(x.to(device))
            loss = _loss(recipe.loss, pred, y.to(device))
        else:
            task = IPT_TASKS[step % len(IPT_TASKS)]
            if task.startswith("sr"):
                # LR tiles are the network's fixed 48×48 input size.
                x, y = sampler[0].batch(recipe.batch, int(task[2:]))
            else:
                x, y = sampler[1].batch(recipe.batch)
            pred = net(x.to(device), task)
            loss = _loss(recipe.loss, pred, y.to(device))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), recipe.clip)
        optimiser.step()
        if gan:
            gan.discriminator_step(pred.detach(), y)
        running.append(loss.item())
        if (step + 1) % log_every == 0 or step + 1 == steps:
            history.append((step + 1, round(time.perf_counter() - start, 1), float(np.mean(running))))
            running.clear()
            if not quiet:
                print(f"{name} step {step + 1} {history[-1][1]:.0f}s loss {history[-1][2]:.6f}", flush=True)
    net.eval()
    return net, history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipe", choices=sorted(RECIPES))
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help=f"folder of clean training PNGs (repeatable; default {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--steps", "--max-steps", type=int, required=True, help="training budget in iterations"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=None, help="patches per step (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when present, else CPU"
    )
    args = parser.parse_args(argv)
    record = train(
        args.recipe,
        args.data or [DEFAULT_DATA],
        args.steps,
        args.seed,
        args.out,
        batch=args.batch,
        threads=args.threads,
        device=args.device,
    )
    print(json.dumps({k: record[k] for k in ("name", "seconds", "steps", "parameters", "device")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
