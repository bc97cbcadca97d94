"""`degrade(image, spec, seed)`: the observation model y = Hx + n as a pure function.

Input image x: float64 on [0, 1] (or uint8, read as v / 255), (H, W) gray or (H, W, 3) RGB.
Output `Degraded`:
- image: the degraded observation y, float64, (H, W[, 3]) -- (H / s, W / s[, 3]) for SR, and the
  stack of frames (N, H / s, W / s[, 3]) for burst SR; on [0, 1] when clip, on the 8-bit grid k / 255
  when quantize;
- kernel: the blur kernel used (deblur; SR blur_decimate), float64 (h, w), else None;
- mask: bool (H, W), True = missing (inpaint), else None;
- ground_truth: the clean image y is to be compared with -- x itself, or x modcropped to a multiple
  of the scale for SR.

Per task (σ on the 0-255 scale, n ~ N(0, 1) i.i.d. per pixel and channel):
- denoise:  y = x + (σ / 255) n                      (DnCNN's protocol: float, not clipped by default)
- deblur:   y = k * x + (σ / 255) n                  (direct convolution, `spec.boundary`)
- sr:       bicubic: y = imresize(modcrop(x), 1 / s) computed on 0..255 like MATLAB, + noise;
            blur_decimate: y = (k * modcrop(x))[s//2 :: s, s//2 :: s] + noise (the kept pixel is the
            block centre, as MATLAB's imresize(..., 'nearest') picks)
- inpaint:  y = x + (σ / 255) n on known pixels, `spec.fill` on missing ones
- jpeg:     y = decode(encode_JPEG(x, quality)) (jpeg.py: baseline, 4:2:0, Pillow's libjpeg-turbo)
- burst_sr: y_k = imresize(warp_k(modcrop(x)), 1 / s) + (σ / 255) n_k, k = 1..N (burst.py), the first
            frame unmoved
then clip to [0, 1] if `spec.clip` and round to k / 255 (half away from zero) if `spec.quantize`.

Randomness: `numpy.random.SeedSequence(seed)` is split into three independent streams (kernel, mask,
noise), each a `Generator(PCG64)`, so e.g. the noise does not change when a kernel is loaded rather
than drawn. With the same numpy version, every output is bit-identical on every machine: only
elementwise numpy arithmetic, fixed-order sums, and the C library's math functions are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchdata.degradations.burst import make_burst
from benchdata.degradations.convolution import convolve, convolve_separable
from benchdata.degradations.jpeg import jpeg_compress
from benchdata.degradations.kernels import gaussian_kernel_1d, motion_kernel
from benchdata.degradations.masks import make_mask
from benchdata.degradations.spec import DegradationSpec
from benchdata.image_files import read_mask, round_to_uint8
from benchdata.resize import imresize, modcrop


@dataclass(frozen=True)
class Degraded:
    """A degraded observation with what a track may disclose (kernel, mask) and its ground truth."""

    image: np.ndarray
    kernel: np.ndarray | None
    mask: np.ndarray | None
    # Optional so the three-field contract `Degraded(image, kernel, mask)` still constructs; `degrade`
    # always fills it.
    ground_truth: np.ndarray | None = None


def _check_image(image: Any) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype == np.uint8:
        array = array.astype(np.float64) / 255.0
    elif not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"degrade: image must be float on [0, 1] or uint8, got dtype {array.dtype}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"degrade: image must be (H, W) or (H, W, 3), got shape {array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError("degrade: image contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"degrade: image values must be in [0, 1], got range [{low:.4g}, {high:.4g}]")
    return array


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"degrade: seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _kernel(spec: DegradationSpec, rng: np.random.Generator) -> np.ndarray:
    if spec.kernel.is_random:
        return motion_kernel(spec.kernel.size, rng, intensity=spec.kernel.intensity)
    return spec.kernel.fixed_array()


def _blur(image: np.ndarray, spec: DegradationSpec, kernel: np.ndarray) -> np.ndarray:
    if spec.kernel.type == "gaussian":
        # Separable: the same kernel, 2 x size taps per pixel instead of size^2.
        g = gaussian_kernel_1d(spec.kernel.size, spec.kernel.sigma)
        return convolve_separable(image, g, g, spec.boundary)
    return convolve(image, kernel, spec.boundary)


def _finish(values: np.ndarray, spec: DegradationSpec, rng: np.random.Generator) -> np.ndarray:
    """Add noise (σ on 0..255) to an image on [0, 1], then clip / quantise as the spec says."""
    if spec.sigma > 0:
        values = values + (spec.sigma / 255.0) * rng.standard_normal(values.shape)
    if spec.quantize:
        return round_to_uint8(values * 255.0).astype(np.float64) / 255.0
    if spec.clip:
        return np.clip(values, 0.0, 1.0)
    return values


def degrade(image: np.ndarray, spec: DegradationSpec | dict, seed: int) -> Degraded:
    """Apply the degradation `spec` to `image` with randomness from `seed` (see the module docstring)."""
    spec = DegradationSpec.from_dict(spec)
    x = _check_image(image)
    kernel_ss, mask_ss, noise_ss = np.random.SeedSequence(_check_seed(seed)).spawn(3)
    kernel_rng = np.random.Generator(np.random.PCG64(kernel_ss))
    mask_rng = np.random.Generator(np.random.PCG64(mask_ss))
    noise_rng = np.random.Generator(np.random.PCG64(noise_ss))

    if spec.task == "denoise":
        return Degraded(_finish(x, spec, noise_rng), None, None, x)

    if spec.task == "jpeg":
        return Degraded(jpeg_compress(x, spec.quality), None, None, x)

    if spec.task == "burst_sr":
        # The kernel stream draws the motion (the burst's "operator"), the noise stream the noise.
        frames, hr, _ = make_burst(
            x,
            frames=spec.frames,
            scale=spec.scale,
            sigma=spec.sigma,
            max_shift=spec.max_shift,
            max_rotation=spec.max_rotation,
            motion_rng=kernel_rng,
            noise_rng=noise_rng,
        )
        return Degraded(frames, None, None, hr)

    if spec.task == "deblur":
        kernel = _kernel(spec, kernel_rng)
        return Degraded(_finish(_blur(x, spec, kernel), spec, noise_rng), kernel, None, x)

    if spec.task == "sr":
        scale = spec.scale
        hr = modcrop(x, scale)
        if spec.model == "bicubic":
            # On 0..255 like MATLAB's uint8 path: for 8-bit images (k / 255) * 255 is exactly k, so
            # quantised output equals bicubic_sr_protocol's LR bit for bit.
            low = imresize(hr * 255.0, 1.0 / scale) / 255.0
            return Degraded(_finish(low, spec, noise_rng), None, None, hr)
        kernel = _kernel(spec, kernel_rng)
        offset = scale // 2
        low = _blur(hr, spec, kernel)[offset::scale, offset::scale]
        return Degraded(_finish(low, spec, noise_rng), kernel, None, hr)

    # inpaint
    height, width = x.shape[:2]
    if spec.mask.type == "file":
        mask = read_mask(spec.mask.path)
        if mask.shape != (height, width):
            raise ValueError(
                f"degrade: mask file {spec.mask.path} is {mask.shape}, the image is {(height, width)}"
            )
    else:
        options = dict(spec.mask.options)
        mask = make_mask(spec.mask.type, (height, width), spec.mask.coverage, mask_rng, **options)
    observed = _finish(x, spec, noise_rng)
    observed[mask] = spec.fill
    return Degraded(observed, None, mask, x)
