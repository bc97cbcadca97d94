"""What the deep-feature metrics (LPIPS, DISTS) share: the device choice, the checks and conversion of their
inputs, and strict loading of official weights into a network built on the meta device (so nothing is
downloaded or randomly initialised, and a weights file that does not cover the network exactly is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

from evaluator.errors import WeightsNotInstalled

Net = TypeVar("Net", bound=nn.Module)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" → CUDA when available, else CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def network_inputs(
    pred: torch.Tensor, gt: torch.Tensor, *, label: str, min_size: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check an (N, 1|3, H, W) pair on [0, 1] and return it as float32 RGB on `device` (gray is repeated to
    three channels, as the reference implementations do)."""
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: {tuple(pred.shape)} vs {tuple(gt.shape)}")
    if pred.ndim != 4 or pred.shape[1] not in (1, 3):
        raise ValueError(f"expected (N, 1|3, H, W) tensors, got shape {tuple(pred.shape)}")
    if min(pred.shape[-2:]) < min_size:
        raise ValueError(
            f"{label} needs images of at least {min_size}×{min_size} px, "
            f"got {pred.shape[-1]}×{pred.shape[-2]}"
        )
    if pred.shape[1] == 1:
        pred, gt = pred.expand(-1, 3, -1, -1), gt.expand(-1, 3, -1, -1)
    return pred.to(device, torch.float32), gt.to(device, torch.float32)


def load_strictly(
    build: Callable[[], Net],
    state: dict[str, torch.Tensor],
    files: dict[str, str],
    *,
    label: str,
    rebuild_constants: Callable[[Net], None],
    device: str | torch.device,
) -> Net:
    """`build()` on the meta device, fill it from `state` (exactly its keys, `assign=True`), recreate the
    non-persistent buffers with `rebuild_constants(model)`; returns the frozen network in eval mode on
    `device`. `WeightsNotInstalled` when `state` does not cover the network or leaves a tensor empty."""
    with torch.device("meta"):
        model = build()
    expected = set(model.state_dict())
    if set(state) != expected:
        raise WeightsNotInstalled(
            f"{label} weights {sorted(files)} do not match the network: "
            f"missing {sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)}"
        )
    model.load_state_dict(state, strict=True, assign=True)
    rebuild_constants(model)
    leftover = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if leftover:
        raise WeightsNotInstalled(f"{label} weights {sorted(files)} left tensors uninitialised: {leftover}")
    model.requires_grad_(False)
    return model.eval().to(resolve_device(device))
