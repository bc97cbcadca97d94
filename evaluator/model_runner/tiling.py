"""Run an image-to-image network over a large image in overlapping tiles, with bounded memory.

Arrays are NCHW float32. A tile of the input of size (th, tw) must come back as (N, C_out, s·th, s·tw)
where s is the scale factor (1 for denoising, deblurring and inpainting).

Tiles step by `tile - overlap`; the last tile along each axis is shifted inward so every tile is full
size (when the image is at least one tile large). Where two tiles overlap, each output pixel comes from
the tile in whose half of the overlap it lies, so every kept pixel is at least overlap/2 input pixels
away from a tile border that is not an image border. For a fully convolutional network whose receptive
field radius is at most overlap/2 the tiled result equals the whole-image result exactly; otherwise the
seams are approximate, as in every tiled-inference implementation.

Networks with a fixed input size get tiles of exactly that size: images (or remainders) smaller than it
are padded by edge replication and the padding is cropped from the output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class TileShapeError(ValueError):
    """The network returned a tile of the wrong shape."""


def tile_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Tiles along one axis: (start, end, keep_start, keep_end), all in input pixels.

    The input range [start, end) is run; the output keeps [keep_start, keep_end), and the kept
    ranges partition [0, length).
    """
    if length <= tile:
        return [(0, length, 0, length)]
    step = tile - overlap
    starts = list(range(0, length - tile, step)) + [length - tile]
    spans = []
    for i, start in enumerate(starts):
        end = start + tile
        keep_start = 0 if i == 0 else (start + spans[-1][1]) // 2
        if i > 0:
            prev = spans[-1]
            spans[-1] = (prev[0], prev[1], prev[2], keep_start)
        spans.append((start, end, keep_start, length))
    return spans


def run_tiled(
    fn: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    scale: int,
    tile: int | None,
    overlap: int,
    fixed_hw: tuple[int, int] | None = None,
) -> np.ndarray:
    """Apply `fn` to `x` (N, C, H, W) tile by tile; return (N, C_out, s·H, s·W) float32.

    tile: side of the input tiles (None: the whole image in one call, unless fixed_hw forces tiles).
    fixed_hw: the network's fixed input (H, W), when it has one.
    """
    n, _, h, w = x.shape
    th = tw = tile
    if fixed_hw is not None:
        th, tw = fixed_hw
    if th is None:
        th, tw = h, w
    rows = tile_spans(h, th, overlap if h > th else 0)
    cols = tile_spans(w, tw, overlap if w > tw else 0)
    out: np.ndarray | None = None
    s = scale
    for r0, r1, kr0, kr1 in rows:
        for c0, c1, kc0, kc1 in cols:
            patch = x[:, :, r0:r1, c0:c1]
            ph, pw = patch.shape[2:]
            if fixed_hw is not None and (ph, pw) != (th, tw):
                patch = np.pad(patch, ((0, 0), (0, 0), (0, th - ph), (0, tw - pw)), mode="edge")
            y = np.asarray(fn(np.ascontiguousarray(patch, dtype=np.float32)))
            want = (n, y.shape[1] if y.ndim == 4 else -1, s * patch.shape[2], s * patch.shape[3])
            if y.ndim != 4 or y.shape[0] != n or y.shape[2:] != want[2:]:
                raise TileShapeError(
                    f"the network returned shape {tuple(y.shape)} for an input tile of shape "
                    f"{tuple(patch.shape)}; expected (N={n}, C, {want[2]}, {want[3]}) for scale {s}"
                )
            y = y[:, :, : s * ph, : s * pw]
            if out is None:
                out = np.empty((n, y.shape[1], s * h, s * w), dtype=np.float32)
            elif y.shape[1] != out.shape[1]:
                raise TileShapeError(
                    f"the network returned {y.shape[1]} channels for one tile, {out.shape[1]} for another"
                )
            out[:, :, s * kr0 : s * kr1, s * kc0 : s * kc1] = y[
                :, :, s * (kr0 - r0) : s * (kr1 - r0), s * (kc0 - c0) : s * (kc1 - c0)
            ]
    assert out is not None
    return out
