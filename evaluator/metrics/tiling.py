"""Deep-feature metrics in bounded memory: run a convolutional trunk tile by tile so that every feature
map it taps comes out, on each tile's *core*, exactly equal to the whole-image computation.

Why this is exact. For a layer with kernel K, stride S and zero padding P, output j reads inputs
S·j − P … S·j − P + K − 1. Composing layers gives, for a position j of a tapped map with cumulative
stride S_L, an input-pixel receptive field [S_L·j − a_L, S_L·j + b_L] (`receptive_fields`). A tile is
the image rows/columns [s, e) with s a multiple of the trunk's total stride; then each layer's grid on the
tile is the whole image's grid shifted by an integer, so a tile position equals the whole-image position
whenever its receptive field lies inside [s, e) (or crosses the image border, where both pad the same
way). Cores are consecutive runs of `tile` pixels (a multiple of the total stride); the halo on each side
is at least max(a_L, b_L) rounded up to the total stride. Position j of map L belongs to the tile whose
core contains input pixel S_L·j, so the cores partition every map; the last tile on each axis runs to the
image end, where the tile's and the image's output counts agree.

Metrics that average maps spatially (LPIPS, DISTS) then accumulate per-tile sums over the cores in
float64 and divide by the whole map's size. Peak memory is bounded by the tile, not the image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

# Core size (input pixels) of a tile: with VGG16's 112-pixel halo a 512-pixel core keeps one pair's peak
# under 1.5 GB on the CPU (docs/benchmarks.md); 0 disables tiling.
DEFAULT_TILE = 512


def check_tile(tile: int) -> int:
    """A metric's `tile` option: 0 (whole image) or a core size of at least 16 pixels."""
    if isinstance(tile, bool) or not isinstance(tile, int) or (tile != 0 and tile < 16):
        raise ValueError(f"tile must be 0 (no tiling) or an integer ≥ 16, got {tile!r}")
    return tile


@dataclass(frozen=True)
class Field:
    """Receptive field of a tapped map: position j sees input pixels [stride·j − left, stride·j + right]."""

    stride: int
    left: int
    right: int


def layer_geometry(layer: nn.Module) -> tuple[int, int, int] | None:
    """(kernel, stride, padding) of a spatial layer along one axis; None for a point-wise one (ReLU).

    Any other layer kind is refused: tiling is exact only for the geometry it knows."""
    if isinstance(layer, nn.ReLU):
        return None
    geometry = getattr(layer, "tile_geometry", None)  # e.g. DISTS' L2 pooling declares its own
    if geometry is not None:
        return geometry
    if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
        kernel, stride, padding, dilation = (
            getattr(layer, a) for a in ("kernel_size", "stride", "padding", "dilation")
        )
        values = [v if isinstance(v, tuple) else (v, v) for v in (kernel, stride, padding, dilation)]
        if any(v[0] != v[1] for v in values) or values[3][0] != 1:
            raise ValueError(f"tiling needs square, undilated layers, got {layer}")
        if isinstance(layer, nn.MaxPool2d) and layer.ceil_mode:
            raise ValueError("tiling needs ceil_mode=False pooling")
        return values[0][0], values[1][0], values[2][0]
    raise ValueError(f"tiling does not know the geometry of {type(layer).__name__}")


def receptive_fields(layers: Sequence[nn.Module], taps: Sequence[int]) -> dict[int, Field]:
    """Receptive field of the output of `layers[i]` for every i in `taps`."""
    stride, left, right = 1, 0, 0
    fields = {}
    for i, layer in enumerate(layers):
        geometry = layer_geometry(layer)
        if geometry is not None:
            k, s, p = geometry
            left, right, stride = left + stride * p, right + stride * (k - 1 - p), stride * s
        if i in taps:
            fields[i] = Field(stride, left, right)
    return fields


@dataclass(frozen=True)
class TilePlan:
    """Cores of `tile` pixels along each axis with a `halo` on each side; `step` is the total stride."""

    tile: int
    halo: int
    step: int

    @classmethod
    def for_layers(cls, layers: Sequence[nn.Module], taps: Sequence[int], tile: int) -> TilePlan:
        fields = receptive_fields(layers, taps)
        step = max(f.stride for f in fields.values())
        if any(step % f.stride for f in fields.values()):
            raise ValueError("tap strides must divide the largest one")
        reach = max(max(f.left, f.right) for f in fields.values())
        halo = -(-reach // step) * step
        tile = max(step, tile // step * step)
        return cls(tile=tile, halo=halo, step=step)

    def spans(self, size: int) -> list[tuple[int, int, int, int]]:
        """(start, end, core_start, core_end) along an axis of `size` pixels; the last core ends at `size`."""
        cores = list(range(0, size, self.tile)) or [0]
        out = []
        for n, c0 in enumerate(cores):
            last = n == len(cores) - 1
            c1 = size if last else c0 + self.tile
            out.append((max(0, c0 - self.halo), size if last else min(size, c1 + self.halo), c0, c1))
        return out


def _core_slice(start: int, c0: int, c1: int, stride: int, last: bool) -> slice:
    """Tile-local indices of the map positions whose anchor pixel stride·j lies in the core [c0, c1)."""
    lo = c0 // stride - start // stride
    return slice(lo, None) if last else slice(lo, c1 // stride - start // stride)


def tiled_maps(
    images: Sequence[torch.Tensor],
    trunk: Callable[[torch.Tensor], list[torch.Tensor]],
    fields: Sequence[Field],
    plan: TilePlan,
) -> Iterator[list[list[torch.Tensor]]]:
    """For each tile: `trunk` run on the tile of every image in `images` (same shape (N, C, H, W)),
    its maps cut to the core — `result[image][tap]`, exact equal to the whole-image maps' pieces."""
    height, width = images[0].shape[-2:]
    rows, cols = plan.spans(height), plan.spans(width)
    for r, (y0, y1, cy0, cy1) in enumerate(rows):
        for c, (x0, x1, cx0, cx1) in enumerate(cols):
            last_r, last_c = r == len(rows) - 1, c == len(cols) - 1
            pieces = []
            for image in images:
                maps = trunk(image[..., y0:y1, x0:x1])
                pieces.append(
                    [
                        m[
                            ...,
                            _core_slice(y0, cy0, cy1, f.stride, last_r),
                            _core_slice(x0, cx0, cx1, f.stride, last_c),
                        ]
                        for m, f in zip(maps, fields, strict=True)
                    ]
                )
            yield pieces


def map_sizes(layers: Sequence[nn.Module], taps: Sequence[int], height: int, width: int) -> list[int]:
    """Number of positions (H_L·W_L) of each tapped map of the whole image, from the geometry alone."""
    h, w, sizes = height, width, []
    for i, layer in enumerate(layers):
        geometry = layer_geometry(layer)
        if geometry is not None:
            k, s, p = geometry
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if i in taps:
            sizes.append(h * w)
    return sizes
