"""Inpainting masks: random boxes, free-form brush strokes, random missing pixels.

A mask is bool (H, W), True = pixel missing (docs/architecture.md); as a file an 8-bit PNG with
255 = missing (`benchdata.image_files.write_mask`). Coverage is the fraction of missing pixels,
in [0, 1).

- "pixels": exactly round(coverage * H * W) pixels, chosen uniformly without replacement.
- "boxes": axis-aligned rectangles with sides drawn uniformly in [min_size, max_size] x the shorter
  image side, placed uniformly, added until the coverage is reached. When a box would overshoot, it
  is shrunk (aspect kept) to about the area still needed, so the final coverage exceeds the target by
  at most one box perimeter (a few pixels per hundred thousand).
- "brush": free-form strokes after J. Yu et al., "Free-Form Image Inpainting with Gated Convolution",
  ICCV 2019 (their training masks): each stroke is a chain of line segments with random directions
  and lengths, drawn with a round brush of random width; segments are added until the coverage is
  reached, so the coverage overshoots by at most one segment (length <= max_length x shorter side,
  width <= max_width x shorter side).

All random choices come from the given numpy Generator; only integer and elementary floating-point
operations plus the math module are used, so masks are identical on every machine.
"""

from __future__ import annotations

import math

import numpy as np

MASK_KINDS = ("boxes", "brush", "pixels")


def _check(shape: tuple[int, int], coverage: float) -> int:
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"mask: shape must be (H, W) with positive sizes, got {shape}")
    if not 0.0 <= coverage < 1.0:
        raise ValueError(f"mask: coverage must be in [0, 1), got {coverage}")
    return int(math.floor(coverage * shape[0] * shape[1] + 0.5))


def random_pixels_mask(shape: tuple[int, int], coverage: float, rng: np.random.Generator) -> np.ndarray:
    """Exactly round(coverage * H * W) missing pixels, uniformly at random."""
    target = _check(shape, coverage)
    height, width = shape
    mask = np.zeros(height * width, dtype=bool)
    mask[rng.permutation(height * width)[:target]] = True
    return mask.reshape(height, width)


def random_boxes_mask(
    shape: tuple[int, int],
    coverage: float,
    rng: np.random.Generator,
    min_size: float = 0.05,
    max_size: float = 0.25,
) -> np.ndarray:
    """Random rectangles until `coverage` is reached; sides in [min_size, max_size] x min(H, W)."""
    target = _check(shape, coverage)
    if not 0 < min_size <= max_size <= 1:
        raise ValueError(f"boxes mask: need 0 < min_size <= max_size <= 1, got {min_size}, {max_size}")
    height, width = shape
    short = min(height, width)
    low = max(1, int(round(min_size * short)))
    high = max(low, int(round(max_size * short)))
    mask = np.zeros(shape, dtype=bool)
    covered = 0
    attempts = 0
    while covered < target:
        attempts += 1
        if attempts > 100_000:  # only at coverage close to 1 with tiny leftovers
            return _complete_with_pixels(mask, target, rng)
        box_h = int(rng.integers(low, high + 1))
        box_w = int(rng.integers(low, high + 1))
        needed = target - covered
        if box_h * box_w > needed:
            factor = math.sqrt(needed / (box_h * box_w))
            box_h = max(1, math.ceil(box_h * factor))
            box_w = max(1, math.ceil(box_w * factor))
        box_h, box_w = min(box_h, height), min(box_w, width)
        top = int(rng.integers(0, height - box_h + 1))
        left = int(rng.integers(0, width - box_w + 1))
        region = mask[top : top + box_h, left : left + box_w]
        covered += int(region.size - np.count_nonzero(region))
        region[...] = True
    return mask


