"""NIQE (Mittal, Soundararajan, Bovik, "Making a 'completely blind' image quality analyzer", IEEE SPL 2013)
as the authors' original release code (`computequality.m`, with its `modelparameters.mat`) computes it —
not MATLAB's built-in `niqe` (a different pristine model and block handling; pyiqa's `niqe_matlab`).

Convention pinned (the release code): the gray image on 0–255 (MATLAB `rgb2gray` of the 8-bit image,
rounded to integers, as the calibration used — `channel="gray"`; or unrounded YIQ/rgb2gray luma,
`channel="y"`, what pyiqa's NIQE and so NTIRE's "NIQE on Y" use), cropped to a multiple of 96;
two scales (the second `imresize(im, 0.5)`, MATLAB bicubic with antialiasing); at each scale MSCN
coefficients with the 7×7 Gaussian window σ = 7/6 and replicate padding, non-overlapping blocks of
96 / scale pixels, 18 features per block (AGGD fit of the MSCN block: α, mean of βl and βr; four
orientations of paired products: α, mean, σl², σr²); the blocks' 36-feature mean (NaN-ignoring) and
covariance (complete rows); quality = sqrt((μp − μd)ᵀ pinv((Σp + Σd)/2) (μp − μd)). Lower is better.
No reference image is used. The pristine parameters are provisioned once (`python -m evaluator
provision-niqe`, evaluator.nr_params); the metric refuses to run without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import gamma as gamma_fn

from benchdata.resize import imresize
from evaluator.metrics.color import MATLAB_GRAY_WEIGHTS
from evaluator.metrics.nss import NIQE_SHIFTS, aggd_fit, mscn, pair_features
from evaluator.metrics.registry import register_metric
from evaluator.nr_params import NIQE_PACKAGE, load_niqe_params

BLOCK = 96
CHANNELS = ("gray", "y")


def _block_features(structdis: np.ndarray, block: int) -> np.ndarray:
    rows, cols = structdis.shape[0] // block, structdis.shape[1] // block
    feats = []
    for c in range(cols):  # blkproc's order does not matter: only the mean and covariance are used
        for r in range(rows):
            b = structdis[r * block : (r + 1) * block, c * block : (c + 1) * block]
            alpha, left, right = aggd_fit(b.ravel())
            scale = np.sqrt(gamma_fn(1 / alpha) / gamma_fn(3 / alpha))  # β = σ·scale
            pairs = pair_features(b, NIQE_SHIFTS, niqe=True)
            feats.append([alpha, (left * scale + right * scale) / 2, *pairs])
    return np.asarray(feats, dtype=np.float64)


def niqe_features(gray: np.ndarray) -> np.ndarray:
    """(blocks, 36) features of a (H, W) float64 gray image on 0–255."""
    h, w = (gray.shape[0] // BLOCK) * BLOCK, (gray.shape[1] // BLOCK) * BLOCK
    if h == 0 or w == 0:
        raise ValueError(
            f"NIQE needs images of at least {BLOCK}×{BLOCK} px, got {gray.shape[1]}×{gray.shape[0]}"
        )
    im = np.ascontiguousarray(gray[:h, :w], dtype=np.float64)
    per_scale = []
    for scale in (1, 2):
        per_scale.append(_block_features(mscn(im, "replicate"), BLOCK // scale))
        im = imresize(im, 0.5)
    return np.concatenate(per_scale, axis=1)


def niqe_score(gray: np.ndarray, mu_pris: np.ndarray, cov_pris: np.ndarray) -> float:
    feats = niqe_features(gray)
    mu = np.nanmean(feats, axis=0)
    complete = feats[~np.isnan(feats).any(axis=1)]
    cov = np.cov(complete, rowvar=False) if len(complete) > 1 else np.zeros((36, 36))
    a = (cov_pris + cov) / 2
    inv = np.linalg.pinv(a, rcond=max(a.shape) * np.finfo(np.float64).eps)  # MATLAB pinv's tolerance
    d = (mu_pris.ravel() - mu)[None]
    return float(np.sqrt((d @ inv @ d.T).item()))


def gray_on_255(image: torch.Tensor, channel: str) -> np.ndarray:
    """(C, H, W) float on [0, 1] → (H, W) float64 on 0–255: MATLAB rgb2gray weights; "gray" rounds to
    integers (rgb2gray of a uint8 image), "y" keeps the unrounded luma."""
    x = image.to(torch.float64).cpu().numpy() * 255.0
    if x.shape[0] == 3:
        x = np.tensordot(np.asarray(MATLAB_GRAY_WEIGHTS), x, axes=1)
    else:
        x = x[0]
    return np.floor(x + 0.5) if channel == "gray" else x


class NIQE:
    """No-reference: `metric(pred, gt=None)` scores `pred` alone (N, C, H, W) on [0, 1]; `gt` is ignored."""

    name = "niqe"
    min_size = BLOCK

    def __init__(self, channel: str = "gray", weights_root: str | None = None, **ignored: Any) -> None:
        # `ignored`: options the scorer passes to every metric (color space, data range, device).
        if channel not in CHANNELS:
            raise ValueError(f"NIQE channel must be one of {CHANNELS}, got {channel!r}")
        self.channel = channel
        params, self.weights = load_niqe_params(Path(weights_root) if weights_root else None)
        self.mu, self.cov = params["mu_pris_param"], params["cov_pris_param"]

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor | None = None) -> torch.Tensor:
        if pred.ndim != 4 or pred.shape[1] not in (1, 3):
            raise ValueError(f"expected (N, 1|3, H, W) tensors, got shape {tuple(pred.shape)}")
        scores = [niqe_score(gray_on_255(img, self.channel), self.mu, self.cov) for img in pred]
        return torch.tensor(scores, dtype=torch.float64)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.niqe: NIQE (Mittal et al. 2013) as the original release "
            "code computequality.m (96-px blocks, 2 scales, MATLAB imresize), official pristine model from "
            f"{NIQE_PACKAGE} (basicsr/metrics/niqe_pris_params.npz)",
            "options": {"channel": self.channel, "reference": "none"},
            "weights": dict(self.weights),
        }


@register_metric(
    "niqe",
    higher_is_better=False,
    implementation="evaluator.metrics.niqe (NIQE, original release code, official pristine model)",
    description="NIQE (Mittal et al. 2013), no-reference, original release code and pristine model",
    needs_weights=True,
    needs_reference=False,
)
def _create_niqe(**options: Any) -> NIQE:
    return NIQE(**options)
