"""A hand-made piecewise-smooth test image: smooth ramps separated by straight edges at two angles."""

from __future__ import annotations

import numpy as np


def piecewise_smooth(n: int = 64) -> np.ndarray:
    """(n, n) on [0, 1]: three regions with linear ramps, separated by two straight oblique edges."""
    y, x = np.mgrid[0:n, 0:n] / n
    image = 0.3 + 0.2 * x
    image = np.where(y > 0.3 + 0.4 * x, 0.75 - 0.1 * y, image)
    return np.where((x - 0.6) * 0.8 + (y - 0.2) * 0.6 > 0.15, 0.15 + 0.1 * y, image)


def psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(10.0 * np.log10(1.0 / np.mean((np.clip(estimate, 0.0, 1.0) - truth) ** 2)))