def _complete_with_pixels(mask: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    free = np.flatnonzero(~mask.ravel())
    missing = target - int(np.count_nonzero(mask))
    flat = mask.ravel().copy()
    flat[free[rng.permutation(free.size)[:missing]]] = True
    return flat.reshape(mask.shape)


def _draw_segment(mask: np.ndarray, r0: float, c0: float, r1: float, c1: float, radius: float) -> int:
    """Set pixels within `radius` of the segment (r0, c0)-(r1, c1); return how many were newly set."""
    height, width = mask.shape
    top = max(0, int(math.floor(min(r0, r1) - radius)))
    bottom = min(height, int(math.ceil(max(r0, r1) + radius)) + 1)
    left = max(0, int(math.floor(min(c0, c1) - radius)))
    right = min(width, int(math.ceil(max(c0, c1) + radius)) + 1)
    if top >= bottom or left >= right:
        return 0
    rows = np.arange(top, bottom, dtype=np.float64)[:, None]
    cols = np.arange(left, right, dtype=np.float64)[None, :]
    dr, dc = r1 - r0, c1 - c0
    length2 = dr * dr + dc * dc
    if length2 > 0:
        t = np.clip(((rows - r0) * dr + (cols - c0) * dc) / length2, 0.0, 1.0)
    else:
        t = np.zeros((rows.size, cols.size))
    dist2 = (rows - (r0 + t * dr)) ** 2 + (cols - (c0 + t * dc)) ** 2
    inside = dist2 <= radius * radius
    region = mask[top:bottom, left:right]
    newly = int(np.count_nonzero(inside & ~region))
    region |= inside
    return newly


def brush_strokes_mask(
    shape: tuple[int, int],
    coverage: float,
    rng: np.random.Generator,
    max_vertices: int = 8,
    max_length: float = 0.1,
    max_width: float = 0.05,
) -> np.ndarray:
    """Free-form brush strokes (Yu et al. 2019) until `coverage` is reached.

    Each stroke starts at a uniform point, has 4..max_vertices vertices, turns by up to 2 pi/5 around
    a random heading (alternating back), segments of length up to max_length x min(H, W), and a brush
    width in [max_width / 3, max_width] x min(H, W) (at least 1 pixel).
    """
    target = _check(shape, coverage)
    if max_vertices < 4 or not 0 < max_length <= 1 or not 0 < max_width <= 1:
        raise ValueError(
            f"brush mask: need max_vertices >= 4, 0 < max_length <= 1, 0 < max_width <= 1; "
            f"got {max_vertices}, {max_length}, {max_width}"
        )
    height, width = shape
    short = min(height, width)
    mask = np.zeros(shape, dtype=bool)
    covered = 0
    while covered < target:
        vertices = int(rng.integers(4, max_vertices + 1))
        brush = max(1.0, float(rng.uniform(max_width / 3.0, max_width)) * short)
        heading = float(rng.uniform(0.0, 2.0 * math.pi))
        row = float(rng.uniform(0, height - 1))
        col = float(rng.uniform(0, width - 1))
        for index in range(vertices):
            turn = float(rng.uniform(0.0, 2.0 * math.pi / 5.0))
            angle = heading - turn if index % 2 == 0 else heading + turn + math.pi
            length = float(rng.uniform(0.2, 1.0)) * max_length * short
            new_row = min(max(row + length * math.sin(angle), 0.0), height - 1.0)
            new_col = min(max(col + length * math.cos(angle), 0.0), width - 1.0)
            covered += _draw_segment(mask, row, col, new_row, new_col, brush / 2.0)
            row, col = new_row, new_col
            if covered >= target:
                break
    return mask


def make_mask(
    kind: str, shape: tuple[int, int], coverage: float, rng: np.random.Generator, **options: float
) -> np.ndarray:
    """Dispatch to the mask generator named `kind` (one of MASK_KINDS)."""
    generators = {"boxes": random_boxes_mask, "brush": brush_strokes_mask, "pixels": random_pixels_mask}
    if kind not in generators:
        raise ValueError(f"mask: unknown kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    return generators[kind](shape, coverage, rng, **options)
