"""BRISQUE (Mittal, Moorthy, Bovik, "No-reference image quality assessment in the spatial domain", IEEE TIP
2012) as the authors' original release code (`brisquescore.m` + libsvm) computes it, with LIVE's model —
not MATLAB's built-in `brisque` (a different model; pyiqa's `brisque_matlab`).

Convention pinned (the release code): the gray image on 0–255 (MATLAB `rgb2gray` of the 8-bit image,
`channel="gray"`; `"y"` keeps it unrounded); two scales (`imresize(im, 0.5)`, MATLAB bicubic); at each
scale MSCN with the 7×7 Gaussian window σ = 7/6 and **zero** padding (`filter2(…, 'same')`), the GGD fit of
the whole MSCN map (α, σ²) and, for the four orientations (0 1; 1 0; 1 1; −1 1), the AGGD fit of the paired
products (α, mean, σl², σr²): 36 features. As the release code passes them through text files, features
are rounded to 6 decimals (`fprintf('%f')`), scaled to [−1, 1] with LIVE's `allrange` and rounded to 6
significant digits (`svm-scale`'s `%g`); score = Σ coef·exp(−γ‖sv − x‖²) − ρ (libsvm epsilon-SVR). Lower is
better. No reference image is used. The model is provisioned once (`python -m evaluator
provision-brisque`, evaluator.nr_params); the metric refuses to run without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchdata.resize import imresize
from evaluator.metrics.niqe import CHANNELS, gray_on_255
from evaluator.metrics.nss import BRISQUE_SHIFTS, ggd_fit, mscn, pair_features
from evaluator.metrics.registry import register_metric
from evaluator.nr_params import BRISQUE_PACKAGE, load_brisque_model

MIN_SIZE = 16


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """The 36 features of a (H, W) float64 gray image on 0–255."""
    im = np.asarray(gray, dtype=np.float64)
    feats: list[float] = []
    for scale in (1, 2):
        structdis = mscn(im, "zero")
        feats += ggd_fit(structdis.ravel())
        feats += pair_features(structdis, BRISQUE_SHIFTS, niqe=False)
        if scale == 1:
            im = imresize(im, 0.5)
    return np.asarray(feats)


def _round_significant(x: np.ndarray, digits: int = 6) -> np.ndarray:
    """C's %g with 6 significant digits."""
    return np.asarray([float(f"{v:.{digits}g}") for v in x])


def brisque_score(gray: np.ndarray, model: dict[str, Any]) -> float:
    feats = np.round(brisque_features(gray), 6)  # fprintf('%f')
    lo, hi = model["ranges"][0]
    fmin, fmax = model["ranges"][1:, 0], model["ranges"][1:, 1]
    scaled = _round_significant(lo + (hi - lo) * (feats - fmin) / (fmax - fmin))
    dist = ((model["sv"] - scaled[None]) ** 2).sum(axis=1)
    return float(model["coef"] @ np.exp(-model["gamma"] * dist) - model["rho"])


class BRISQUE:
    """No-reference: `metric(pred, gt=None)` scores `pred` alone (N, C, H, W) on [0, 1]; `gt` is ignored."""

    name = "brisque"
    min_size = MIN_SIZE

    def __init__(self, channel: str = "gray", weights_root: str | None = None, **ignored: Any) -> None:
        # `ignored`: options the scorer passes to every metric (color space, data range, device).
        if channel not in CHANNELS:
            raise ValueError(f"BRISQUE channel must be one of {CHANNELS}, got {channel!r}")
        self.channel = channel
        self.model, self.weights = load_brisque_model(Path(weights_root) if weights_root else None)

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor | None = None) -> torch.Tensor:
        if pred.ndim != 4 or pred.shape[1] not in (1, 3):
            raise ValueError(f"expected (N, 1|3, H, W) tensors, got shape {tuple(pred.shape)}")
        if min(pred.shape[-2:]) < MIN_SIZE:
            raise ValueError(f"BRISQUE needs images of at least {MIN_SIZE}×{MIN_SIZE} px")
        scores = [brisque_score(gray_on_255(img, self.channel), self.model) for img in pred]
        return torch.tensor(scores, dtype=torch.float64)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": "evaluator.metrics.brisque: BRISQUE (Mittal et al. 2012) as the original "
            "release code brisquescore.m + libsvm (features via %f, svm-scale %g), LIVE allmodel/allrange "
            f"from {BRISQUE_PACKAGE}",
            "options": {"channel": self.channel, "reference": "none"},
            "weights": dict(self.weights),
        }


@register_metric(
    "brisque",
    higher_is_better=False,
    implementation="evaluator.metrics.brisque (BRISQUE, original release code, LIVE model)",
    description="BRISQUE (Mittal et al. 2012), no-reference, original release code and LIVE SVR model",
    needs_weights=True,
    needs_reference=False,
)
def _create_brisque(**options: Any) -> BRISQUE:
    return BRISQUE(**options)
