"""LPIPS v0.1 (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric",
CVPR 2018) with the official weights, computed offline.

Architecture (as the paper, the official `lpips` package and pyiqa define it): inputs on [0, 1] are mapped
to [-1, 1]; a fixed scaling layer (shift (-0.030, -0.088, -0.188), scale (0.458, 0.448, 0.450)); five ReLU
outputs of the trunk (AlexNet: relu1–relu5; VGG16: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3), each
unit-normalised over channels (x / (‖x‖₂ + 1e-10)); squared difference; a 1×1 linear layer with no bias;
spatial mean; sum over the five layers. The trunk is torchvision's `alexnet().features` /
`vgg16().features` built on the meta device (nothing is downloaded or randomly initialised) and filled
from the provisioned weights with every key checked (`evaluator.weights`).

Tensors: (N, C, H, W) on [0, 1], C = 3 (gray C = 1 is repeated to 3 channels); the network runs in
float32 like the reference; scores come back as float64 (N,). Lower is better; identical images give 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from evaluator.metrics.feature_networks import load_strictly, network_inputs
from evaluator.metrics.registry import register_metric
from evaluator.metrics.tiling import (
    DEFAULT_TILE,
    TilePlan,
    check_tile,
    map_sizes,
    receptive_fields,
    tiled_maps,
)
from evaluator.weights import LPIPS_PACKAGE, load_lpips_weights

# ReLU outputs tapped inside torchvision's `features` Sequential, and their channel counts.
_TAPS = {"alex": (1, 4, 7, 9, 11), "vgg": (3, 8, 15, 22, 29)}
_CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


class LPIPSNetwork(nn.Module):
    """Trunk + linear layers; state-dict keys `features.<i>.{weight,bias}` and `lins.<k>.weight`."""

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in _TAPS:
            raise ValueError(f"unknown LPIPS net {net!r}; valid: {sorted(_TAPS)}")
        self.net = net
        self.taps = _TAPS[net]
        trunk = torchvision.models.alexnet if net == "alex" else torchvision.models.vgg16
        last = _TAPS[net][-1]
        self.features = nn.Sequential(*list(trunk(weights=None).features.children())[: last + 1])
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, kernel_size=1, bias=False) for c in _CHANNELS[net])
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    def trunk(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, 3, H, W) on [0, 1] → the five tapped ReLU maps."""
        h = ((2 * x - 1) - self.shift) / self.scale
        taps = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in _TAPS[self.net]:
                taps.append(h)
        return taps

    @staticmethod
    def _distance_map(lin: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The 1×1 linear layer applied to the squared difference of channel-normalised maps."""
        n0 = a / (torch.sqrt(torch.sum(a**2, dim=1, keepdim=True)) + 1e-10)
        n1 = b / (torch.sqrt(torch.sum(b**2, dim=1, keepdim=True)) + 1e-10)
        return lin(n0.sub_(n1).square_())  # in place: one map-sized temporary fewer

    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float32 on [0, 1] × 2 → (N,) float32 LPIPS distances (whole image at once)."""
        total = torch.zeros(pred.shape[0], dtype=pred.dtype, device=pred.device)
        for lin, a, b in zip(self.lins, self.trunk(pred), self.trunk(gt), strict=True):
            total = total + self._distance_map(lin, a, b).mean(dim=(2, 3)).flatten()
        return total

    def tiled(self, pred: torch.Tensor, gt: torch.Tensor, tile: int) -> torch.Tensor:
        """The same distances computed tile by tile (`evaluator.metrics.tiling`), → (N,) float64.

        Each tap's spatial mean is the float64 sum of its cores over the whole map's size."""
        layers, taps = list(self.features), self.taps
        plan = TilePlan.for_layers(layers, taps, tile)
        fields = list(receptive_fields(layers, taps).values())
        sums = torch.zeros(pred.shape[0], len(taps), dtype=torch.float64, device=pred.device)
        for f0, f1 in tiled_maps([pred, gt], self.trunk, fields, plan):
            for k, lin in enumerate(self.lins):
                if f0[k].numel():  # a core past the end of a coarse map holds no positions
                    sums[:, k] += self._distance_map(lin, f0[k], f1[k]).to(torch.float64).sum(dim=(1, 2, 3))
                f0[k] = f1[k] = None  # frees the tile's map
        sizes = torch.tensor(map_sizes(layers, taps, *pred.shape[-2:]), dtype=torch.float64)
        return (sums / sizes.to(sums.device)).sum(dim=1)


def _rebuild_constants(model: LPIPSNetwork) -> None:
    model.shift = torch.tensor(_SHIFT).view(1, 3, 1, 1)
    model.scale = torch.tensor(_SCALE).view(1, 3, 1, 1)


def load_lpips_network(
    net: str = "alex", root: Path | None = None, device: str | torch.device = "auto"
) -> tuple[LPIPSNetwork, dict[str, str]]:
    """Build the network on the meta device and fill it strictly from the provisioned weights.

    Returns (network in eval mode on `device`, {weights file: SHA-256}). Raises `WeightsNotInstalled` if
    the weights are missing, fail their checksum, or do not cover exactly the network's parameters.
    """
    state, files = load_lpips_weights(net, root)
    model = load_strictly(
        lambda: LPIPSNetwork(net),
        state,
        files,
        label=f"LPIPS ({net})",
        rebuild_constants=_rebuild_constants,
        device=device,
    )
    return model, files


class LPIPS:
    """Thin wrapper holding the loaded network; `metric(pred, gt)` takes float64 (N, C, H, W) on [0, 1]."""

    min_size = 32

    def __init__(
        self,
        net: str = "alex",
        device: str = "auto",
        weights_root: str | None = None,
        tile: int = DEFAULT_TILE,
        **ignored: Any,
    ) -> None:
        # `ignored`: the scorer passes colour-space/data-range options to every metric; LPIPS is defined
        # on RGB in [0, 1] only, so they do not apply.
        self.net_name = net
        self.name = "lpips" if net == "alex" else f"lpips_{net}"
        self.tile = check_tile(tile)
        self.model, self.weights = load_lpips_network(
            net, Path(weights_root) if weights_root else None, device
        )
        self.device = next(self.model.parameters()).device

    @torch.inference_mode()
    def __call__(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = network_inputs(pred, gt, label="LPIPS", min_size=self.min_size, device=self.device)
        if self.tile and max(p.shape[-2:]) > self.tile:
            return self.model.tiled(p, g, self.tile).to("cpu", torch.float64)
        return self.model(p, g).to("cpu", torch.float64)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": f"evaluator.metrics.lpips: LPIPS v0.1 ({self.net_name}), torchvision "
            f"{torchvision.__version__} trunk, official weights from {LPIPS_PACKAGE}",
            "options": {
                "net": self.net_name,
                "version": "0.1",
                "input": "RGB on [0,1] mapped to [-1,1]",
                "tile": self.tile,  # equal to the whole-image result; bounds memory
            },
            "weights": dict(self.weights),
        }


@register_metric(
    "lpips",
    higher_is_better=False,
    implementation="evaluator.metrics.lpips (LPIPS v0.1, AlexNet, official weights)",
    description="LPIPS v0.1 with the AlexNet trunk (Zhang et al. 2018), official weights",
    needs_weights=True,
)
def _create_lpips_alex(**options: Any) -> LPIPS:
    return LPIPS(net="alex", **options)


@register_metric(
    "lpips_vgg",
    higher_is_better=False,
    implementation="evaluator.metrics.lpips (LPIPS v0.1, VGG16, official weights)",
    description="LPIPS v0.1 with the VGG16 trunk (Zhang et al. 2018), official weights",
    needs_weights=True,
)
def _create_lpips_vgg(**options: Any) -> LPIPS:
    return LPIPS(net="vgg", **options)
