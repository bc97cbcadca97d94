"""Richardson–Lucy deconvolution (Richardson 1972; Lucy 1974), optionally stopped by Morozov's
discrepancy principle. 2-D float64 arrays; kernel (h, w) summing to 1.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

# --------------------------------------------------------------------------------------------------
# Richardson–Lucy


def richardson_lucy(
    observed: np.ndarray,
    kernel: np.ndarray,
    num_iter: int,
    *,
    init: np.ndarray | None = None,
    noise_var: float | None = None,
    margin: int = 0,
) -> tuple[np.ndarray, int]:
    """Richardson–Lucy iterations u ← u · (k̃ ∗ (f / (k ∗ u))), k̃ the flipped kernel.

    2-D only; 'same'-size convolution with zero boundary (the textbook form; callers pad). Starts
    from `init` (default: constant 0.5). With `noise_var` (per-pixel variance of the noise), stops
    at the first iterate whose residual mean((k ∗ u − f)²) is at most noise_var — Morozov's
    discrepancy principle, which stops before RL starts fitting the noise. The residual is measured
    `margin` pixels away from the border, where the zero boundary does not distort it (callers pad
    the image by that margin). Returns (u, iterations).
    """
    inner = (slice(margin, -margin or None), slice(margin, -margin or None))
    eps = 1e-12
    u = np.full(observed.shape, 0.5) if init is None else init.astype(np.float64).copy()
    flipped = kernel[::-1, ::-1]
    for it in range(1, num_iter + 1):
        blurred = signal.fftconvolve(u, kernel, mode="same") + eps
        u = u * signal.fftconvolve(observed / blurred, flipped, mode="same")
        if noise_var is not None:
            resid = (signal.fftconvolve(u, kernel, mode="same") - observed)[inner]
            if float(np.mean(resid * resid)) <= noise_var:
                return u, it
    return u, num_iter
