"""PixelRNN and VQ-VAE-2 as registered inpainting methods (family "generative").

- ``pixelrnn`` (inpaint): the missing pixels filled in raster order from a Row LSTM PixelRNN's
  conditionals (mean of p(x_i | x_<i) by default), from the four corners (flipped image) and
  averaged — as ``pixelcnn``, with a recurrent model whose receptive field is the whole triangle of
  rows above instead of a few pixels.
- ``vqvae2`` (inpaint): the two-level VQ-VAE's codes of the classic estimate re-chosen where they
  touch a hole, top level first (top PixelCNN prior), then the bottom level (PixelCNN prior
  conditioned on the top codes), each choice by the prior and the known-pixel misfit; decoded.

Conventions as in `methods`: float64 gray or RGB on [0, 1]; RGB restores BT.601 Y with the model and
fills the chroma by the biharmonic fill; the known pixels are returned unchanged. Runs on CUDA when
present (not GPU-verified: no GPU was lent when these were written).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reference_methods.generative import hierarchical, pixelrnn  # noqa: F401  (register their archs)
from reference_methods.generative.fills import pixelrnn_fill, vqvae2_reselect
from reference_methods.generative.methods import (
    _counts,
    _paste_known,
    _positive,
    _raster_fill_defaults,
    _raster_fill_inpaint,
    _run,
    _start,
    _to_numpy,
    device,
    load_model,
)
from reference_methods.generative.patches import Masking
from reference_methods.registry import MethodError, RestorationContext, register_method

_CITE_PIXELRNN = (
    "A. van den Oord, N. Kalchbrenner, K. Kavukcuoglu, Pixel Recurrent Neural Networks, ICML 2016 (Row LSTM)"
)
_CITE_VQVAE2 = (
    "A. Razavi, A. van den Oord, O. Vinyals, Generating Diverse High-Fidelity Images with VQ-VAE-2, "
    "NeurIPS 2019 (two-level VQ-VAE with PixelCNN priors over the top and the bottom codes)"
)


@register_method(
    "pixelrnn",
    family="generative",
    tasks=("inpaint",),
    citation=_CITE_PIXELRNN,
    defaults=_raster_fill_defaults,
)
def pixelrnn_inpaint(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """PixelRNN (Row LSTM) inpainting: missing pixels filled in raster order from its conditionals."""
    return _raster_fill_inpaint("pixelrnn", pixelrnn_fill, degraded, context)


def _vqvae2_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"noise": 2.0, "prior_weight": 1.0, "top_k": 8, "sample": False}


@register_method(
    "vqvae2", family="generative", tasks=("inpaint",), citation=_CITE_VQVAE2, defaults=_vqvae2_defaults
)
def vqvae2_inpaint(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """VQ-VAE-2 inpainting: top then bottom codes re-chosen by their priors and the known pixels."""
    params = {**_vqvae2_defaults(context), **context.params}
    _positive("vqvae2", params, "noise", "prior_weight")
    _counts("vqvae2", params, "top_k")
    if not isinstance(params["sample"], bool):
        raise MethodError(f"vqvae2: parameter 'sample' must be true or false, got {params['sample']!r}")

    def gray(image: np.ndarray, ctx: RestorationContext) -> np.ndarray:
        vq = load_model("vqvae2")
        top_prior, bottom_prior = load_model("vqvae2_top_prior"), load_model("vqvae2_bottom_prior")
        dev = device()
        x0, _ = _start(image, ctx)
        h, w = x0.shape
        ph, pw = -h % 8, -w % 8
        holes = np.asarray(ctx.mask, dtype=bool)
        # Padding is unobserved (no data term) but not a hole (its cells are not re-chosen for it).
        operator = Masking(
            torch.from_numpy(np.pad(image, ((0, ph), (0, pw)), mode="edge").astype(np.float32)).to(dev),
            np.pad(holes, ((0, ph), (0, pw)), constant_values=True),
        )
        padded_holes = np.pad(holes, ((0, ph), (0, pw)), constant_values=False)
        visit = padded_holes.reshape((h + ph) // 4, 4, (w + pw) // 4, 4).any(axis=(1, 3))
        x, _, _ = vqvae2_reselect(
            vq,
            top_prior,
            bottom_prior,
            torch.from_numpy(np.pad(x0, ((0, ph), (0, pw)), mode="edge").astype(np.float32)).to(dev),
            operator,
            visit_bottom=visit,
            noise=params["noise"] / 255.0,
            prior_weight=params["prior_weight"],
            top_k=params["top_k"],
            sample=params["sample"],
            seed=ctx.seed,
        )
        return _paste_known(_to_numpy(x.clamp(0, 1))[:h, :w], image, ctx)

    return _run("vqvae2", degraded, context, gray)
