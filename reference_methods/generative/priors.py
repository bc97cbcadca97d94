"""Restoration with generative priors: the algorithms, independent of the registry.

All functions take and return torch tensors: gray images (H, W) float32 on [0, 1] on the model's
device, masks as numpy bool (H, W) with True = missing, and an operator from `patches` (Masking for
inpainting, BicubicDownsampling for SR) that says what the observation y is.

- `latent_map` (VAE, DCGAN): maximum a posteriori latents of a patch generator G,
      min_z  ||A(blend(G(z))) - y||² / (2 σ²)  +  (λ/2) Σ_p ||z_p||²,
  by Adam, with A the degradation, blend the overlap blending of `patches.PatchGrid` and z_p ~ N(0, I)
  the prior. This is latent optimisation as in PULSE (Menon et al., CVPR 2020: find z with
  downsample(G(z)) ≈ LR) and in Bora et al., "Compressed Sensing using Generative Models", ICML 2017,
  with a Gaussian latent penalty instead of PULSE's sphere constraint.
- `flow_map` (RealNVP): MAP in image space with the flow's exact patch log-likelihood,
      min_x  ||A x - y||² / (2 σ²)  -  (λ / overlap) Σ_p log p_flow(P_p x),
  the patch-prior formulation of EPLL (Zoran & Weiss, ICCV 2011) with a flow instead of a GMM;
  for inpainting the known pixels are held fixed (a hard constraint), so only the prior acts.
- `pixelcnn_fill` (PixelCNN): fills missing pixels one by one in raster order from the conditional
  p(x_i | x_<i) (its mean, mode or a seeded sample), optionally in the four raster orders of the
  flipped image, averaged. Each pixel is computed from a crop just covering the network's causal
  receptive field, which gives exactly the whole-image output at that pixel (tested).
- `vqvae_reselect` (VQ-VAE + PixelCNN prior over codes): encodes an initial estimate to codes, then
  visits the code positions in raster order and re-chooses each among the prior's top-k codes (and
  the current one) by  λ log p_prior(c | c_<i) - cost(c) / (2 σ²),  where cost is the data misfit of
  the decoded image, computed exactly on a local window (a code only changes pixels within the
  decoder's receptive radius). Greedy (argmax) by default, or a seeded sample from the scores.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from reference_methods.generative.archs import VQVAE, PixelCNN, RealNVP
from reference_methods.generative.patches import BicubicDownsampling, Masking, PatchGrid

Operator = Masking | BicubicDownsampling


def latent_map(
    decode: Callable[[torch.Tensor], torch.Tensor],
    z0: torch.Tensor,
    grid: PatchGrid,
    operator: Operator,
    *,
    noise: float,
    prior_weight: float,
    iterations: int,
    lr: float,
) -> torch.Tensor:
    """Optimise patch latents z (P, latent) from z0; return the blended image (H, W), detached.

    noise: σ of the data term on the [0, 1] scale; prior_weight: λ on the N(0, I) latent penalty.
    """
    z = z0.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=lr)
    scale = 1.0 / max(operator.count, 1)  # keeps Adam's first steps comparable across image sizes
    for _ in range(iterations):
        x = grid.blend(decode(z))
        data = 0.5 * (operator.residual(x) ** 2).sum() / noise**2
        loss = (data + 0.5 * prior_weight * (z**2).sum()) * scale
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return grid.blend(decode(z))


def flow_map(
    flow: RealNVP,
    x0: torch.Tensor,
    grid: PatchGrid,
    operator: Operator,
    *,
    free: torch.Tensor | None,
    noise: float,
    prior_weight: float,
    iterations: int,
    lr: float,
) -> torch.Tensor:
    """MAP estimate of the image (H, W) from x0 with the flow as a patch prior.

    free: bool (H, W), the pixels that may change (the missing ones for inpainting; None = all).
    The flow's log-density is summed over all grid patches and divided by the overlap factor
    (size/stride)², so λ = 1 counts each pixel about once.
    """
    overlap = (grid.size / grid.stride) ** 2
    u = x0.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([u], lr=lr)
    scale = 1.0 / (grid.height * grid.width)
    fixed = x0.detach()

    def current() -> torch.Tensor:
        x = u.clamp(0.0, 1.0)
        return x if free is None else torch.where(free, x, fixed)

    for _ in range(iterations):
        x = current()
        nll = -flow.log_prob(grid.extract(x)).sum() / overlap
        loss = prior_weight * nll
        if free is None:
            loss = loss + 0.5 * (operator.residual(x) ** 2).sum() / noise**2
        optimiser.zero_grad(set_to_none=True)
        (loss * scale).backward()
        optimiser.step()
    with torch.no_grad():
        return current()


# --------------------------------------------------------------------------------------------------
# PixelCNN


def _causal_crop(h: int, w: int, i: int, j: int, radius: int) -> tuple[int, int, int, int]:
    """Rows [i - radius, i] and columns [j - radius, j + radius], clipped: all that (i, j) can see."""
    return max(i - radius, 0), i + 1, max(j - radius, 0), min(j + radius + 1, w)


def pixelcnn_conditional(model: PixelCNN, x: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """log p(x_ij = k | x_<ij) for k in range(levels), (levels,), from the causal crop around (i, j).

    x: (H, W) image (pixels, float on [0, 1]) or code map (int64); values at and after (i, j) in raster
    order are never read (the masks hide them), so they may hold anything.
    """
    r0, r1, c0, c1 = _causal_crop(x.shape[0], x.shape[1], i, j, model.receptive_radius)
    crop = x[r0:r1, c0:c1][None] if model.discrete_input else x[r0:r1, c0:c1][None, None]
    return F.log_softmax(model(crop)[0, :, i - r0, j - c0], dim=0)


def _choose(log_p: torch.Tensor, fill: str, generator: torch.Generator) -> torch.Tensor:
    """A value on [0, 1] from log-probabilities over 256 levels: mean, mode or a sample."""
    levels = torch.arange(log_p.shape[0], dtype=log_p.dtype, device=log_p.device) / (log_p.shape[0] - 1)
    if fill == "mean":
        return (log_p.exp() * levels).sum()
    if fill == "mode":
        return levels[log_p.argmax()]
    u = torch.rand((), generator=generator).to(log_p.device)
    k = torch.searchsorted(torch.cumsum(log_p.exp(), 0), u.clamp(max=1 - 1e-7))
    return levels[k.clamp(max=log_p.shape[0] - 1)]


def raster_flips(directions: int, fill: str) -> list[tuple[int, ...]]:
    """The image flips a raster-order fill from `directions` corners (1 or 4) runs over, after checking
    `fill` ("mean", "mode" or "sample"): shared by `pixelcnn_fill` and `fills.pixelrnn_fill`."""
    if directions not in (1, 4):
        raise ValueError(f"directions must be 1 or 4, got {directions}")
    if fill not in ("mean", "mode", "sample"):
        raise ValueError(f"fill must be 'mean', 'mode' or 'sample', got {fill!r}")
    return [(), (1,), (0,), (0, 1)][:directions]


def pixelcnn_fill(
    model: PixelCNN,
    image: torch.Tensor,
    mask: np.ndarray,
    *,
    directions: int = 4,
    fill: str = "mean",
    seed: int = 0,
) -> torch.Tensor:
    """Fill the missing pixels of `image` (H, W) in raster order; known pixels are returned unchanged.

    directions: 1 (top-left to bottom-right only) or 4 (also from the other three corners, by
    flipping the image; the model was trained with flips, so the flipped image has the same
    statistics); the fills are averaged. A raster-order fill never sees the known pixels below and to
    the right of a hole, which is this method's main weakness; four directions halve it.
    fill: "mean" (expectation of the conditional: least squared error), "mode" or "sample".
    """
    flips = raster_flips(directions, fill)
    generator = torch.Generator().manual_seed(seed)
    missing = torch.from_numpy(np.asarray(mask, dtype=bool)).to(image.device)
    total = torch.zeros_like(image)
    with torch.no_grad():
        for dims in flips:
            x = image.flip(dims) if dims else image.clone()
            m = missing.flip(dims) if dims else missing
            x = torch.where(m, torch.zeros_like(x), x)
            for i, j in torch.nonzero(m).tolist():  # row-major: raster order
                x[i, j] = _choose(pixelcnn_conditional(model, x, i, j), fill, generator)
            total += x.flip(dims) if dims else x
    return torch.where(missing, total / len(flips), image)


# --------------------------------------------------------------------------------------------------
# VQ-VAE with an autoregressive prior over its codes


def local_cost(operator: Operator, x: torch.Tensor, r0: int, r1: int, c0: int, c1: int) -> torch.Tensor:
    """Data misfit Σ r² of candidate images x (B, r1 - r0, c1 - c0) occupying rows [r0, r1) and
    columns [c0, c1) of the full estimate: known pixels inside the region (inpainting), or the LR
    pixels whose whole bicubic support lies inside it (SR). Pixels outside are the same for every
    candidate, so the difference between candidates is exact when the region holds all changes."""
    if isinstance(operator, Masking):
        known = operator.known[r0:r1, c0:c1]
        diff = (x - operator.observed[r0:r1, c0:c1]) * known
        return (diff**2).flatten(1).sum(1)
    rows = _inside(operator.rh, r0, r1)
    cols = _inside(operator.rw, c0, c1)
    if rows.numel() == 0 or cols.numel() == 0:
        return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    rh = operator.rh[rows][:, r0:r1].to(x.dtype)
    rw = operator.rw[cols][:, c0:c1].to(x.dtype)
    pred = rh @ x @ rw.T
    target = operator.observed[rows][:, cols].to(x.dtype)
    return ((pred - target) ** 2).flatten(1).sum(1)


def _inside(matrix: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Indices of the rows of `matrix` whose non-zero columns all lie in [start, stop)."""
    nz = matrix != 0
    outside = nz[:, :start].any(1) | nz[:, stop:].any(1)
    return torch.nonzero(~outside & nz.any(1))[:, 0]


