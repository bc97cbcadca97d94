"""Burst super-resolution baselines: several low-resolution frames in, one image `scale` times larger.

The input is the burst (N, H, W) or (N, H, W, 3), float64 on [0, 1], frame 0 the reference the output
is aligned with (as `benchdata.degradations.burst` makes it and as NTIRE 2021's Burst SR track does).

- ``burst_bicubic``: MATLAB bicubic upscaling of the reference frame alone: the single-image floor.
- ``shift_and_add``: registration and fusion.
  1. Registration: each frame's translation against the reference, by phase correlation of the
     low-resolution frames to 1/40 pixel (Guizar-Sicairos, Thurman & Fienup, "Efficient subpixel
     image registration algorithms", Opt. Lett. 2008; skimage's `phase_cross_correlation`; measured
     on upscaled frames it is biased towards zero), times the scale.
  2. Shift-and-add: the mean of the frames' bicubic upscalings, each shifted back onto the reference
     (cubic spline) (Elad & Hel-Or, "A fast super-resolution reconstruction algorithm for pure
     translational motion and common space-invariant blur", IEEE TIP 2001, on the interpolated grid).
  3. Fusion by iterative back-projection (Irani & Peleg, "Improving resolution by image
     registration", CVGIP 1991): x += mean_k S_k⁻¹ U(y_k − D S_k x), with S_k the frame's shift, D
     the bicubic downsampling the bursts are made with and U bicubic upsampling, `iterations` times.
     Rotation (≤ 1° in the synthetic bursts) is not modelled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from benchdata.resize import imresize
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method


@register_method(
    "burst_bicubic",
    family="interpolation",
    tasks=("burst_sr",),
    citation="R. G. Keys, Cubic convolution interpolation for digital image processing, IEEE TASSP 1981 "
    "(of the burst's reference frame, as the NTIRE 2021 Burst SR baselines)",
)
def burst_bicubic(frames: np.ndarray, context: RestorationContext) -> np.ndarray:
    """MATLAB-compatible bicubic upscaling of the burst's first (reference) frame."""
    return imresize(frames[0], float(context.scale))


def _gray(image: np.ndarray) -> np.ndarray:
    return image.mean(axis=2) if image.ndim == 3 else image


def register_burst(frames: np.ndarray, scale: int, upsample_factor: int = 40) -> list[tuple[float, ...]]:
    """Per frame, the (dy, dx) in high-resolution pixels that moves it onto the reference frame."""
    from skimage.registration import phase_cross_correlation

    shifts: list[tuple[float, ...]] = [(0.0, 0.0)]
    for frame in frames[1:]:
        low, _, _ = phase_cross_correlation(
            _gray(frames[0]), _gray(frame), upsample_factor=upsample_factor, normalization="phase"
        )
        shifts.append(tuple(scale * float(v) for v in low))
    return shifts


def _shift(image: np.ndarray, shift: tuple[float, ...]) -> np.ndarray:
    full = tuple(shift) + ((0.0,) if image.ndim == 3 else ())
    return ndimage.shift(image, full, order=3, mode="nearest")


def _shift_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"upsample_factor": 40, "iterations": 8}


@register_method(
    "shift_and_add",
    family="interpolation",
    tasks=("burst_sr",),
    citation="Elad & Hel-Or, A fast super-resolution reconstruction algorithm for pure translational "
    "motion and common space-invariant blur, IEEE TIP 10(8), 2001; Irani & Peleg, Improving resolution "
    "by image registration, CVGIP 53(3), 1991; Guizar-Sicairos, Thurman & Fienup, Efficient subpixel "
    "image registration algorithms, Optics Letters 33(2), 2008",
    defaults=_shift_defaults,
)
def shift_and_add(frames: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Registration (phase correlation), shift-and-add and iterative back-projection fusion."""
    params = get_method("shift_and_add").parameters(context)
    factor, iterations = int(params["upsample_factor"]), int(params["iterations"])
    if factor < 1 or iterations < 0:
        raise MethodError("shift_and_add: upsample_factor must be >= 1 and iterations >= 0")
    scale = int(context.scale)
    shifts = register_burst(frames, scale, factor)
    estimate = np.mean([_shift(imresize(f, float(scale)), d) for f, d in zip(frames, shifts, strict=True)], 0)
    for _ in range(iterations):
        correction = np.zeros_like(estimate)
        for frame, (dy, dx) in zip(frames, shifts, strict=True):
            simulated = imresize(_shift(estimate, (-dy, -dx)), 1.0 / scale)
            correction += _shift(imresize(frame - simulated, float(scale)), (dy, dx))
        estimate = estimate + correction / len(frames)
    return estimate
