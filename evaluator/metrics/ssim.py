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

Two implementations of the same float64 arithmetic, pinned to each other and to scikit-image by the tests:
- `ssim()` on torch tensors (float64 (N, C, H, W) on [0, 1], H, W ≥ 11): what CUDA runs. Rows are processed
  in tiles (so the filtered maps stay in cache), and both filter passes are banded matrix products.
- `SSIM.score_pixels()` on the decoded integer arrays: what the CPU scorer runs, through the compiled
  one-pass kernel `evaluator.metrics.kernels.ssim_map_sum` (about 7× faster than the torch code on a CPU
  core, and no float64 copy of the images).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from evaluator.metrics.color import bt601_luma_plane, rgb_to_bt601_luma
from evaluator.metrics.kernels import gaussian_window, ssim_map_sum
from evaluator.metrics.registry import register_metric

WINDOW = 11
SIGMA = 1.5
K1 = 0.01
K2 = 0.03
_RADIUS = WINDOW // 2


def gaussian_window_1d(
    size: int = WINDOW, sigma: float = SIGMA, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Normalised 1-D Gaussian (size,); its outer product is MATLAB's fspecial('gaussian', size, sigma).
    The same numbers as the CPU kernel's window (one definition: `kernels.gaussian_window`)."""
    return torch.from_numpy(gaussian_window(size, sigma)).to(dtype)


# Output columns per block of the horizontal pass, and output rows per tile. On the CPU small blocks
# and tiles win (fewer redundant multiply-adds in the band products, data in L1/L2): measured on the
# 2-core Xeon, one 2040×1356 RGB pair, one thread: block 24 / tile 16 took 0.28 CPU-s against 0.44
# for 64 / 32 (20 and 28 columns were both slower than 24). The GPU keeps large ones (few big kernels).
_BLOCK = {"cpu": 24, "gpu": 64}
_TILE = {"cpu": 16, "gpu": 256}


def _band(rows_out: int, g: torch.Tensor) -> torch.Tensor:
    """(rows_out, rows_out + len(g) − 1) banded matrix whose row i is `g` starting at column i: B @ x is the
    'valid' correlation of x's rows with `g`."""
    k = g.numel()
    band = torch.zeros(rows_out, rows_out + k - 1, dtype=g.dtype, device=g.device)
    idx = torch.arange(rows_out, device=g.device)
    for j in range(k):
        band[idx, idx + j] = g[j]
    return band


def _filter_valid_2d(stack: torch.Tensor, band_v: torch.Tensor, band_h: torch.Tensor) -> torch.Tensor:
    """'valid' separable Gaussian filtering of a (K, R, W) stack → (K, R − 10, W − 10).

    Both passes are matrix products with banded Gaussian matrices (BLAS does them several times faster than
    11 shifted multiply-adds): vertically one product per tile; horizontally, blocks of `block` output
    columns (overlapping windows of block + 10 input columns) times one (block + 10, block) band.
    """
    k = WINDOW - 1
    block = band_h.shape[1]
    rows_out = stack.shape[1] - k
    vert = torch.matmul(band_v[:rows_out, : rows_out + k], stack)  # (K, rows_out, W)
    cols_out = vert.shape[2] - k
    full = cols_out // block
    parts = []
    if full:
        windows = vert[..., : full * block + k].unfold(2, block + k, block)  # (K, rows_out, full, B + 10)
        parts.append(torch.matmul(windows, band_h).reshape(vert.shape[0], rows_out, full * block))
    rest = cols_out - full * block
    if rest:
        parts.append(torch.matmul(vert[..., full * block :], band_h[: rest + k, :rest]))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)


def _ssim_channel_sum(
    x: torch.Tensor,
    y: torch.Tensor,
    c1: float,
    c2: float,
    bands: tuple[torch.Tensor, torch.Tensor],
    tile: int,
) -> float:
    """Sum of the SSIM map of one (H, W) channel pair, computed in row tiles of `tile` output rows."""
    h = x.shape[0]
    out_rows = h - (WINDOW - 1)
    total = 0.0
    for r0 in range(0, out_rows, tile):
        r1 = min(r0 + tile, out_rows) + WINDOW - 1
        xs, ys = x[r0:r1], y[r0:r1]
        # The formula needs E[x²], E[y²] only through σx² + σy²: filter x² + y² as one map (4 maps, not 5).
        stack = torch.stack((xs, ys, xs * xs + ys * ys, xs * ys))
        mu_x, mu_y, e_sq, e_xy = _filter_valid_2d(stack, *bands)
        mu_xy = mu_x * mu_y
        mu_sq = mu_x * mu_x + mu_y * mu_y
        num = (2 * mu_xy + c1) * (2 * (e_xy - mu_xy) + c2)
        den = (mu_sq + c1) * ((e_sq - mu_sq) + c2)
        total += float((num / den).sum())
    return total


def ssim(
    pred: torch.Tensor, gt: torch.Tensor, data_range: float = 1.0, tile: int | None = None
) -> torch.Tensor:
    """MATLAB `ssim_index` SSIM per image: (N, C, H, W) × 2 → (N,) float64 (mean over channels).

    `tile`: output rows per tile (None: 16 on CPU, 256 on GPU). It changes speed, not the result beyond
    float64 summation order.
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
    kind = "cpu" if pred.device.type == "cpu" else "gpu"
    if tile is None:
        tile = _TILE[kind]
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    g = gaussian_window_1d().to(pred.device)
    bands = (_band(min(tile, h - WINDOW + 1), g), _band(_BLOCK[kind], g).T.contiguous())
    pred = pred.to(torch.float64)
    gt = gt.to(torch.float64)
    area = (h - WINDOW + 1) * (w - WINDOW + 1)
    scores = []
    for i in range(n):
        per_channel = [
            _ssim_channel_sum(pred[i, ch], gt[i, ch], c1, c2, bands, tile) / area for ch in range(c)
        ]
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

    def score_pixels(self, pred: np.ndarray, gt: np.ndarray, full_scale: float) -> float:
        """`self(pred, gt)` for one pair of same-shape (H, W[, 3]) integer arrays whose values run to
        `full_scale` (255 for 8-bit): the SSIM of pred / full_scale against gt / full_scale."""
        if pred.shape != gt.shape:
            raise ValueError(f"pred and gt shapes differ: {pred.shape} vs {gt.shape}")
        if self.color_space == "y" and gt.ndim == 3:
            planes = [(bt601_luma_plane(pred, full_scale), bt601_luma_plane(gt, full_scale))]
            scale = 1.0  # luma planes are on [0, 1] already
        elif gt.ndim == 3:
            planes = [(pred[..., c], gt[..., c]) for c in range(gt.shape[2])]
            scale = full_scale
        else:
            planes = [(pred, gt)]
            scale = full_scale
        # SSIM is unchanged when pixels and √C1, √C2 are scaled together: compute on the arrays' own scale.
        top = self.data_range * scale
        c1, c2 = (K1 * top) ** 2, (K2 * top) ** 2
        h, w = gt.shape[:2]
        area = (h - WINDOW + 1) * (w - WINDOW + 1)
        return math.fsum(ssim_map_sum(p, g, c1, c2) / area for p, g in planes) / len(planes)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.ssim: Wang et al. 2004 ssim_index.m "
            "(11×11 Gaussian σ=1.5, K=(0.01, 0.03), valid, population variances, no downsampling, "
            "mean over channels; float64; CPU: compiled kernel evaluator.metrics.kernels, CUDA: torch)",
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
