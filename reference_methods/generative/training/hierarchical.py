"""The VQ-VAE-2 recipes' pieces for `train.py`: the two-level autoencoder's loss with its codebook
care, the code maps its priors learn from, their batches and the held-out metrics.

- vqvae2: MSE + β · (top + bottom commitment), EMA codebooks started at encoder outputs; codes
  unused for 50 steps are restarted at random encoder outputs (as the `vqvae` recipe does).
- vqvae2_top_prior: PixelCNN over crops of the top code maps of the training images (and flips).
- vqvae2_bottom_prior: ConditionalPixelCNN over aligned crops (bottom p×p, top p/2×p/2) of the same.
Both priors need weights/vqvae2.safetensors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

from reference_methods.generative.archs import VectorQuantiser, create_generative
from reference_methods.generative.hierarchical import VQVAE2

PRIORS = ("vqvae2_top_prior", "vqvae2_bottom_prior")


def load_vqvae2(path: Path, device: torch.device) -> VQVAE2:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: train the 'vqvae2' recipe before its priors")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    net = create_generative(meta["arch"], **json.loads(meta["params"]))
    net.load_state_dict(load_file(str(path)))
    return net.to(device).eval()


def code_pairs(
    vqvae2_path: Path, images: list[np.ndarray], device: torch.device
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(top, bottom) code maps of every image and its three flips (cropped to multiples of 8)."""
    net = load_vqvae2(vqvae2_path, device)
    pairs = []
    with torch.no_grad():
        for im in images:
            h, w = im.shape[0] // 8 * 8, im.shape[1] // 8 * 8
            x = torch.from_numpy(im[:h, :w].astype(np.float32))
            for dims in ((), (1,), (0,), (0, 1)):
                xf = x.flip(dims) if dims else x
                top, bottom = net.encode_indices(xf[None, None].to(device))
                pairs.append((top[0].cpu(), bottom[0].cpu()))
    return pairs


def prior_batch(
    pairs: list[tuple[torch.Tensor, torch.Tensor]],
    rng: np.random.Generator,
    batch: int,
    patch: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(top (B, p/2, p/2), bottom (B, p, p)) aligned crops; p = `patch` bottom cells, even."""
    p = min(patch, *(min(t.shape) * 2 for t, _ in pairs)) // 2 * 2
    tops, bottoms = [], []
    for _ in range(batch):
        top, bottom = pairs[int(rng.integers(len(pairs)))]
        i = int(rng.integers(top.shape[0] - p // 2 + 1))
        j = int(rng.integers(top.shape[1] - p // 2 + 1))
        tops.append(top[i : i + p // 2, j : j + p // 2])
        bottoms.append(bottom[2 * i : 2 * i + p, 2 * j : 2 * j + p])
    return torch.stack(tops).to(device), torch.stack(bottoms).to(device)


class CodebookCare:
    """Start both codebooks at encoder outputs; restart codes unused for `patience` steps."""

    def __init__(self, net: VQVAE2, generator: torch.Generator, patience: int = 50) -> None:
        self.net, self.gen, self.patience = net, generator, patience
        self.unused: dict[str, torch.Tensor] = {}

    def _vectors(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        hb, zt = self.net.encode(x)
        q_top = self.net.quantiser_top.lookup(self.net.quantiser_top.indices(zt))
        zb = self.net._bottom_input(hb, q_top)
        return {"top": zt, "bottom": zb}

    def _quantisers(self) -> dict[str, VectorQuantiser]:
        return {"top": self.net.quantiser_top, "bottom": self.net.quantiser_bottom}

    def start(self, x: torch.Tensor) -> None:
        with torch.no_grad():
            for key, z in self._vectors(x).items():
                q = self._quantisers()[key]
                flat = z.permute(0, 2, 3, 1).reshape(-1, q.dim)
                pick = torch.randint(len(flat), (q.codes,), generator=self.gen, device=x.device)
                q.codebook.copy_(flat[pick])
                q.code_sum.copy_(flat[pick])
                self.unused[key] = torch.zeros(q.codes, device=x.device)

    def restart_dead(self, x: torch.Tensor, indices: dict[str, torch.Tensor]) -> None:
        vectors = None
        for key, q in self._quantisers().items():
            used = torch.bincount(indices[key].flatten(), minlength=q.codes) > 0
            self.unused[key] = torch.where(used, torch.zeros_like(self.unused[key]), self.unused[key] + 1)
            dead = torch.nonzero(self.unused[key] >= self.patience)[:, 0]
            if not len(dead):
                continue
            with torch.no_grad():
                vectors = vectors or self._vectors(x)
                flat = vectors[key].permute(0, 2, 3, 1).reshape(-1, q.dim)
                pick = torch.randint(len(flat), (len(dead),), generator=self.gen, device=x.device)
                q.codebook[dead] = flat[pick]
                q.code_sum[dead] = flat[pick] * q.cluster_size[dead, None]
            self.unused[key][dead] = 0


def vqvae2_loss(net: VQVAE2, care: CodebookCare, x: torch.Tensor, first: bool, beta: float) -> torch.Tensor:
    """One step's loss of the two-level autoencoder (codebooks follow their EMA inside `net`)."""
    if first:
        care.start(x)
    recon, top, bottom, commitment = net(x)
    care.restart_dead(x, {"top": top, "bottom": bottom})
    return F.mse_loss(recon, x) + beta * commitment


def held_out(
    name: str, net: torch.nn.Module, x: torch.Tensor, weights_dir: Path, device: torch.device
) -> dict[str, Any]:
    """Held-out metrics of the three recipes on gray patches x (N, 1, p, p), p divisible by 8."""
    out: dict[str, Any] = {}
    if name == "vqvae2":
        recon, top, bottom, _ = net(x)
        out["recon_psnr_db"] = float(10 * torch.log10(1.0 / F.mse_loss(recon.clamp(0, 1), x)))
        out["top_codes_used"] = int(torch.unique(top).numel())
        out["bottom_codes_used"] = int(torch.unique(bottom).numel())
        return out
    top, bottom = load_vqvae2(weights_dir / "vqvae2.safetensors", device).encode_indices(x)
    codes = top if name == "vqvae2_top_prior" else bottom
    nll = net.nll(top) if name == "vqvae2_top_prior" else net.nll(bottom, top)
    out["bits_per_code"] = float(nll) / math.log(2)
    counts = torch.bincount(codes.flatten(), minlength=net.levels).float()
    freq = counts[counts > 0] / counts.sum()
    out["unigram_bits_per_code"] = float(-(freq * freq.log2()).sum())
    return out
