"""JPEG deblocking: total variation constrained to the JPEG quantisation constraint set.

`tv_deblock` (jpeg) alternates two steps, the classic convex-set approach to JPEG decompression
(Zakhor, "Iterative procedures for reduction of blocking effects in transform image coding", IEEE
TCSVT 1992; with a total-variation prior: Alter, Durand & Froment, "Adapted total variation for
artifact free decompression of JPEG images", JMIV 2005):

1. ROF denoising of the current estimate (`tv_denoising.rof_denoise`, weight λ) smooths block edges
   and ringing;
2. projection of the luma onto the quantisation constraint set: every 8 × 8 block DCT coefficient of
   the estimate's luma is clamped into [c − Q/2, c + Q/2] around the decoded image's coefficient c,
   Q the step of the baseline luminance table at the track's quality (IJG scaling, as Pillow's
   libjpeg encodes), so the estimate stays an image that compresses to the same JPEG luma. The luma
   change is added to every channel (Y = 0.299 R + 0.587 G + 0.114 B, JFIF, weights summing to 1).
Chroma (subsampled 4:2:0, its constraint set is not separable per pixel) gets step 1 only.

Arrays: float64 on [0, 1], (H, W) or (H, W, 3). The DCT is the orthonormal 8 × 8 DCT-II, which equals
JPEG's FDCT on level-shifted 0..255 samples; partial blocks are padded by edge replication as libjpeg
pads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import fft as sfft

from reference_methods.registry import RestorationContext, get_method, register_method
from reference_methods.tv_denoising import rof_denoise

# ITU-T T.81 Annex K, Table K.1: the baseline luminance quantisation table (natural order).
LUMINANCE_TABLE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
)
_LUMA = np.array([0.299, 0.587, 0.114])


def quantisation_table(quality: int) -> np.ndarray:
    """IJG `jpeg_quality_scaling`: the luminance steps (8, 8) at `quality` 1-100, baseline (<= 255)."""
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    return np.clip(np.floor((LUMINANCE_TABLE * scale + 50.0) / 100.0), 1.0, 255.0)


def _blocks(plane: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """(H, W) -> block DCTs (H8/8, W8/8, 8, 8) of the edge-padded plane on 0..255, and (H, W)."""
    h, w = plane.shape
    padded = np.pad(plane * 255.0 - 128.0, ((0, -h % 8), (0, -w % 8)), mode="edge")
    tiles = padded.reshape(padded.shape[0] // 8, 8, padded.shape[1] // 8, 8).swapaxes(1, 2)
    return sfft.dctn(tiles, axes=(2, 3), norm="ortho"), (h, w)


def _unblocks(coefficients: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    tiles = sfft.idctn(coefficients, axes=(2, 3), norm="ortho").swapaxes(1, 2)
    plane = tiles.reshape(tiles.shape[0] * 8, tiles.shape[2] * 8)
    return (plane[: shape[0], : shape[1]] + 128.0) / 255.0


def _luma(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else image @ _LUMA


def project_luma(estimate: np.ndarray, decoded: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """`estimate` with its luma's block DCT clamped to within half a step of `decoded`'s."""
    target, shape = _blocks(_luma(decoded))
    current, _ = _blocks(_luma(estimate))
    clamped = np.clip(current, target - steps / 2.0, target + steps / 2.0)
    change = _unblocks(clamped, shape) - _luma(estimate)
    return estimate + (change if estimate.ndim == 2 else change[..., None])


def _defaults(context: RestorationContext) -> dict[str, Any]:
    # λ grows with the IJG table scale (the artifacts' amplitude): 0.003 × scale, 3 rounds, chosen on
    # crops of scikit-image's camera and astronaut at q = 10, 30, 60 (+0.3 to +1.0 dB over the input).
    quality = context.quality or 50
    step = 50.0 / quality if quality < 50 else 2.0 - quality / 50.0
    return {"weight": 0.003 * max(step, 0.1), "iterations": 3}


@register_method(
    "tv_deblock",
    family="optimisation",
    tasks=("jpeg",),
    citation=(
        "Alter, Durand & Froment, Adapted total variation for artifact free decompression of JPEG "
        "images, JMIV 23(2):199-211, 2005; Zakhor, Iterative procedures for reduction of blocking "
        "effects in transform image coding, IEEE TCSVT 2(1):91-95, 1992"
    ),
    defaults=_defaults,
)
def tv_deblock(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """JPEG deblocking: ROF steps alternated with projection onto the luma quantisation constraint set."""
    params = get_method("tv_deblock").parameters(context)
    weight, iterations = float(params["weight"]), int(params["iterations"])
    steps = quantisation_table(int(context.quality))
    estimate = degraded
    for _ in range(max(iterations, 1)):
        estimate = rof_denoise(estimate, weight, rmse_tol=1e-3, max_iter=200)[0]
        estimate = project_luma(estimate, degraded, steps)
    return estimate
