"""Train one generative prior for a budget of iterations; write its weights, record and model card.

    nice -n 19 .venv/bin/python -m reference_methods.generative.training.train vae \
        --data ../shared/data/Train400 --steps 6000 --seed 0 --threads 1 --device cpu

writes reference_methods/generative/weights/<name>.safetensors (architecture and its parameters,
seed, steps, device and torch build in the file's metadata) and <name>.train.json (data, command,
time, steps, seed, device, loss curve, held-out metrics); `reference_methods.generative.report`
measures the restoration scores and writes the model cards <name>.md from both. CUDA is used when
present unless `--device cpu`, with `--threads` CPU threads. The same command with the same torch
build and device gives the same weight file bit for bit (reference_methods/deep/training/determinism.py).

Data: gray patches (BT.601 Y for RGB files) of the training folders, read by the deep methods'
`load_images` (which refuses benchmark test sets), cut and flipped/rotated by their `NoisyPatches`
sampler at σ = 0. The last `HELD_OUT` images (in file-name order) are kept out of training and give
the held-out metrics in the record.

Recipes (Adam throughout; learning rate divided by 10 at 80% of the iterations, except the GAN):
- pixelcnn: PixelCNN over 8-bit pixels, 24×24 patches, NLL (cross-entropy of the 256-way softmax).
- vae: 16×16 patches, negative ELBO with the learned decoder σ.
- realnvp: 16×16 patches dequantised with uniform noise ((255x + u)/256), exact NLL.
- dcgan: 16×16 patches, the DCGAN recipe (Adam 2e-4, β1 = 0.5, non-saturating loss), constant rate.
- vqvae: 32×32 patches, MSE + 0.25 · commitment, EMA codebook; codes unused for a while are
  restarted at random encoder outputs (a common fix for dead codes, not in the paper).
- vqvae_prior: PixelCNN over the trained vqvae's codes of the training images (and their flips),
  16×16 crops of the code maps, NLL. Needs weights/vqvae.safetensors.
- pixelrnn: Row LSTM PixelRNN over 8-bit pixels, 16×16 patches, NLL.
- vqvae2: the two-level VQ-VAE-2, 32×32 patches, MSE + 0.25 · (top + bottom commitment), both EMA
  codebooks with the dead-code restarts of vqvae (`training/hierarchical.py`).
- vqvae2_top_prior: PixelCNN over the vqvae2's top codes (8×8 crops); vqvae2_bottom_prior: the
  PixelCNN over the bottom codes conditioned on the top codes (16×16 bottom crops with their 8×8
  top crops). Both need weights/vqvae2.safetensors.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from reference_methods.deep.training.data import NoisyPatches, load_images
from reference_methods.deep.training.determinism import (
    deterministic,
    device_label,
    pick_device,
    run_record,
    save_weights,
)
from reference_methods.generative import pixelrnn  # noqa: F401  (registers its architecture)
from reference_methods.generative.archs import DCGANDiscriminator, create_generative
from reference_methods.generative.training import hierarchical as h2

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "Train400"
HELD_OUT = 40


@dataclass(frozen=True)
class Recipe:
    arch: str
    params: dict[str, Any]
    patch: int
    batch: int
    lr: float
    decay_lr: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    "pixelcnn": Recipe(
        "pixelcnn",
        {"levels": 256, "features": 32, "blocks": 4, "first_kernel": 7, "hidden": 64},
        24,
        16,
        1e-3,
    ),
    "pixelrnn": Recipe("pixelrnn", {"levels": 256, "features": 32, "hidden": 32, "layers": 2}, 16, 16, 1e-3),
    "vqvae2": Recipe(
        "vqvae2",
        {"top_codes": 32, "bottom_codes": 64, "dim": 16, "features": 32},
        32,
        16,
        1e-3,
        extra={"commitment": 0.25},
    ),
    "vqvae2_top_prior": Recipe(
        "pixelcnn",
        {"levels": 32, "features": 32, "blocks": 3, "first_kernel": 5, "hidden": 64, "discrete_input": True},
        8,
        32,
        1e-3,
    ),
    "vqvae2_bottom_prior": Recipe(
        "conditional_pixelcnn",
        {"levels": 64, "top_levels": 32, "features": 32, "blocks": 3, "first_kernel": 5, "hidden": 64},
        16,
        32,
        1e-3,
    ),
    "vae": Recipe("vae", {"size": 16, "latent": 32, "features": 32}, 16, 64, 1e-3),
    "realnvp": Recipe("realnvp", {"size": 16, "hidden": 32, "checkerboard": 4, "steps": 3}, 16, 64, 1e-3),
    "dcgan": Recipe(
        "dcgan_generator", {"size": 16, "latent": 32, "features": 32}, 16, 64, 2e-4, decay_lr=False
    ),
    "vqvae": Recipe(
        "vqvae", {"codes": 64, "dim": 16, "features": 48}, 32, 32, 1e-3, extra={"commitment": 0.25}
    ),
    "vqvae_prior": Recipe(
        "pixelcnn",
        {"levels": 64, "features": 32, "blocks": 4, "first_kernel": 5, "hidden": 64, "discrete_input": True},
        16,
        32,
        1e-3,
    ),
}


def save_model(
    net: nn.Module,
    path: Path,
    arch: str,
    params: dict[str, Any],
    recipe: str,
    run: dict[str, str] | None = None,
) -> None:
    """safetensors with the architecture name and constructor parameters as JSON metadata.

    run: how it was trained (seed, steps, device, ...), added to the metadata as given.
    """
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    meta = {"arch": arch, "params": json.dumps(params, sort_keys=True), "recipe": recipe, **(run or {})}
    save_weights(state, path, meta)


class _Trainer:
    """One recipe's model(s), optimiser(s), batch source and step; `held_out()` gives final metrics."""

    def __init__(
        self,
        name: str,
        recipe: Recipe,
        images: list[np.ndarray],
        held: list[np.ndarray],
        device: torch.device,
        seed: int,
        weights_dir: Path,
        batch: int | None = None,
    ) -> None:
        self.name, self.recipe, self.device = name, recipe, device
        self.batch_size = batch or recipe.batch
        self.net = create_generative(recipe.arch, **recipe.params).to(device)
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.optimisers = [
            torch.optim.Adam(
                self.net.parameters(), lr=recipe.lr, betas=(0.5, 0.999) if name == "dcgan" else (0.9, 0.999)
            )
        ]
        self.held_images, self.weights_dir = held, weights_dir
        if name in h2.PRIORS:
            self.pairs = h2.code_pairs(weights_dir / "vqvae2.safetensors", images, device)
            self.rng = np.random.default_rng(seed)
        elif name == "vqvae_prior":
            self.codes = _code_maps(weights_dir / "vqvae.safetensors", images, device)
            self.rng = np.random.default_rng(seed)
            # Crops of the code maps; smaller when the training images are small.
            self.code_patch = min(recipe.patch, *(min(m.shape) for m in self.codes))
        else:
            self.sampler = NoisyPatches(images, 0.0, recipe.patch, seed)
        if name == "dcgan":
            self.disc = DCGANDiscriminator(recipe.params["size"], recipe.params["features"]).to(device)
            self.optimisers.append(torch.optim.Adam(self.disc.parameters(), lr=recipe.lr, betas=(0.5, 0.999)))
        self.unused = None
        self.care = h2.CodebookCare(self.net, self.gen) if name == "vqvae2" else None

    def batch(self) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.name in h2.PRIORS:
            # The recipe's patch counts cells of the map the prior models; crops are aligned pairs.
            cells = self.recipe.patch * (2 if self.name == "vqvae2_top_prior" else 1)
            top, bottom = h2.prior_batch(self.pairs, self.rng, self.batch_size, cells, self.device)
            return top if self.name == "vqvae2_top_prior" else (bottom, top)
        if self.name == "vqvae_prior":
            p, out = self.code_patch, []
            for _ in range(self.batch_size):
                m = self.codes[int(self.rng.integers(len(self.codes)))]
                i = int(self.rng.integers(m.shape[0] - p + 1))
                j = int(self.rng.integers(m.shape[1] - p + 1))
                out.append(m[i : i + p, j : j + p])
            return torch.stack(out).to(self.device)
        return self.sampler.batch(self.batch_size)[1].to(self.device)

    def step(self, x: torch.Tensor | tuple[torch.Tensor, torch.Tensor], first: bool) -> float:
        name, net = self.name, self.net
        if name in ("pixelcnn", "vqvae_prior", "pixelrnn", "vqvae2_top_prior"):
            loss = net.nll(x)
        elif name == "vqvae2_bottom_prior":
            loss = net.nll(*x)
        elif name == "vqvae2":
            loss = h2.vqvae2_loss(net, self.care, x, first, self.recipe.extra["commitment"])
        elif name == "vae":
            loss = net.loss(x, self.gen)
        elif name == "realnvp":
            noise = torch.rand(x.shape, generator=self.gen, device=x.device)
            loss = net.bits_per_dim((torch.round(x * 255) + noise) / 256)
        elif name == "dcgan":
            return self._gan_step(x)
        else:
            if first:  # start the codebook at encoder outputs instead of random vectors
                with torch.no_grad():
                    z = net.encode(x).permute(0, 2, 3, 1).reshape(-1, net.quantiser.dim)
                    pick = torch.randperm(len(z), generator=self.gen, device=x.device)[: net.quantiser.codes]
                    net.quantiser.codebook.copy_(z[pick])
                    net.quantiser.code_sum.copy_(z[pick])
                self.unused = torch.zeros(net.quantiser.codes, device=x.device)
            recon, idx, commitment = net(x)
            loss = F.mse_loss(recon, x) + self.recipe.extra["commitment"] * commitment
            self._restart_dead_codes(x, idx)
        opt = self.optimisers[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    def _gan_step(self, x: torch.Tensor) -> float:
        g, d = self.net, self.disc
        opt_g, opt_d = self.optimisers
        z = torch.randn(x.shape[0], g.latent, generator=self.gen, device=x.device)
        fake = g(z)
        real_logits, fake_logits = d(x), d(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        logits = d(fake)
        loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return loss_g.item()

    def _restart_dead_codes(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        q = self.net.quantiser
        used = torch.bincount(idx.flatten(), minlength=q.codes) > 0
        self.unused = torch.where(used, torch.zeros_like(self.unused), self.unused + 1)
        dead = torch.nonzero(self.unused >= 50)[:, 0]
        if len(dead):
            with torch.no_grad():
                z = self.net.encode(x).permute(0, 2, 3, 1).reshape(-1, q.dim)
                pick = torch.randint(len(z), (len(dead),), generator=self.gen, device=x.device)
                q.codebook[dead] = z[pick]
                q.code_sum[dead] = z[pick] * q.cluster_size[dead, None]
            self.unused[dead] = 0

    def held_out(self) -> dict[str, float]:
        """Metrics on fixed patches of the held-out images."""
        net, name = self.net, self.name
        net.eval()
        rng = np.random.default_rng(12345)
        smallest = min(min(im.shape) for im in self.held_images)
        p = self.recipe.patch if name not in ("vqvae_prior", *h2.PRIORS) else 64
        p = min(p, smallest // 8 * 8) if name.startswith("vqvae2") else min(p, smallest // 4 * 4)
        patches = []
        for _ in range(256):
            im = self.held_images[int(rng.integers(len(self.held_images)))]
            i, j = (int(rng.integers(s - p + 1)) for s in im.shape)
            patches.append(im[i : i + p, j : j + p])
        x = torch.from_numpy(np.stack(patches)[:, None].astype(np.float32)).to(self.device)
        out: dict[str, float] = {"held_out_patches": len(patches), "patch": p}
        with torch.no_grad():
            if name.startswith("vqvae2"):
                out.update(h2.held_out(name, net, x, self.weights_dir, self.device))
            elif name in ("pixelcnn", "pixelrnn"):
                out["bits_per_pixel"] = float(net.nll(x)) / math.log(2)
            elif name == "vae":
                out["neg_elbo_bits_per_pixel_8bit"] = (
                    float(net.loss(x, self.gen)) + math.log(256)
                ) / math.log(2)
                out["recon_psnr_db"] = _psnr(net(x), x)
                out["decoder_sigma_255"] = float(net.log_sigma.exp()) * 255
            elif name == "realnvp":
                noise = torch.rand(x.shape, generator=self.gen, device=x.device)
                out["bits_per_pixel"] = float(net.bits_per_dim((torch.round(x * 255) + noise) / 256))
            elif name == "dcgan":
                z = torch.randn(len(x), net.latent, generator=self.gen, device=x.device)
                fake = net(z)
                out["sample_mean"], out["sample_std"] = float(fake.mean()), float(fake.std())
                out["data_mean"], out["data_std"] = float(x.mean()), float(x.std())
                out["disc_accuracy_real"] = float((self.disc.eval()(x) > 0).float().mean())
                out["disc_accuracy_fake"] = float((self.disc(fake) < 0).float().mean())
            elif name == "vqvae":
                recon, idx, _ = net(x)
                out["recon_psnr_db"] = _psnr(recon.clamp(0, 1), x)
                out["codes_used"] = int(torch.unique(idx).numel())
            else:
                vq = _load(self.weights_dir / "vqvae.safetensors", self.device)
                codes = vq.encode_indices(x)
                out["bits_per_code"] = float(net.nll(codes)) / math.log(2)
                counts = torch.bincount(codes.flatten(), minlength=net.levels).float()
                freq = counts[counts > 0] / counts.sum()
                out["unigram_bits_per_code"] = float(-(freq * freq.log2()).sum())
        return out


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / F.mse_loss(a, b)))


def _code_maps(vqvae_path: Path, images: list[np.ndarray], device: torch.device) -> list[torch.Tensor]:
    """Code maps of every training image and its three flips (the images cropped to multiples of 4)."""
    if not vqvae_path.is_file():
        raise FileNotFoundError(f"{vqvae_path} is missing: train the 'vqvae' recipe before 'vqvae_prior'")
    meta_net = _load(vqvae_path, device)
    maps = []
    with torch.no_grad():
        for im in images:
            h, w = im.shape[0] // 4 * 4, im.shape[1] // 4 * 4
            x = torch.from_numpy(im[:h, :w].astype(np.float32))
            for dims in ((), (1,), (0,), (0, 1)):
                xf = x.flip(dims) if dims else x
                maps.append(meta_net.encode_indices(xf[None, None].to(device))[0].cpu())
    return maps


def _load(path: Path, device: torch.device) -> nn.Module:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    net = create_generative(meta["arch"], **json.loads(meta["params"]))
    net.load_state_dict(load_file(str(path)))
    return net.to(device).eval()


def train(
    name: str,
    data: list[Path],
    steps: int,
    seed: int = 0,
    out_dir: Path = WEIGHTS_DIR,
    log_every: int = 50,
    quiet: bool = False,
    evaluate: bool = True,
    held_out: int = HELD_OUT,
    batch: int | None = None,
    threads: int = 1,
    device: str | None = None,
) -> dict[str, Any]:
    """Train recipe `name` for `steps` iterations, deterministically; save weights and record.

    batch overrides the recipe's batch size; the last `held_out` images are kept out of training;
    threads: torch CPU threads; device: "cpu", "cuda" or None for CUDA when present.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; recipes: {', '.join(sorted(RECIPES))}")
    if steps < 1:
        raise ValueError(f"steps must be a positive number of iterations, got {steps}")
    recipe = RECIPES[name]
    where = pick_device(device)
    images = load_images(data)
    if len(images) <= held_out:
        raise ValueError(
            f"need more than {held_out} training images (the last {held_out} are held out), got {len(images)}"
        )
    train_images, held = images[:-held_out], images[-held_out:]
    start = time.perf_counter()
    with deterministic(seed, threads):
        trainer = _Trainer(name, recipe, train_images, held, where, seed, out_dir, batch)
        history = _fit(trainer, steps, log_every, quiet)
        held_metrics = trainer.held_out() if evaluate else None
    seconds = time.perf_counter() - start
    net = trainer.net
    out_dir.mkdir(parents=True, exist_ok=True)
    run = {
        "seed": str(seed),
        "steps": str(steps),
        "batch": str(trainer.batch_size),
        "device": device_label(where),
        "cpu_threads": str(threads),
        "torch": torch.__version__,
    }
    save_model(net, out_dir / f"{name}.safetensors", recipe.arch, recipe.params, name, run)
    record = {
        "name": name,
        "arch": recipe.arch,
        "arch_params": recipe.params,
        "recipe": {k: v for k, v in recipe.__dict__.items() if k not in ("arch", "params")},
        "batch": trainer.batch_size,
        "data": [str(Path(d)) for d in data],
        "training_images": len(train_images),
        "held_out_images": len(held),
        "command": (
            "python -m reference_methods.generative.training.train "
            + " ".join(shlex.quote(a) for a in sys.argv[1:])
            if __name__ == "__main__"
            else None
        ),
        **run_record(
            net, where=where, threads=threads, seconds=seconds, steps=steps, seed=seed, history=history
        ),
    }
    if held_metrics is not None:
        record["held_out"] = held_metrics
    (out_dir / f"{name}.train.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def _fit(trainer: _Trainer, steps: int, log_every: int, quiet: bool) -> list[tuple[int, float, float]]:
    """`steps` iterations, the learning rate /10 from 80% of them on (unless the recipe keeps it)."""
    start = time.perf_counter()
    history: list[tuple[int, float, float]] = []
    running: list[float] = []
    trainer.net.train()
    for step in range(steps):
        if trainer.recipe.decay_lr and step == math.ceil(0.8 * steps):
            for opt in trainer.optimisers:
                for group in opt.param_groups:
                    group["lr"] *= 0.1
        running.append(trainer.step(trainer.batch(), first=step == 0))
        if (step + 1) % log_every == 0 or step + 1 == steps:
            history.append((step + 1, round(time.perf_counter() - start, 1), float(np.mean(running))))
            running.clear()
            if not quiet:
                step_s, loss = history[-1][1], history[-1][2]
                print(f"{trainer.name} step {step + 1} {step_s:.0f}s loss {loss:.5f}", flush=True)
    trainer.net.eval()
    return history


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
    parser.add_argument("--batch", type=int, default=None, help="override the recipe's batch size")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1: a shared machine)"
    )
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
    print(
        json.dumps(
            {k: record.get(k) for k in ("name", "seconds", "steps", "parameters", "device", "held_out")}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
