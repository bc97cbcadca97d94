"""Inpainting with the PixelRNN and the two-level VQ-VAE-2: the algorithms, independent of the registry.

Conventions as in `priors`: gray images (H, W) float32 on [0, 1] on the model's device, masks numpy
bool (H, W) with True = missing.

- `pixelrnn_fill`: the missing pixels in raster order, each from the Row LSTM's conditional
  p(x_i | x_<i) (mean, mode or a seeded sample), optionally from the four corners (flipped image)
  and averaged, as `priors.pixelcnn_fill` does. The Row LSTM's state carries the whole image above
  a row, so there is no finite crop; instead the rows are stepped once each with
  `PixelRNN.step_row`, and inside a row with holes the row is recomputed once per missing pixel
  (its state above stays fixed), which gives exactly the whole-image network's conditionals.
- `vqvae2_reselect`: encode the initial estimate to top and bottom codes; visit the top cells that
  touch a hole in raster order and re-choose each among the top prior's top-k codes (and the
  current one) by  λ log p_top(c | c_<i) - misfit(c) / 2σ²  with the bottom codes held; then
  visit the bottom cells that touch a hole and re-choose each the same way by the bottom prior
  conditioned on the (now fixed) top codes, λ log p_bottom(c | c_<i, top) - misfit(c) / 2σ².
  The misfit is the known-pixel error of the decoded image, computed on a local window that holds
  every pixel the code can change (tested against whole-image decoding). This is the paper's
  top-then-bottom ancestral order, with the data term added to each choice.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from reference_methods.generative.archs import PixelCNN
from reference_methods.generative.hierarchical import VQVAE2, ConditionalPixelCNN
from reference_methods.generative.patches import Masking
from reference_methods.generative.pixelrnn import PixelRNN
from reference_methods.generative.priors import _choose, local_cost, pixelcnn_conditional, raster_flips


def _fill_rows(
    model: PixelRNN, x: torch.Tensor, missing: torch.Tensor, fill: str, generator: torch.Generator
) -> torch.Tensor:
    """Raster fill of a batch (B, H, W) of images with their own masks, in lockstep: the row is
    recomputed once per column where any image has a hole (an image's columns at and after j never
    change its logits at j, so the others' pending holes do not matter), on a crop of
    ±`model.row_reach` columns around j, which gives column j exactly at a fraction of the cost."""
    x = torch.where(missing, torch.zeros_like(x), x)
    width, reach = x.shape[2], model.row_reach
    state = model.initial_state(x.shape[0], width, x.device)
    for r in range(x.shape[1]):
        for j in torch.nonzero(missing[:, r].any(0))[:, 0].tolist():
            c0, c1 = max(j - reach, 0), min(j + reach + 1, width)
            logits, _ = model.step_row(x[:, r, c0:c1][:, None], state.columns(c0, c1))
            log_p = F.log_softmax(logits[:, :, j - c0], dim=1)
            for b in torch.nonzero(missing[:, r, j])[:, 0].tolist():
                x[b, r, j] = _choose(log_p[b], fill, generator)
        _, state = model.step_row(x[:, r][:, None], state)
    return x


def pixelrnn_fill(
    model: PixelRNN,
    image: torch.Tensor,
    mask: np.ndarray,
    *,
    directions: int = 4,
    fill: str = "mean",
    seed: int = 0,
) -> torch.Tensor:
    """Fill the missing pixels of `image` (H, W); known pixels are returned unchanged.

    directions: 1 (top-left start only) or 4 (the four corners, by flipping; averaged). The four
    flipped images are filled as one batch. fill: "mean" (least squared error), "mode" or "sample"
    (seeded).
    """
    flips = raster_flips(directions, fill)
    generator = torch.Generator().manual_seed(seed)
    missing = torch.from_numpy(np.ascontiguousarray(mask, dtype=bool)).to(image.device)
    with torch.no_grad():
        xs = torch.stack([image.flip(dims) if dims else image for dims in flips])
        ms = torch.stack([missing.flip(dims) if dims else missing for dims in flips])
        out = _fill_rows(model, xs, ms, fill, generator)
        total = sum((o.flip(dims) if dims else o) for o, dims in zip(out, flips, strict=True))
    return torch.where(missing, total / len(flips), image)


# --------------------------------------------------------------------------------------------------
# VQ-VAE-2

# Bottom cells of context an exactly decoded cell needs around it: 3 for the decoder's own reach
# over the bottom codes, 4 for the top codes through their ×2 transposed convolution, 1 for the
# alignment of the crop to whole top cells, rounded up.
_CONTEXT = 6


def changed_cells(level: str, i: int, j: int, rd: int, hb: int, wb: int) -> tuple[int, int, int, int]:
    """Bottom-cell rows [e0, e1) and columns [f0, f1) whose decoded pixels a change of the code at
    (i, j) of `level` ("top" / "bottom") can alter; rd is the decoder's radius in bottom cells."""
    if level == "bottom":
        e0, e1, f0, f1 = i - rd, i + rd + 1, j - rd, j + rd + 1
    else:  # a top cell reaches bottom cells 2i-1 .. 2i+2 through the upsampling transposed conv
        e0, e1, f0, f1 = 2 * i - 1 - rd, 2 * i + 3 + rd, 2 * j - 1 - rd, 2 * j + 3 + rd
    return max(e0, 0), min(e1, hb), max(f0, 0), min(f1, wb)


def candidate_misfits(
    vq: VQVAE2,
    operator: Masking,
    top: torch.Tensor,
    bottom: torch.Tensor,
    level: str,
    i: int,
    j: int,
    candidates: torch.Tensor,
) -> torch.Tensor:
    """Known-pixel misfit Σ r² over the changeable region for each candidate code at (i, j) of
    `level`, the other codes as given; decoded on a crop of the code maps with `_CONTEXT` cells
    around that region (aligned to top cells), so the region's pixels equal a whole-map decoding."""
    hb, wb = bottom.shape
    e0, e1, f0, f1 = changed_cells(level, i, j, vq.decoder_radius, hb, wb)
    a0, b0 = max(e0 - _CONTEXT, 0) // 2 * 2, max(f0 - _CONTEXT, 0) // 2 * 2
    a1 = min((e1 + _CONTEXT + 1) // 2 * 2, hb)
    b1 = min((f1 + _CONTEXT + 1) // 2 * 2, wb)
    n = len(candidates)
    tops = top[a0 // 2 : a1 // 2, b0 // 2 : b1 // 2].repeat(n, 1, 1)
    bottoms = bottom[a0:a1, b0:b1].repeat(n, 1, 1)
    if level == "top":
        tops[:, i - a0 // 2, j - b0 // 2] = candidates
    else:
        bottoms[:, i - a0, j - b0] = candidates
    decoded = vq.decode_indices(tops, bottoms)[:, 0]
    region = decoded[:, 4 * (e0 - a0) : 4 * (e1 - a0), 4 * (f0 - b0) : 4 * (f1 - b0)]
    return local_cost(operator, region, 4 * e0, 4 * e1, 4 * f0, 4 * f1)


def bottom_conditional(
    prior: ConditionalPixelCNN, bottom: torch.Tensor, cond: torch.Tensor, i: int, j: int
) -> torch.Tensor:
    """log p(bottom_ij = k | bottom_<ij, top), (levels,), from the causal crop around (i, j);
    cond = prior.condition(top[None]) of the whole top map (it is not causal, so it is computed once
    on the whole map, then cropped with the codes)."""
    r = prior.receptive_radius
    r0, c0, c1 = max(i - r, 0), max(j - r, 0), min(j + r + 1, bottom.shape[1])
    logits = prior.forward_features(bottom[r0 : i + 1, c0:c1][None], cond[:, :, r0 : i + 1, c0:c1])
    return F.log_softmax(logits[0, :, i - r0, j - c0], dim=0)


def _pick(score: torch.Tensor, sample: bool, generator: torch.Generator) -> torch.Tensor:
    if sample:
        return torch.multinomial(torch.softmax(score, 0).cpu(), 1, generator=generator)[0]
    return score.argmax()


def vqvae2_reselect(
    vq: VQVAE2,
    top_prior: PixelCNN,
    bottom_prior: ConditionalPixelCNN,
    x0: torch.Tensor,
    operator: Masking,
    *,
    visit_bottom: np.ndarray,
    noise: float,
    prior_weight: float,
    top_k: int,
    sample: bool = False,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Re-choose the codes of x0 (H, W), H and W divisible by 8, top level first; returns (decoded
    image (H, W) not clamped, top codes, bottom codes).

    visit_bottom: bool (H/4, W/4), the bottom cells to reconsider; the top cells visited are those
    over any visited bottom cell.
    """
    generator = torch.Generator().manual_seed(seed)
    visit_bottom = np.asarray(visit_bottom, dtype=bool)
    hb, wb = visit_bottom.shape
    visit_top = visit_bottom.reshape(hb // 2, 2, wb // 2, 2).any(axis=(1, 3))
    with torch.no_grad():
        top, bottom = (c[0] for c in vq.encode_indices(x0[None, None]))
        for i, j in zip(*np.nonzero(visit_top), strict=True):
            log_p = pixelcnn_conditional(top_prior, top, int(i), int(j))
            cand = torch.unique(
                torch.cat([torch.topk(log_p, min(top_k, len(log_p))).indices, top[i, j][None]])
            )
            cost = candidate_misfits(vq, operator, top, bottom, "top", int(i), int(j), cand)
            top[i, j] = cand[_pick(prior_weight * log_p[cand] - 0.5 * cost / noise**2, sample, generator)]
        cond = bottom_prior.condition(top[None])
        for i, j in zip(*np.nonzero(visit_bottom), strict=True):
            log_p = bottom_conditional(bottom_prior, bottom, cond, int(i), int(j))
            cand = torch.unique(
                torch.cat([torch.topk(log_p, min(top_k, len(log_p))).indices, bottom[i, j][None]])
            )
            cost = candidate_misfits(vq, operator, top, bottom, "bottom", int(i), int(j), cand)
            score = prior_weight * log_p[cand] - 0.5 * cost / noise**2
            bottom[i, j] = cand[_pick(score, sample, generator)]
        return vq.decode_indices(top[None], bottom[None])[0, 0], top, bottom
