"""DISTS (Ding, Ma, Wang, Simoncelli, "Image Quality Assessment: Unifying Structure and Texture Similarity",
IEEE TPAMI 2020) with the official weights, computed offline.

Architecture, as the authors' `DISTS_pytorch` and pyiqa define it: inputs on [0, 1], ImageNet mean/std
normalisation, torchvision's VGG16 `features` up to relu5_3 with each max-pool replaced by an "L2 pooling"
(square, depthwise 3×3 Hann filter [.25 .5 .25]⊗[.25 .5 .25] stride 2 padding 1, +1e-12, square root).
Six representations are compared — the input image itself and relu1_2, relu2_2, relu3_3, relu4_3,
relu5_3 — by per-channel global statistics: texture term (2 μx μy + c) / (μx² + μy² + c) and structure
term (2 σxy + c) / (σx² + σy² + c), c = 1e-6, weighted by α and β normalised by Σα + Σβ;
DISTS = 1 − Σ. No resizing (the authors' `prepare_image` default). Float32 like the reference; scores
come back as float64 (N,). Lower is better; identical images give 0 (to float32 rounding).
Weights: `evaluator.dists_weights` (VGG16 trunk from the LPIPS VGG file, α/β from DISTS-pytorch 0.1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from evaluator.dists_weights import DISTS_CHANNELS, DISTS_PACKAGE, load_dists_weights
from evaluator.metrics.feature_networks import load_strictly, network_inputs
from evaluator.metrics.registry import register_metric
from evaluator.metrics.tiling import (
    DEFAULT_TILE,
    Field,
    TilePlan,
    check_tile,
    map_sizes,
    receptive_fields,
    tiled_maps,
)

_TAPS = (3, 8, 15, 22, 29)  # relu1_2 … relu5_3 inside VGG16 `features`
_POOLS = {4: 64, 9: 128, 16: 256, 23: 512}  # max-pool index → channels; replaced by L2 pooling
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_C = 1e-6


def _hann_filter(channels: int) -> torch.Tensor:
    """(channels, 1, 3, 3) depthwise filter: the outer product of hanning(5)[1:-1] = (.5, 1, .5), sum 1."""
    a = torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64)
    g = (a[:, None] * a[None, :]).to(torch.float32)
    return (g / g.sum())[None, None].repeat(channels, 1, 1, 1)


class L2Pooling(nn.Module):
    """sqrt(depthwise Hann blur of x², stride 2) — DISTS' anti-aliased replacement for max-pooling."""

    tile_geometry = (3, 2, 1)  # kernel, stride, padding (for `evaluator.metrics.tiling`)

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("filter", _hann_filter(channels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x**2, self.filter, stride=2, padding=1, groups=x.shape[1])
        return (out + 1e-12).sqrt()


class DISTSNetwork(nn.Module):
    """VGG16 trunk with L2 pooling + α, β; state-dict keys `features.<i>.{weight,bias}`, `alpha`, `beta`."""

    taps = _TAPS

    def __init__(self) -> None:
        super().__init__()
        layers = list(torchvision.models.vgg16(weights=None).features.children())[: _TAPS[-1] + 1]
        for index, channels in _POOLS.items():
            layers[index] = L2Pooling(channels)
        self.features = nn.Sequential(*layers)
        total = sum(DISTS_CHANNELS)
        self.alpha = nn.Parameter(torch.empty(1, total, 1, 1), requires_grad=False)
        self.beta = nn.Parameter(torch.empty(1, total, 1, 1), requires_grad=False)
        self._build_constants()

    def _build_constants(self) -> None:
        """(Re)create the non-persistent buffers (they are not in the weights file)."""
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        for layer in self.features:
            if isinstance(layer, L2Pooling):
                layer.filter = _hann_filter(layer.channels)

    def representations(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = (x - self.mean) / self.std
        reps = [x]
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in _TAPS:
                reps.append(h)
        return reps

    def _weights(self) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        w_sum = self.alpha.sum() + self.beta.sum()
        alpha = torch.split(self.alpha / w_sum, DISTS_CHANNELS, dim=1)
        beta = torch.split(self.beta / w_sum, DISTS_CHANNELS, dim=1)
        return alpha, beta

    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float32 on [0, 1] × 2 → (N,) float32 DISTS (whole image at once)."""
        f0, f1 = self.representations(pred), self.representations(gt)
        alpha, beta = self._weights()
        texture = structure = 0
        for k in range(len(DISTS_CHANNELS)):
            x_mean = f0[k].mean([2, 3], keepdim=True)
            y_mean = f1[k].mean([2, 3], keepdim=True)
            s1 = (2 * x_mean * y_mean + _C) / (x_mean**2 + y_mean**2 + _C)
            texture = texture + (alpha[k] * s1).sum(1, keepdim=True)
            x_var = ((f0[k] - x_mean) ** 2).mean([2, 3], keepdim=True)
            y_var = ((f1[k] - y_mean) ** 2).mean([2, 3], keepdim=True)
            xy_cov = (f0[k] * f1[k]).mean([2, 3], keepdim=True) - x_mean * y_mean
            s2 = (2 * xy_cov + _C) / (x_var + y_var + _C)
            structure = structure + (beta[k] * s2).sum(1, keepdim=True)
        return 1 - (texture + structure).flatten()

    def tiled(self, pred: torch.Tensor, gt: torch.Tensor, tile: int) -> torch.Tensor:
        """The same DISTS computed tile by tile (`evaluator.metrics.tiling`), → (N,) float64.

        Per channel of each representation the cores' float64 sums of x, y, x², y², xy give the global
        means, variances and covariance."""
        layers = list(self.features)
        plan = TilePlan.for_layers(layers, _TAPS, tile)
        fields = [Field(1, 0, 0), *receptive_fields(layers, _TAPS).values()]  # the image itself first
        moments = [
            torch.zeros(5, pred.shape[0], c, dtype=torch.float64, device=pred.device) for c in DISTS_CHANNELS
        ]
        for f0, f1 in tiled_maps([pred, gt], self.representations, fields, plan):
            for k, m in enumerate(moments):
                _accumulate_moments(m, f0[k], f1[k])
                f0[k] = f1[k] = None  # frees the tile's map
        sizes = [pred.shape[-2] * pred.shape[-1], *map_sizes(layers, _TAPS, *pred.shape[-2:])]
        alpha, beta = self._weights()
        total = torch.zeros(pred.shape[0], dtype=torch.float64, device=pred.device)
        for k, (m, n) in enumerate(zip(moments, sizes, strict=True)):
            x_mean, y_mean, xx, yy, xy = m / n
            s1 = (2 * x_mean * y_mean + _C) / (x_mean**2 + y_mean**2 + _C)
            s2 = (2 * (xy - x_mean * y_mean) + _C) / (xx - x_mean**2 + yy - y_mean**2 + _C)
            total += (alpha[k].flatten().double() * s1 + beta[k].flatten().double() * s2).sum(dim=1)
        return 1 - total


def _accumulate_moments(m: torch.Tensor, a: torch.Tensor, b: torch.Tensor, chunk: int = 16) -> None:
    """m[0..4] (N, C) += per-channel float64 sums of a, b, a², b², ab, a few channels at a time so that the
    float64 temporaries stay small next to the tile's float32 maps."""
    for c in range(0, a.shape[1], chunk):
        x, y = a[:, c : c + chunk].to(torch.float64), b[:, c : c + chunk].to(torch.float64)
        for i, v in enumerate((x, y, x * x, y * y, x * y)):
            m[i, :, c : c + chunk] += v.sum(dim=(2, 3))


def load_dists_network(
    root: Path | None = None, device: str | torch.device = "auto"
) -> tuple[DISTSNetwork, dict[str, str]]:
    """Build on the meta device and fill strictly from the official weights; returns (network in eval
    mode on `device`, {weights file: SHA-256}). `WeightsNotInstalled` when anything is missing."""
    state, files = load_dists_weights(root)
    model = load_strictly(
        DISTSNetwork,
        state,
        files,
        label="DISTS",
        rebuild_constants=lambda m: m._build_constants(),
        device=device,
    )
    return model, files


class DISTS:
    """Thin wrapper holding the loaded network; `metric(pred, gt)` takes float64 (N, C, H, W) on [0, 1]."""

    name = "dists"
    min_size = 32

    def __init__(
        self,
        device: str = "auto",
        weights_root: str | None = None,
        tile: int = DEFAULT_TILE,
        **ignored: Any,
    ) -> None:
        # `ignored`: colour-space/data-range options the scorer passes to every metric; DISTS is defined on
        # RGB in [0, 1] only.
        self.tile = check_tile(tile)
        self.model, self.weights = load_dists_network(Path(weights_root) if weights_root else None, device)
        self.device = next(self.model.parameters()).device

    @torch.inference_mode()
    def __call__(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = network_inputs(pred, gt, label="DISTS", min_size=self.min_size, device=self.device)
        if self.tile and max(p.shape[-2:]) > self.tile:
            return self.model.tiled(p, g, self.tile).to("cpu", torch.float64)
        return self.model(p, g).to("cpu", torch.float64)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.dists: DISTS (Ding et al. 2020), torchvision "
            f"{torchvision.__version__} VGG16 trunk with L2 pooling, official weights (α/β from "
            f"{DISTS_PACKAGE}, trunk from the LPIPS VGG file)",
            "options": {"input": "RGB on [0,1], no resizing", "tile": self.tile},
            "weights": dict(self.weights),
        }


@register_metric(
    "dists",
    higher_is_better=False,
    implementation="evaluator.metrics.dists (DISTS, Ding et al. 2020, official weights)",
    description="DISTS (Ding et al. 2020): VGG16 structure + texture similarity, official weights",
    needs_weights=True,
)
def _create_dists(**options: Any) -> DISTS:
    return DISTS(**options)
