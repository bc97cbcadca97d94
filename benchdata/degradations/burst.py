"""Synthetic bursts for `burst_sr`, after the NTIRE 2021 Burst Super-Resolution challenge, track 1.

Bhat et al., "Deep Burst Super-Resolution" (CVPR 2021) and "NTIRE 2021 Challenge on Burst
Super-Resolution" (CVPRW 2021) make a burst from one image: N frames, each the image moved by a random
translation and a small random rotation, downsampled by the scale factor, with noise. The first frame
is the reference: no motion, so the ground truth is aligned with it. Their pipeline first inverts the
camera pipeline to RAW and mosaics the frames; this one stays in sRGB (RGB or gray frames), so
methods need no RAW processing. Changes from their defaults are none in the motion model: translations
uniform in ±`max_shift` high-resolution pixels (their 24) and rotations uniform in ±`max_rotation`
degrees (their 1).

Frame k: warp_k(x) sampled bilinearly (rotation about the image centre, then translation; samples
outside the image take the nearest edge pixel), downsampled with MATLAB's bicubic `imresize(·, 1/s)`
(the `sr` task's operator), plus Gaussian noise σ (0-255 scale), clipped and rounded to 8 bits.

Reproducibility: the motion is drawn from the seed (`Generator(PCG64)`), the angle's sine and cosine
come from Python's `math` (the C library, one scalar each) rather than numpy's vectorised kernels (which
differ between CPUs), and the warp and resize use only elementwise arithmetic in a fixed order, so a
burst is bit-identical on every machine with the same numpy version.

Arrays: the image float64 on [0, 1], (H, W) or (H, W, 3); the burst (N, H/s, W/s[, 3]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchdata.image_files import round_to_uint8
from benchdata.resize import imresize, modcrop


@dataclass(frozen=True)
class Motion:
    """One frame's motion in high-resolution pixels: shift (dy, dx) and rotation (degrees)."""

    dy: float
    dx: float
    degrees: float


def draw_motions(
    frames: int, max_shift: float, max_rotation: float, rng: np.random.Generator
) -> list[Motion]:
    """The reference frame (no motion), then `frames - 1` random motions."""
    motions = [Motion(0.0, 0.0, 0.0)]
    for _ in range(frames - 1):
        dy, dx = (float(v) for v in rng.uniform(-max_shift, max_shift, 2))
        motions.append(Motion(dy, dx, float(rng.uniform(-max_rotation, max_rotation))))
    return motions


def warp(image: np.ndarray, motion: Motion) -> np.ndarray:
    """`image` rotated by `motion.degrees` about its centre and shifted by (dy, dx), bilinear.

    Output pixel (i, j) samples the input at R^-1 ((i, j) - c - d) + c, edges replicated; a positive
    angle turns the image clockwise as displayed (rows downwards).
    """
    height, width = image.shape[:2]
    if motion == Motion(0.0, 0.0, 0.0):
        return image.copy()
    angle = math.radians(motion.degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    yy = np.arange(height, dtype=np.float64)[:, None] - cy - motion.dy
    xx = np.arange(width, dtype=np.float64)[None, :] - cx - motion.dx
    src_y = np.clip(cos * yy - sin * xx + cy, 0.0, height - 1.0)
    src_x = np.clip(sin * yy + cos * xx + cx, 0.0, width - 1.0)
    y0 = np.minimum(np.floor(src_y).astype(np.intp), height - 2 if height > 1 else 0)
    x0 = np.minimum(np.floor(src_x).astype(np.intp), width - 2 if width > 1 else 0)
    fy, fx = src_y - y0, src_x - x0
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    if image.ndim == 3:
        fy, fx = fy[..., None], fx[..., None]
    top = image[y0, x0] * (1.0 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1.0 - fx) + image[y1, x1] * fx
    return top * (1.0 - fy) + bottom * fy


def make_burst(
    image: np.ndarray,
    *,
    frames: int,
    scale: int,
    sigma: float,
    max_shift: float,
    max_rotation: float,
    motion_rng: np.random.Generator,
    noise_rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[Motion]]:
    """(burst (N, H/s, W/s[, 3]) on the 8-bit grid, ground truth modcrop(image, s), the motions)."""
    hr = modcrop(image, scale)
    motions = draw_motions(frames, max_shift, max_rotation, motion_rng)
    out = []
    for motion in motions:
        low = imresize(warp(hr, motion) * 255.0, 1.0 / scale)
        if sigma > 0:
            low = low + sigma * noise_rng.standard_normal(low.shape)
        out.append(round_to_uint8(low).astype(np.float64) / 255.0)
    return np.stack(out), hr, motions