def vqvae_reselect(
    vqvae: VQVAE,
    prior: PixelCNN,
    x0: torch.Tensor,
    operator: Operator,
    *,
    visit: torch.Tensor,
    noise: float,
    prior_weight: float,
    top_k: int,
    sample: bool = False,
    seed: int = 0,
    margin: int = 0,
) -> torch.Tensor:
    """Re-choose codes of the initial estimate x0 (H, W), H and W divisible by 4; return the decoded
    image (H, W), not clamped.

    visit: bool (H/4, W/4), code positions to reconsider, in raster order. margin: extra code cells
    of exactly decoded image around the changed region that the data term needs (the SR kernel's
    reach: ceil(2·scale / 4)); 0 for inpainting.
    """
    generator = torch.Generator().manual_seed(seed)
    rd = vqvae.decoder_radius
    reach = 2 * rd + margin
    with torch.no_grad():
        codes = vqvae.encode_indices(x0[None, None])[0]
        hc, wc = codes.shape
        for i, j in torch.nonzero(visit).tolist():
            log_p = pixelcnn_conditional(prior, codes, i, j)
            top = torch.topk(log_p, min(top_k, log_p.numel())).indices
            cand = torch.unique(torch.cat([top, codes[i, j].view(1)]))
            a0, a1 = max(i - reach, 0), min(i + reach + 1, hc)
            b0, b1 = max(j - reach, 0), min(j + reach + 1, wc)
            window = codes[a0:a1, b0:b1].repeat(len(cand), 1, 1)
            window[:, i - a0, j - b0] = cand
            decoded = vqvae.decode_indices(window)[:, 0]
            # Cells within rd of a crop edge that is not the map's edge see the crop's zero padding.
            e0 = a0 + (rd if a0 > 0 else 0)
            e1 = a1 - (rd if a1 < hc else 0)
            f0 = b0 + (rd if b0 > 0 else 0)
            f1 = b1 - (rd if b1 < wc else 0)
            r0, r1 = 4 * e0, min(4 * e1, operator_height(operator))
            c0, c1 = 4 * f0, min(4 * f1, operator_width(operator))
            region = decoded[:, r0 - 4 * a0 : r1 - 4 * a0, c0 - 4 * b0 : c1 - 4 * b0]
            cost = local_cost(operator, region, r0, r1, c0, c1)
            score = prior_weight * log_p[cand] - 0.5 * cost / noise**2
            if sample:
                pick = torch.multinomial(torch.softmax(score, 0).cpu(), 1, generator=generator)[0]
            else:
                pick = score.argmax()
            codes[i, j] = cand[pick]
        return vqvae.decode_indices(codes[None])[0, 0]


def operator_height(operator: Operator) -> int:
    """Rows of the full-resolution estimate the operator acts on."""
    return operator.observed.shape[0] if isinstance(operator, Masking) else operator.rh.shape[1]


def operator_width(operator: Operator) -> int:
    return operator.observed.shape[1] if isinstance(operator, Masking) else operator.rw.shape[1]
