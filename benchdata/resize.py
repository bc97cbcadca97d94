"""MATLAB-compatible bicubic `imresize`, `modcrop`, and the super-resolution bicubic protocol.

This is the SR degradation (HR -> LR) and the bicubic baseline (LR -> SR) of the SR literature
(SRCNN, Dong et al. 2014; VDSR, Kim et al. 2016; EDSR, Lim et al. 2017), which all use MATLAB's
`imresize(x, scale, 'bicubic')`. What MATLAB does (see ../shared/docs/conventions.md):

- cubic convolution kernel with a = -0.5 (Keys 1981):
  1.5|x|^3 - 2.5|x|^2 + 1 for |x| <= 1, -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2 for 1 < |x| <= 2;
- when shrinking (scale < 1) the kernel is stretched to antialias: h(x) = scale * cubic(scale * x),
  width 4 / scale; each output's weights are normalised to sum 1;
- output length ceil(scale * in); output x (1-based) samples input u = x / scale + 0.5 (1 - 1/scale),
  with taps left = floor(u - width / 2) + k, k = 0 .. ceil(width) + 1;
- taps outside the image mirror symmetrically (edge pixel repeated: ... 2 1 | 1 2 ... n | n n-1 ...);
- rows are resized before columns; uint8 input is computed in float64 on the 0..255 scale and the
  result rounded half away from zero and clipped to uint8.

Arrays: (H, W) or (H, W, C), float (any range, kept as float64) or uint8 (result uint8).
The resize is a gather along each axis followed by a fixed-order sum of the taps with elementwise
numpy operations (no BLAS, no FFT), so a given input gives the same bits on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchdata.image_files import round_to_uint8, to_uint8

SUPPORTED_SR_SCALES = (2, 3, 4)


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's bicubic), support [-2, 2]."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


def _output_length(in_length: int, scale: float) -> int:
    # MATLAB: ceil(scale * in). The product of an integer and a rounded reciprocal like 1/3 can land
    # a hair above an integer (e.g. 3 * (1/3) * n); such ulp-level excess is not a real fraction.
    exact = scale * in_length
    nearest = round(exact)
    if abs(exact - nearest) < 1e-9 * max(1.0, abs(exact)):
        return int(nearest)
    return math.ceil(exact)


def resize_weights(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Tap indices (0-based, mirrored into range) and weights for one axis: both (out_length, taps)."""
    if in_length < 1 or out_length < 1:
        raise ValueError(f"resize_weights: lengths must be positive, got in={in_length}, out={out_length}")
    antialias = scale < 1
    kernel_width = 4.0 / scale if antialias else 4.0
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based
    distance = u[:, None] - indices
    weights = scale * cubic(scale * distance) if antialias else cubic(distance)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric mirror with the edge repeated: the sequence 1..n, n..1 repeats with period 2n.
    period = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    mirrored = period[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    # Drop tap columns that are zero for every output (MATLAB does this too; it changes nothing but work).
    keep = np.any(weights != 0, axis=0)
    return mirrored[:, keep], weights[:, keep]


def _resize_axis(array: np.ndarray, axis: int, out_length: int, scale: float) -> np.ndarray:
    indices, weights = resize_weights(array.shape[axis], out_length, scale)
    # Work along a contiguous leading axis: gathering whole rows is cheap.
    moved = np.ascontiguousarray(np.moveaxis(array, axis, 0))
    extra = (1,) * (moved.ndim - 1)
    out = np.zeros((out_length,) + moved.shape[1:], dtype=np.float64)
    term = np.empty_like(out)
    for tap in range(indices.shape[1]):
        # Fixed tap order and separate multiply/add (no fused multiply-add): bit-identical everywhere.
        np.take(moved, indices[:, tap], axis=0, out=term)
        term *= weights[:, tap].reshape((out_length,) + extra)
        out += term
    return np.moveaxis(out, 0, axis)


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB `imresize(image, scale, 'bicubic')` (antialiased when shrinking).

    image: (H, W) or (H, W, C), float or uint8. scale > 0, the same for both axes; output shape
    (ceil(scale * H), ceil(scale * W)[, C]). Float in -> float64 out (not clipped); uint8 in -> uint8 out
    (computed on 0..255, rounded half away from zero, clipped), as MATLAB does.
    """
    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"imresize: expected an (H, W) or (H, W, C) image, got shape {array.shape}")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"imresize: scale must be a positive finite number, got {scale!r}")
    is_uint8 = array.dtype == np.uint8
    if not is_uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"imresize: expected a float or uint8 image, got dtype {array.dtype}")
    data = array.astype(np.float64)
    out_h = _output_length(array.shape[0], scale)
    out_w = _output_length(array.shape[1], scale)
    data = _resize_axis(data, 0, out_h, scale)  # height first, like MATLAB for equal scales
    data = _resize_axis(data, 1, out_w, scale)
    if is_uint8:
        return round_to_uint8(data)
    return data


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so height and width are multiples of `scale` (the SR papers' modcrop)."""
    array = np.asarray(image)
    if not isinstance(scale, int | np.integer) or scale < 1:
        raise ValueError(f"modcrop: scale must be a positive integer, got {scale!r}")
    if array.ndim not in (2, 3):
        raise ValueError(f"modcrop: expected an (H, W) or (H, W, C) image, got shape {array.shape}")
    height = array.shape[0] - array.shape[0] % scale
    width = array.shape[1] - array.shape[1] % scale
    if height == 0 or width == 0:
        raise ValueError(f"modcrop: image of shape {array.shape} is smaller than the scale {scale}")
    return array[:height, :width]


@dataclass(frozen=True)
class BicubicSR:
    """The SR bicubic protocol's three images, all uint8 with the input's channels.

    hr: modcropped ground truth (H, W); lr: imresize(hr, 1/scale) as uint8 (H/scale, W/scale);
    sr: imresize(lr, scale) as uint8 (H, W) -- the bicubic baseline.
    """

    hr: np.ndarray
    lr: np.ndarray
    sr: np.ndarray


def bicubic_sr_protocol(hr: np.ndarray, scale: int) -> BicubicSR:
    """HR -> modcrop -> LR (uint8) -> bicubic SR (uint8), as in the SRCNN/VDSR/EDSR evaluation code.

    hr: uint8, or float on [0, 1] (converted with `to_uint8` first, as if read from an 8-bit file).
    scale: one of 2, 3, 4.
    """
    if scale not in SUPPORTED_SR_SCALES:
        raise ValueError(f"bicubic_sr_protocol: scale must be one of {SUPPORTED_SR_SCALES}, got {scale!r}")
    array = np.asarray(hr)
    hr8 = array if array.dtype == np.uint8 else to_uint8(array)
    hr8 = modcrop(hr8, scale)
    lr8 = imresize(hr8, 1.0 / scale)
    sr8 = imresize(lr8, float(scale))
    return BicubicSR(hr=hr8, lr=lr8, sr=sr8)
