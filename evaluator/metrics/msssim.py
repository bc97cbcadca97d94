"""MS-SSIM exactly as the authors' MATLAB `msssim.m` (Wang, Simoncelli, Bovik, "Multi-scale structural
similarity for image quality assessment", Asilomar 2003; code by Z. Wang, 2003).

Pinned conventions (those of `msssim.m` with its defaults):
- 5 scales; weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) — the published exponents;
- at every scale `ssim_index_new`: the 11×11 Gaussian window σ = 1.5 of `ssim_index.m`, K = (0.01, 0.03),
  L = data range, 'valid' filtering, population variances; it returns the mean SSIM map and the mean
  contrast-structure map cs = (2σxy + C2) / (σx² + σy² + C2);
- between scales: `imfilter(im, ones(2)/4, 'symmetric', 'same')` then every other pixel starting at the
  first: output (i, j) is the mean of the 2×2 block at (2i, 2j), the last row/column repeated when a size
  is odd (the kernel's origin is its top-left element in MATLAB's convention for even kernels);
- MS-SSIM = Π_{l<5} mcs_l^w_l · mssim_5^w_5 (method 'product'). A negative cs at some scale (anti-correlated
  images) has no real power: MATLAB returns a complex number; here the score is NaN.
- `msssim.m` refuses images whose coarsest scale is smaller than the window: min(H, W) / 16 ≥ 11, i.e. at
  least 176 px.
Float64 throughout. RGB = the mean of the per-channel MS-SSIMs (as `ssim`); `color_space="y"` uses BT.601
luma like `ssim`. The calibration against the published MATLAB values (rgb2gray input) is in
docs/metrics.md.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn import functional as F

from evaluator.metrics.color import rgb_to_bt601_luma
from evaluator.metrics.registry import register_metric
from evaluator.metrics.ssim import K1, K2, WINDOW, gaussian_window_1d

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
LEVELS = len(WEIGHTS)
MIN_SIZE = WINDOW * 2 ** (LEVELS - 1)  # 176


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, c1: float, c2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, 1, H, W) float64 → (mean SSIM map, mean cs map), each (M,), 'valid' Gaussian filtering."""
    g = gaussian_window_1d(dtype=x.dtype).to(x.device)
    win = (g[:, None] * g[None, :])[None, None]
    stack = torch.cat((x, y, x * x, y * y, x * y), dim=1)
    mu_x, mu_y, e_xx, e_yy, e_xy = F.conv2d(stack.flatten(0, 1)[:, None], win).unflatten(0, (-1, 5)).unbind(1)
    var_x, var_y, cov = e_xx - mu_x * mu_x, e_yy - mu_y * mu_y, e_xy - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs
    return ssim_map.mean(dim=(-2, -1)).flatten(), cs.mean(dim=(-2, -1)).flatten()


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """msssim.m's 2×2 mean ('symmetric' padding at the bottom/right) then x(1:2:end, 1:2:end)."""
    h, w = x.shape[-2:]
    x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")  # one repeated row/column = 'symmetric' here
    return F.avg_pool2d(x, 2)


def ms_ssim(pred: torch.Tensor, gt: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """(N, C, H, W) × 2 → (N,) float64 MS-SSIM, the mean over channels."""
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: {tuple(pred.shape)} vs {tuple(gt.shape)}")
    if pred.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) tensors, got shape {tuple(pred.shape)}")
    n, c, h, w = pred.shape
    if min(h, w) < MIN_SIZE:
        raise ValueError(f"MS-SSIM needs images of at least {MIN_SIZE}×{MIN_SIZE} px, got {w}×{h}")
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    x = pred.to(torch.float64).reshape(n * c, 1, h, w)
    y = gt.to(torch.float64).reshape(n * c, 1, h, w)
    score = torch.ones(n * c, dtype=torch.float64, device=x.device)
    for level, weight in enumerate(WEIGHTS):
        mssim, mcs = _ssim_cs(x, y, c1, c2)
        score = score * (mssim if level == LEVELS - 1 else mcs) ** weight
        if level < LEVELS - 1:
            x, y = _downsample(x), _downsample(y)
    return score.reshape(n, c).mean(dim=1).cpu()


class MSSSIM:
    """Thin wrapper: fixed options, optional BT.601 Y conversion (as `ssim`)."""

    name = "ms_ssim"
    min_size = MIN_SIZE

    def __init__(self, data_range: float = 1.0, color_space: str = "rgb", **ignored: Any) -> None:
        if color_space not in ("rgb", "y"):
            raise ValueError(f"color_space must be 'rgb' or 'y', got {color_space!r}")
        if not (isinstance(data_range, int | float) and math.isfinite(data_range) and data_range > 0):
            raise ValueError(f"data_range must be a positive number, got {data_range!r}")
        self.data_range = float(data_range)
        self.color_space = color_space

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        if self.color_space == "y":
            pred, gt = rgb_to_bt601_luma(pred), rgb_to_bt601_luma(gt)
        return ms_ssim(pred, gt, self.data_range)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.msssim: Wang et al. 2003 msssim.m (5 scales, weights "
            f"{WEIGHTS}, ssim_index window 11×11 σ=1.5, K=(0.01, 0.03), valid; 2×2 mean downsampling, "
            "product; mean over channels; float64)",
            "options": {"data_range": self.data_range, "color_space": self.color_space},
            "weights": {},
        }


@register_metric(
    "ms_ssim",
    higher_is_better=True,
    implementation="evaluator.metrics.msssim (MATLAB msssim.m, Wang et al. 2003)",
    description="MS-SSIM as Wang et al.'s msssim.m: 5 scales, published weights, 2×2 mean downsampling",
)
def _create_ms_ssim(**options: Any) -> MSSSIM:
    return MSSSIM(**options)
