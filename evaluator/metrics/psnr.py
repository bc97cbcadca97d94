"""PSNR = 10 log10(peak² / MSE), in float64, MSE over every pixel and channel.

Tensors: float64 (N, C, H, W) on [0, 1]; `data_range` is the peak on that scale (1.0 ≙ 255 for 8-bit).
Identical images give +inf (no epsilon: pyiqa adds eps = 1e-8 inside the log, which caps identical
images near 80 dB and shifts every value slightly; the SR/denoising literature's MATLAB code does not).
With `color_space="y"` RGB is first converted to BT.601 luma (`evaluator.metrics.color`).

On the CPU the scorer calls `PSNR.score_pixels` on the decoded integer arrays instead: the squared-error
sum is then an exact integer (`evaluator.metrics.kernels`), and no float64 copy of the images is made.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from evaluator.metrics.color import bt601_luma_plane, rgb_to_bt601_luma
from evaluator.metrics.kernels import squared_error_sum
from evaluator.metrics.registry import register_metric


def _check_pair(pred: torch.Tensor, gt: torch.Tensor) -> None:
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: {tuple(pred.shape)} vs {tuple(gt.shape)}")
    if pred.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) tensors, got shape {tuple(pred.shape)}")


def mse(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image: (N, C, H, W) × 2 → (N,), float64."""
    _check_pair(pred, gt)
    diff = pred.to(torch.float64) - gt.to(torch.float64)
    return diff.square().mean(dim=(1, 2, 3))


def psnr(pred: torch.Tensor, gt: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """PSNR in dB per image: (N, C, H, W) × 2 → (N,) float64; +inf where the images are identical."""
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    err = mse(pred, gt)
    return 10.0 * torch.log10(torch.as_tensor(float(data_range) ** 2, dtype=torch.float64) / err)


class PSNR:
    """Thin wrapper: fixed options, optional BT.601 Y conversion."""

    name = "psnr"
    min_size = 1

    def __init__(self, data_range: float = 1.0, color_space: str = "rgb") -> None:
        if color_space not in ("rgb", "y"):
            raise ValueError(f"color_space must be 'rgb' or 'y', got {color_space!r}")
        self.data_range = float(data_range)
        self.color_space = color_space

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        if self.color_space == "y":
            pred, gt = rgb_to_bt601_luma(pred), rgb_to_bt601_luma(gt)
        return psnr(pred, gt, self.data_range)

    def score_pixels(self, pred: np.ndarray, gt: np.ndarray, full_scale: float) -> float:
        """`self(pred, gt)` for one pair of same-shape (H, W[, 3]) integer arrays whose values run to
        `full_scale` (255 for 8-bit), i.e. the PSNR of pred / full_scale against gt / full_scale."""
        if pred.shape != gt.shape:
            raise ValueError(f"pred and gt shapes differ: {pred.shape} vs {gt.shape}")
        if self.color_space == "y" and gt.ndim == 3:
            sse = squared_error_sum(bt601_luma_plane(pred, full_scale), bt601_luma_plane(gt, full_scale))
            mse = sse / (gt.shape[0] * gt.shape[1])
        else:
            mse = squared_error_sum(pred, gt) / gt.size / (full_scale * full_scale)
        return math.inf if mse == 0 else 10.0 * math.log10(self.data_range**2 / mse)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.psnr (float64, 10·log10(peak²/MSE), no epsilon; on the "
            "CPU the squared-error sum of integer pixels is exact, evaluator.metrics.kernels)",
            "options": {"data_range": self.data_range, "color_space": self.color_space},
            "weights": {},
        }


@register_metric(
    "psnr",
    higher_is_better=True,
    implementation="evaluator.metrics.psnr",
    description="PSNR in dB, float64, MSE over all pixels and channels, +inf for identical images",
)
def _create_psnr(**options: Any) -> PSNR:
    return PSNR(**options)
