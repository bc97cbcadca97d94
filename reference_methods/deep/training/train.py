"""Train one deep reference method within a wall-clock budget and write its weights + training record.

    nice .venv/bin/python -m reference_methods.deep.training.train vdsr \
        --data ../shared/data/Train400 --minutes 6 --seed 0

writes reference_methods/deep/weights/<name>.safetensors and <name>.train.json (data, command, time,
steps, seed, device, loss curve). Runs on CUDA automatically when present, else CPU.

Recipes (one per committed weights file) fix the architecture, loss, optimiser and patch sampling:
- srcnn, vdsr: one model for ×2/×3/×4 (scales cycled per step; VDSR trains multi-scale as in its paper,
  SRCNN per scale in its paper — a deviation that saves two trainings), MSE.
- espcn_x2/x3/x4: one model per scale, MSE.
- srresnet_x4 (the paper's scale) and srresnet_x2: MSE. srgan_x4 / srgan_x2: start from the matching
  SRResNet and train with the SRGAN loss (VGG feature loss + 1e-3 adversarial), see gan.py.
- dncnn_s25: σ = 25, MSE on the residual (DnCNN-S).
- ipt: all four IPT tasks (denoise σ = 25, SR ×2/×3/×4), one task per step in turn, L1.
Adam everywhere (the papers mostly used SGD with far longer schedules), learning rate divided by 10 at
80% of the budget; VDSR clips the gradient norm (at 1), as its paper clips gradients.
"""

from __future__ import annotations

import argparse
import json
import platform as std_platform
import shlex
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from reference_methods.deep.archs import IPT_TASKS, create_arch
from reference_methods.deep.training.data import NoisyPatches, SRPatches, load_images, starter_train_images

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "Train400"


@dataclass(frozen=True)
class Recipe:
    arch: str
    params: dict[str, Any]
    kind: str  # "sr" | "denoise" | "ipt" | "srgan"
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


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _loss(name: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target) if name == "l1" else F.mse_loss(pred, target)


def train(
    name: str,
    data: list[Path],
    minutes: float,
    seed: int = 0,
    out_dir: Path = WEIGHTS_DIR,
    max_steps: int | None = None,
    log_every: int = 25,
    quiet: bool = False,
    starter_train: bool = False,
    batch: int | None = None,
) -> dict[str, Any]:
    """Train recipe `name` for `minutes` of wall time (or `max_steps`); save weights and record; return it.

    data: folders of clean training PNGs; starter_train adds the starter benchmark's train split.
    batch: patches per step instead of the recipe's (a GPU has room for larger batches).
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; recipes: {', '.join(sorted(RECIPES))}")
    recipe = RECIPES[name]
    if batch is not None:
        if batch < 1:
            raise ValueError(f"batch must be a positive number of patches, got {batch}")
        recipe = replace(recipe, batch=batch)
    torch.manual_seed(seed)
    device = pick_device()
    images = load_images(data)
    if starter_train:
        images += starter_train_images()
    net = create_arch(recipe.arch, **recipe.params).to(device)
    if recipe.init_from:
        from safetensors.torch import load_file

        net.load_state_dict(load_file(str(out_dir / f"{recipe.init_from}.safetensors")))
    optimiser = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    if recipe.kind in ("sr", "srgan"):
        sampler = SRPatches(images, recipe.scales, recipe.patch, seed)
    elif recipe.kind == "denoise":
        sampler = NoisyPatches(images, recipe.extra["sigma"], recipe.patch, seed)
    else:
        # LR tiles and clean tiles are the network's fixed input size.
        sampler = (
            SRPatches(images, recipe.scales, recipe.patch, seed),
            NoisyPatches(images, recipe.extra["sigma"], recipe.patch, seed + 1),
        )
    gan = None
    if recipe.kind == "srgan":
        from reference_methods.deep.training.gan import SRGANLoss

        gan = SRGANLoss(
            device,
            recipe.extra["adversarial_weight"],
            seed=seed,
            pixel_weight=recipe.extra.get("pixel_weight", 0.0),
        )

    budget = minutes * 60.0
    start = time.perf_counter()
    decayed = False
    history: list[tuple[int, float, float]] = []
    running: list[float] = []
    step = 0
    net.train()
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= budget or (max_steps is not None and step >= max_steps):
            break
        if not decayed and (elapsed >= 0.8 * budget or (max_steps is not None and step >= 0.8 * max_steps)):
            for group in optimiser.param_groups:
                group["lr"] *= 0.1
            decayed = True
        if recipe.kind in ("sr", "srgan"):
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
            tasks = IPT_TASKS
            task = tasks[step % len(tasks)]
            if task.startswith("sr"):
                scale = int(task[2:])
                # LR tiles are the network's fixed 48×48 input size.
                x, y = sampler[0].batch(recipe.batch, scale)
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
        step += 1
        if step % log_every == 0:
            mean = float(np.mean(running))
            running.clear()
            history.append((step, round(time.perf_counter() - start, 1), mean))
            if not quiet:
                print(f"{name} step {step} {history[-1][1]:.0f}s loss {mean:.6f}", flush=True)
    seconds = time.perf_counter() - start
    if running:
        history.append((step, round(seconds, 1), float(np.mean(running))))
    net.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(out_dir / f"{name}.safetensors"), metadata={"recipe": name, "arch": recipe.arch})
    record = {
        "name": name,
        "arch": recipe.arch,
        "arch_params": recipe.params,
        "recipe": {k: v for k, v in recipe.__dict__.items() if k not in ("arch", "params")},
        "data": [str(Path(d)) for d in data] + (["starter benchmark, train split"] if starter_train else []),
        "training_images": len(images),
        "command": " ".join(shlex.quote(a) for a in sys.argv) if __name__ == "__main__" else None,
        "seconds": round(seconds, 1),
        "steps": step,
        "seed": seed,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu_threads": torch.get_num_threads(),
        "machine": f"{std_platform.machine()}, torch {torch.__version__}",
        "parameters": sum(p.numel() for p in net.parameters()),
        "loss_history": history,
    }
    (out_dir / f"{name}.train.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipe", choices=sorted(RECIPES))
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help=f"folder of clean training PNGs (repeatable; default {DEFAULT_DATA})",
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-clock training budget")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=None, help="patches per step (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    record = train(
        args.recipe,
        args.data or [DEFAULT_DATA],
        args.minutes,
        args.seed,
        args.out,
        args.max_steps,
        batch=args.batch,
    )
    print(json.dumps({k: record[k] for k in ("name", "seconds", "steps", "parameters", "device")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
