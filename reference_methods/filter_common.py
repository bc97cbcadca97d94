"""What the filtering modules share (`smoothing`, `diffusion`, `filtering`; the transform families
read `tuned` too): tuned-parameter tables, parameter checks, the (H, W, C) view of an image and the
torch device.

Array convention (as everywhere in `reference_methods`): numpy float64, (H, W) gray or (H, W, 3) RGB,
intensities on [0, 1]; the noise level `context.sigma` is on the 0-255 scale. Every filter here works
internally on an (H, W, C) view and returns the input's shape. Boundaries are handled by half-sample
symmetric extension (the edge pixel repeated: scipy's ``reflect``, numpy's ``symmetric``) unless a
docstring says otherwise.

Default parameters are functions of σ, tuned on Train400 crops (validation data, never the test
sets): `bench/tune_classic_methods.py` reproduces the tuning; the tables in each module record its
result and are interpolated linearly in σ by `tuned` (held constant beyond the last tuned σ).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from reference_methods.registry import MethodError, RestorationContext, get_method


def _parameters(name: str, context: RestorationContext) -> dict[str, Any]:
    return get_method(name).parameters(context)


def _check(condition: bool, method: str, message: str) -> None:
    if not condition:
        raise MethodError(f"{method}: {message}")


def tuned(sigma: float | None, table: Mapping[float, float]) -> float:
    """A tuned parameter at noise level `sigma` (0-255): linear between the tuned σ, clamped outside."""
    keys = sorted(table)
    return float(np.interp(float(sigma or 0.0), keys, [table[k] for k in keys]))


def _noise01(sigma: float | None) -> float:
    """σ on the [0, 1] intensity scale, floored at 1/255 so that σ = 0 still gives valid strengths."""
    return max(float(sigma or 0.0), 1.0) / 255.0


def _as_hwc(image: np.ndarray) -> np.ndarray:
    return image[:, :, None] if image.ndim == 2 else image


def _like_input(result: np.ndarray, image: np.ndarray) -> np.ndarray:
    return result[:, :, 0] if image.ndim == 2 else result


def torch_device() -> torch.device:
    """The device the torch-vectorised filters run on: CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
