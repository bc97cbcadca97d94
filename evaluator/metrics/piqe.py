"""PIQE (Venkatanath, Praneeth, Chandrasekhar, Channappayya, Medasani, "Blind image quality evaluation using
perception based features", NCC 2015) as MATLAB's `piqe` (Image Processing Toolbox) computes it. No learned
parameters.

Convention pinned (MATLAB's documented algorithm): the gray image (MATLAB `rgb2gray`, rounded, for
`channel="gray"`; unrounded luma for `"y"`) rescaled to round(255·I / max I); symmetric padding at the
bottom/right up to a multiple of 16 (an assumption: the calibration images are multiples of 16);
MSCN coefficients (7×7 Gaussian σ = 7/6, replicate padding); non-overlapping 16×16 blocks; a block is
*active* when its (sample) variance exceeds 0.1; it shows a *noticeable distortion* when any of the 11
six-pixel segments of any of its four edges has a (sample) standard deviation below 0.1, and *noise*
when σ > 2β, β = |σ − r| / max(σ, r), r the ratio of the sample standard deviations of the two centre
columns (8, 9) and of the surround — every column but 8 and 10, MATLAB's sequential deletion (0 when
undefined). PIQE = 100 · (Σ_active [distorted·(1 − var) +
noise·var] + 1) / (N_active + 1). Lower is better (0–100). No reference image is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from evaluator.metrics.niqe import CHANNELS, gray_on_255
from evaluator.metrics.nss import mscn
from evaluator.metrics.registry import register_metric

BLOCK = 16
ACTIVITY = 0.1
IMPAIRED = 0.1
SEGMENT = 6


def _blocks(x: np.ndarray) -> np.ndarray:
    h, w = x.shape
    return x.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)


def _impaired(blocks: np.ndarray) -> np.ndarray:
    """Any six-pixel segment of any edge with a sample standard deviation below 0.1."""
    edges = np.stack((blocks[:, 0, :], blocks[:, :, -1], blocks[:, -1, :], blocks[:, :, 0]), axis=1)
    segments = np.lib.stride_tricks.sliding_window_view(edges, SEGMENT, axis=2)  # (B, 4, 11, 6)
    return (segments.std(axis=-1, ddof=1) < IMPAIRED).any(axis=(1, 2))


def _noisy(blocks: np.ndarray, var: np.ndarray) -> np.ndarray:
    sigma = np.sqrt(var)
    centre = blocks[:, :, 7:9]
    # MATLAB deletes column 8 and then column 9 *of the shrunk block*: originally columns 8 and 10 (1-based),
    # so the surround keeps the second centre column.
    surround = np.concatenate((blocks[:, :, :7], blocks[:, :, 8:9], blocks[:, :, 10:]), axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.nan_to_num(
            centre.reshape(len(blocks), -1).std(axis=1, ddof=1)
            / surround.reshape(len(blocks), -1).std(axis=1, ddof=1)
        )
        beta = np.abs(sigma - ratio) / np.maximum(sigma, ratio)
    return sigma > 2 * beta


def piqe_score(gray: np.ndarray) -> float:
    """PIQE of a (H, W) gray image on 0–255 (float64)."""
    top = gray.max()
    im = np.round(255 * gray / top) if top > 0 else np.zeros_like(gray)
    h, w = im.shape
    im = np.pad(im, ((0, -h % BLOCK), (0, -w % BLOCK)), mode="symmetric")
    blocks = _blocks(mscn(im, "replicate"))
    var = blocks.reshape(len(blocks), -1).var(axis=1, ddof=1)
    active = var > ACTIVITY
    scores = active * (_impaired(blocks) * (1 - var) + _noisy(blocks, var) * var)
    return float(100 * (scores.sum() + 1) / (active.sum() + 1))


class PIQE:
    """No-reference: `metric(pred, gt=None)` scores `pred` alone (N, C, H, W) on [0, 1]; `gt` is ignored."""

    name = "piqe"
    min_size = BLOCK

    def __init__(self, channel: str = "gray", **ignored: Any) -> None:
        # `ignored`: options the scorer passes to every metric (color space, data range, device).
        if channel not in CHANNELS:
            raise ValueError(f"PIQE channel must be one of {CHANNELS}, got {channel!r}")
        self.channel = channel

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor | None = None) -> torch.Tensor:
        if pred.ndim != 4 or pred.shape[1] not in (1, 3):
            raise ValueError(f"expected (N, 1|3, H, W) tensors, got shape {tuple(pred.shape)}")
        if min(pred.shape[-2:]) < BLOCK:
            raise ValueError(f"PIQE needs images of at least {BLOCK}×{BLOCK} px")
        return torch.tensor([piqe_score(gray_on_255(img, self.channel)) for img in pred], dtype=torch.float64)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.piqe: PIQE (Venkatanath et al. 2015) as MATLAB's piqe "
            "(16-px blocks, activity 0.1, edge segments of 6 px, threshold 0.1); no learned parameters",
            "options": {"channel": self.channel, "reference": "none"},
            "weights": {},
        }


@register_metric(
    "piqe",
    higher_is_better=False,
    implementation="evaluator.metrics.piqe (PIQE as MATLAB's piqe)",
    description="PIQE (Venkatanath et al. 2015), no-reference, no learned parameters (0–100)",
    needs_reference=False,
)
def _create_piqe(**options: Any) -> PIQE:
    return PIQE(**options)
