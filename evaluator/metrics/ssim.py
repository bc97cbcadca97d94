"""SSIM exactly as Wang et al.'s reference MATLAB code `ssim_index.m` (2004) computes it.

Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error visibility
to structural similarity", IEEE TIP 13(4), 2004. Conventions pinned here (those of `ssim_index.m`, used
by the SR and denoising literature's tables):
- 11×11 Gaussian window, σ = 1.5, normalised to sum 1 (MATLAB `fspecial('gaussian', 11, 1.5)`);
- K1 = 0.01, K2 = 0.03, C1 = (K1·L)², C2 = (K2·L)², L = `data_range`;
- 'valid' filtering (no padding: the map is (H−10)×(W−10)), population (biased) local variances;
- SSIM = mean of the map; no downsampling (unlike Wang's 2009 `ssim.m`); for RGB, the mean of the
  per-channel SSIMs (NTIRE convention).
Differs from pyiqa's `ssim` (which multiplies the luminance term by relu(cs)) and from MATLAB's built-in
`ssim()` (replicate padding). scikit-image reproduces it with `gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=L`.

Tensors: float64 (N, C, H, W) on [0, 1], H, W ≥ 11. Computation is float64 throughout; rows are processed
in tiles so the five filtered maps stay in cache on CPU (and in one piece on GPU).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from evaluator.metrics.color import rgb_to_bt601_luma
from evaluator.metrics.registry import register_metric

WINDOW = 11
SIGMA = 1.5
K1 = 0.01
K2 = 0.03
_RADIUS = WINDOW // 2


def gaussian_window_1d(
    size: int = WINDOW, sigma: float = SIGMA, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Normalised 1-D Gaussian (size,); its outer product is MATLAB's fspecial('gaussian', size, sigma)."""
    offsets = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(offsets**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(stack: torch.Tensor, g: tuple[float, ...], dim: int) -> torch.Tensor:
    """'valid' correlation of (K, R, W) `stack` with the symmetric 1-D window `g` along `dim` (1 or 2)."""
    n = stack.shape[dim] - (len(g) - 1)
    mid = len(g) // 2

    def part(start: int) -> torch.Tensor:
        return stack.narrow(dim, start, n)

    out = part(mid) * g[mid]
    for k in range(mid):  # the window is symmetric: fold taps k and (size-1-k) into one add
        out.add_(part(k) + part(len(g) - 1 - k), alpha=g[k])
    return out


def _ssim_channel_sum(
    x: torch.Tensor, y: torch.Tensor, c1: float, c2: float, g: tuple[float, ...], tile: int
) -> float:
    """Sum of the SSIM map of one (H, W) channel pair, computed in row tiles of `tile` output rows."""
    h = x.shape[0]
    out_rows = h - (WINDOW - 1)
    total = 0.0
    for r0 in range(0, out_rows, tile):
        r1 = min(r0 + tile, out_rows) + WINDOW - 1
        xs, ys = x[r0:r1], y[r0:r1]
        stack = torch.stack((xs, ys, xs * xs, ys * ys, xs * ys))
        mu_x, mu_y, e_xx, e_yy, e_xy = _filter_valid(_filter_valid(stack, g, 1), g, 2)
        mu_xy = mu_x * mu_y
        mu_xx = mu_x * mu_x
        mu_yy = mu_y * mu_y
        num = (2 * mu_xy + c1) * (2 * (e_xy - mu_xy) + c2)
        den = (mu_xx + mu_yy + c1) * ((e_xx - mu_xx) + (e_yy - mu_yy) + c2)
        total += float((num / den).sum())
    return total


def ssim(
    pred: torch.Tensor, gt: torch.Tensor, data_range: float = 1.0, tile: int | None = None
) -> torch.Tensor:
    """MATLAB `ssim_index` SSIM per image: (N, C, H, W) × 2 → (N,) float64 (mean over channels).

    `tile`: output rows per tile (None: 48 on CPU, whole image on GPU). It changes speed, not the result
    beyond float64 summation order.
    """
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: {tuple(pred.shape)} vs {tuple(gt.shape)}")
    if pred.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) tensors, got shape {tuple(pred.shape)}")
    n, c, h, w = pred.shape
    if h < WINDOW or w < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}×{WINDOW} px (after shaving), got {w}×{h}")
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    if tile is None:
        tile = 48 if pred.device.type == "cpu" else h
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    g = tuple(float(v) for v in gaussian_window_1d())
    pred = pred.to(torch.float64)
    gt = gt.to(torch.float64)
    area = (h - WINDOW + 1) * (w - WINDOW + 1)
    scores = []
    for i in range(n):
        per_channel = [_ssim_channel_sum(pred[i, ch], gt[i, ch], c1, c2, g, tile) / area for ch in range(c)]
        scores.append(math.fsum(per_channel) / c)
    return torch.tensor(scores, dtype=torch.float64)


class SSIM:
    """Thin wrapper: fixed options, optional BT.601 Y conversion."""

    name = "ssim"
    min_size = WINDOW

    def __init__(self, data_range: float = 1.0, color_space: str = "rgb") -> None:
        if color_space not in ("rgb", "y"):
            raise ValueError(f"color_space must be 'rgb' or 'y', got {color_space!r}")
        self.data_range = float(data_range)
        self.color_space = color_space

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        if self.color_space == "y":
            pred, gt = rgb_to_bt601_luma(pred), rgb_to_bt601_luma(gt)
        return ssim(pred, gt, self.data_range)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.ssim: Wang et al. 2004 ssim_index.m "
            "(11×11 Gaussian σ=1.5, K=(0.01, 0.03), valid, population variances, no downsampling, "
            "mean over channels)",
            "options": {"data_range": self.data_range, "color_space": self.color_space},
            "weights": {},
        }


@register_metric(
    "ssim",
    higher_is_better=True,
    implementation="evaluator.metrics.ssim (MATLAB ssim_index, Wang et al. 2004)",
    description="SSIM as Wang et al.'s ssim_index.m: Gaussian 11×11 σ=1.5, valid, no downsampling; "
    "RGB = mean of per-channel SSIM",
)
def _create_ssim(**options: Any) -> SSIM:
    return SSIM(**options)
