"""The generative priors as registered restoration methods (family "generative").

Registered methods (each loads its committed weights from weights/ on first use):
- ``pixelcnn`` (inpaint): raster-order filling of the missing pixels from the PixelCNN's conditionals
  (mean of p(x_i | x_<i) by default), averaged over the four raster directions.
- ``vae`` (inpaint, sr): MAP latents of the VAE decoder over 16×16 patches (stride 8, blended),
  started from the encoder's posterior means of the classic estimate.
- ``dcgan`` (inpaint, sr): the same latent optimisation with the DCGAN generator (PULSE-style for
  SR), started by projecting the classic estimate onto the generator's range.
- ``realnvp`` (inpaint, sr): MAP in image space with the flow's exact patch log-likelihood as prior.
- ``vqvae`` (inpaint, sr): raster-order re-selection of VQ-VAE codes by the PixelCNN code prior and
  the data misfit, started from the codes of the classic estimate.

Input/output (the registry's convention): float64 (H, W) or (H, W, 3) on [0, 1]; inputs are clipped to
[0, 1] first. Colour images: the model restores BT.601 Y and the chroma channels Cb/Cr get the
classic baseline (bicubic for SR, biharmonic fill for inpainting), see `patches`. "The classic
estimate" that starts every optimisation: MATLAB bicubic upscaling (`benchdata.resize.imresize`) for
SR, the biharmonic fill (`reference_methods.interpolation.fill_missing`) for inpainting. Inpainting
returns the known pixels unchanged. Parameters: `noise` is the σ of the data term on the 0-255
scale (it sets how hard the estimate must match the observation against the prior), `prior_weight`
scales the prior term, `iterations`/`lr` drive Adam. Runs on CUDA when present.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from benchdata.resize import imresize
from reference_methods.generative.archs import create_generative
from reference_methods.generative.patches import (
    BicubicDownsampling,
    Masking,
    PatchGrid,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)
from reference_methods.generative.priors import flow_map, latent_map, pixelcnn_fill, vqvae_reselect
from reference_methods.interpolation import fill_missing
from reference_methods.registry import KnownFailure, MethodError, RestorationContext, register_method

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@lru_cache(maxsize=16)
def _load_cached(path: str, device_name: str) -> nn.Module:
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    if "arch" not in meta or "params" not in meta:
        raise MethodError(f"{path}: not a generative-prior weights file (no 'arch'/'params' metadata)")
    net = create_generative(meta["arch"], **json.loads(meta["params"]))
    missing, unexpected = net.load_state_dict(load_file(path), strict=False)
    if missing or unexpected:
        raise MethodError(
            f"{path}: weights do not fit {meta['arch']}: missing {missing}, unexpected {unexpected}"
        )
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(device_name).eval()


def load_model(name: str, weights_dir: Path = WEIGHTS_DIR) -> nn.Module:
    """The trained network `name` (a training recipe: pixelcnn, vae, realnvp, dcgan, vqvae,
    vqvae_prior) in eval mode with frozen parameters, on the default device; cached."""
    path = Path(weights_dir) / f"{name}.safetensors"
    if not path.is_file():
        raise MethodError(
            f"weights {path} are missing; train them with "
            f"`python -m reference_methods.generative.training.train {name} --steps N` (its model card "
            "gives N, the seed and the device)"
        )
    return _load_cached(str(path), str(device()))


# --------------------------------------------------------------------------------------------------
# Shared plumbing: parameters, colour, the classic start


def _positive(method: str, params: dict[str, Any], *names: str) -> None:
    for name in names:
        value = params[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise MethodError(f"{method}: parameter {name!r} must be a positive number, got {value!r}")


def _counts(method: str, params: dict[str, Any], *names: str) -> None:
    for name in names:
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise MethodError(f"{method}: parameter {name!r} must be a positive integer, got {value!r}")


def _mask(method: str, context: RestorationContext) -> np.ndarray:
    mask = np.asarray(context.mask)
    if mask.dtype != np.bool_:
        raise MethodError(f"{method}: the mask must be bool (True = missing), got dtype {mask.dtype}")
    if mask.all():
        raise MethodError(f"{method}: every pixel is missing, there is nothing to condition on")
    return mask


GrayFn = Callable[[np.ndarray, RestorationContext], np.ndarray]


def _run(method: str, degraded: np.ndarray, context: RestorationContext, gray_fn: GrayFn) -> np.ndarray:
    """Run `gray_fn` on the gray image or the Y channel; chroma by the classic baseline."""
    image = np.clip(degraded, 0.0, 1.0)
    mask = _mask(method, context) if context.task == "inpaint" else None
    if image.ndim == 2:
        out = gray_fn(image, context)
    else:
        ycc = rgb_to_ycbcr(image)
        y = gray_fn(ycc[..., 0], context)
        if context.task == "sr":
            chroma = imresize(ycc[..., 1:], float(context.scale))
        else:
            chroma = fill_missing(ycc[..., 1:], mask, order=2)
        out = ycbcr_to_rgb(np.concatenate([y[..., None], chroma], axis=2))
    if mask is not None:
        out = np.where(mask[..., None] if out.ndim == 3 else mask, out, degraded)
    return np.clip(out, 0.0, 1.0)


def _start(image: np.ndarray, context: RestorationContext) -> tuple[np.ndarray, object]:
    """(classic estimate on the output grid, data operator) for a gray image."""
    dev = device()
    observed = torch.from_numpy(image.astype(np.float32)).to(dev)
    if context.task == "sr":
        return imresize(image, float(context.scale)), BicubicDownsampling(observed, int(context.scale))
    mask = np.asarray(context.mask, dtype=bool)
    return fill_missing(image, mask, order=2), Masking(observed, mask)


def _to_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().double().numpy()


def _paste_known(x: np.ndarray, image: np.ndarray, context: RestorationContext) -> np.ndarray:
    return np.where(np.asarray(context.mask, dtype=bool), x, image) if context.task == "inpaint" else x


_CITE_PIXELCNN = (
    "A. van den Oord, N. Kalchbrenner, K. Kavukcuoglu, Pixel Recurrent Neural Networks, ICML 2016 (PixelCNN)"
)
_CITE_VAE = (
    "D. P. Kingma, M. Welling, Auto-Encoding Variational Bayes, ICLR 2014; latent MAP as in A. Bora et al., "
    "Compressed Sensing using Generative Models, ICML 2017"
)
_CITE_DCGAN = (
    "A. Radford, L. Metz, S. Chintala, Unsupervised Representation Learning with Deep Convolutional GANs, "
    "ICLR 2016; S. Menon et al., PULSE: Self-Supervised Photo Upsampling via Latent Space Exploration of "
    "Generative Models, CVPR 2020"
)
_CITE_FLOW = (
    "L. Dinh, J. Sohl-Dickstein, S. Bengio, Density estimation using Real NVP, ICLR 2017; D. P. Kingma, "
    "P. Dhariwal, Glow, NeurIPS 2018; patch prior as in D. Zoran, Y. Weiss, From Learning Models of Natural "
    "Image Patches to Whole Image Restoration (EPLL), ICCV 2011"
)
_CITE_VQVAE = (
    "A. van den Oord, O. Vinyals, K. Kavukcuoglu, Neural Discrete Representation Learning, NIPS 2017 "
    "(VQ-VAE with a PixelCNN prior over the codes)"
)


# --------------------------------------------------------------------------------------------------
# PixelCNN


def _raster_fill_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"directions": 4, "fill": "mean"}


RasterFill = Callable[..., torch.Tensor]


def _raster_fill_inpaint(
    method: str, fill_fn: RasterFill, degraded: np.ndarray, context: RestorationContext
) -> np.ndarray:
    """Inpainting by a raster-order fill from an autoregressive model's conditionals (`pixelcnn`, and
    `pixelrnn` in `methods_ar`): `method` names the model, `fill_fn` is its fill (`pixelcnn_fill`,
    `fills.pixelrnn_fill`), the parameters `directions` and `fill` are checked here."""
    params = {**_raster_fill_defaults(context), **context.params}
    if params["directions"] not in (1, 4) or isinstance(params["directions"], bool):
        raise MethodError(f"{method}: parameter 'directions' must be 1 or 4, got {params['directions']!r}")
    if params["fill"] not in ("mean", "mode", "sample"):
        raise MethodError(
            f"{method}: parameter 'fill' must be 'mean', 'mode' or 'sample', got {params['fill']!r}"
        )

    def gray(image: np.ndarray, ctx: RestorationContext) -> np.ndarray:
        model = load_model(method)
        x = torch.from_numpy(image.astype(np.float32)).to(device())
        out = fill_fn(model, x, ctx.mask, directions=params["directions"], fill=params["fill"], seed=ctx.seed)
        return _paste_known(_to_numpy(out), image, ctx)

    return _run(method, degraded, context, gray)


@register_method(
    "pixelcnn",
    family="generative",
    tasks=("inpaint",),
    citation=_CITE_PIXELCNN,
    defaults=_raster_fill_defaults,
)
def pixelcnn(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """PixelCNN inpainting: missing pixels filled in raster order from the model's conditionals."""
    return _raster_fill_inpaint("pixelcnn", pixelcnn_fill, degraded, context)


# --------------------------------------------------------------------------------------------------
# VAE and DCGAN: latent MAP over blended patches


def _latent_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"noise": 2.0, "prior_weight": 1.0, "iterations": 150, "lr": 0.05, "stride": 8}


def _latent_params(method: str, context: RestorationContext, defaults: dict[str, Any]) -> dict[str, Any]:
    params = {**defaults, **context.params}
    _positive(method, params, "noise", "prior_weight", "lr")
    _counts(method, params, "iterations", "stride")
    return params


def _latent_restore(
    method: str, model_name: str, image: np.ndarray, context: RestorationContext, params: dict[str, Any]
) -> np.ndarray:
    model = load_model(model_name)
    dev = device()
    x0, operator = _start(image, context)
    size = model.size
    if params["stride"] > size:
        raise MethodError(
            f"{method}: parameter 'stride' must be at most the patch size {size}, got {params['stride']}"
        )
    grid = PatchGrid(x0.shape[0], x0.shape[1], size, params["stride"])
    patches0 = grid.extract(torch.from_numpy(x0.astype(np.float32)).to(dev))
    if model_name == "vae":
        with torch.no_grad():
            z0 = model.encode(patches0)[0]
        decode = model.decode
    else:
        decode = model
        gen = torch.Generator().manual_seed(context.seed)
        start = torch.randn(grid.count, model.latent, generator=gen).to(dev)
        # Project the classic estimate onto the generator's range first (a GAN has no encoder).
        projection = Masking(torch.from_numpy(x0.astype(np.float32)).to(dev), np.zeros(x0.shape, bool))
        z0 = _project(model, start, grid, projection, params)
    x = latent_map(
        decode,
        z0,
        grid,
        operator,
        noise=params["noise"] / 255.0,
        prior_weight=params["prior_weight"],
        iterations=params["iterations"],
        lr=params["lr"],
    )
    return _paste_known(_to_numpy(x), image, context)


def _project(
    generator: nn.Module, start: torch.Tensor, grid: PatchGrid, target: Masking, params: dict[str, Any]
) -> torch.Tensor:
    """Latents whose blended generation fits `target` everywhere (same objective, all pixels known)."""
    z = start.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=params["lr"])
    for _ in range(params["iterations"]):
        x = grid.blend(generator(z))
        loss = 0.5 * (target.residual(x) ** 2).sum() / (params["noise"] / 255.0) ** 2
        loss = (loss + 0.5 * params["prior_weight"] * (z**2).sum()) / target.count
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return z.detach()


@register_method(
    "vae", family="generative", tasks=("inpaint", "sr"), citation=_CITE_VAE, defaults=_latent_defaults
)
def vae(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """VAE prior: MAP patch latents so the degraded decoded image matches the input."""
    params = _latent_params("vae", context, _latent_defaults(context))
    return _run("vae", degraded, context, lambda im, ctx: _latent_restore("vae", "vae", im, ctx, params))


@register_method(
    "dcgan",
    family="generative",
    tasks=("inpaint", "sr"),
    citation=_CITE_DCGAN,
    defaults=_latent_defaults,
    known_failures=(
        KnownFailure(
            "sr",
            "psnr",
            "the 16×16 generator's range misses fine detail: PULSE-style SR paints grain and loses to "
            "bicubic (-7.1 / -4.2 / -2.3 dB at ×2 / ×3 / ×4 on the contract crop)",
        ),
    ),
)
def dcgan(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """DCGAN prior (PULSE-style): latents so the degraded generated image matches the input."""
    params = _latent_params("dcgan", context, _latent_defaults(context))
    return _run(
        "dcgan", degraded, context, lambda im, ctx: _latent_restore("dcgan", "dcgan", im, ctx, params)
    )


# --------------------------------------------------------------------------------------------------
# RealNVP: MAP in image space with the exact patch likelihood


def _flow_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"noise": 2.0, "prior_weight": 1.0, "iterations": 100, "lr": 0.01, "stride": 8}


@register_method(
    "realnvp", family="generative", tasks=("inpaint", "sr"), citation=_CITE_FLOW, defaults=_flow_defaults
)
def realnvp(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """RealNVP/Glow flow prior: MAP image under the flow's exact patch log-likelihood."""
    params = _latent_params("realnvp", context, _flow_defaults(context))

    def gray(image: np.ndarray, ctx: RestorationContext) -> np.ndarray:
        flow = load_model("realnvp")
        dev = device()
        x0, operator = _start(image, ctx)
        if params["stride"] > flow.size:
            raise MethodError(
                f"realnvp: parameter 'stride' must be at most {flow.size}, got {params['stride']}"
            )
        grid = PatchGrid(x0.shape[0], x0.shape[1], flow.size, params["stride"])
        free = torch.from_numpy(np.asarray(ctx.mask, dtype=bool)).to(dev) if ctx.task == "inpaint" else None
        x = flow_map(
            flow,
            torch.from_numpy(x0.astype(np.float32)).to(dev),
            grid,
            operator,
            free=free,
            noise=params["noise"] / 255.0,
            prior_weight=params["prior_weight"],
            iterations=params["iterations"],
            lr=params["lr"],
        )
        return _paste_known(_to_numpy(x), image, ctx)

    return _run("realnvp", degraded, context, gray)


# --------------------------------------------------------------------------------------------------
# VQ-VAE with its PixelCNN code prior


def _vqvae_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"noise": 2.0, "prior_weight": 1.0, "top_k": 8, "sample": False}


@register_method(
    "vqvae",
    family="generative",
    tasks=("inpaint", "sr"),
    citation=_CITE_VQVAE,
    defaults=_vqvae_defaults,
    known_failures=(
        KnownFailure(
            "sr",
            "psnr",
            "code re-choice on 4×4-pixel cells is blocky at small scales: -2.7 dB (×2) and -0.9 dB (×3) "
            "below bicubic on the contract crop; it beats bicubic at ×4 (+0.6 dB)",
            scales=(2, 3),
        ),
    ),
)
def vqvae(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """VQ-VAE + PixelCNN code prior: codes re-chosen in raster order by prior and data misfit."""
    params = {**_vqvae_defaults(context), **context.params}
    _positive("vqvae", params, "noise", "prior_weight")
    _counts("vqvae", params, "top_k")

    def gray(image: np.ndarray, ctx: RestorationContext) -> np.ndarray:
        vq, prior = load_model("vqvae"), load_model("vqvae_prior")
        dev = device()
        x0, operator = _start(image, ctx)
        h, w = x0.shape
        ph, pw = -h % 4, -w % 4
        padded = np.pad(x0, ((0, ph), (0, pw)), mode="edge")
        if ctx.task == "inpaint":
            mask = np.pad(np.asarray(ctx.mask, dtype=bool), ((0, ph), (0, pw)), constant_values=True)
            operator = Masking(
                torch.from_numpy(np.pad(image, ((0, ph), (0, pw)), mode="edge").astype(np.float32)).to(dev),
                mask,
            )
            holes = np.pad(np.asarray(ctx.mask, dtype=bool), ((0, ph), (0, pw)), constant_values=False)
            visit = holes.reshape((h + ph) // 4, 4, (w + pw) // 4, 4).any(axis=(1, 3))
            margin = 0
        else:
            visit = np.ones(((h + ph) // 4, (w + pw) // 4), dtype=bool)
            margin = math.ceil(2 * int(ctx.scale) / 4)
        x = vqvae_reselect(
            vq,
            prior,
            torch.from_numpy(padded.astype(np.float32)).to(dev),
            operator,
            visit=torch.from_numpy(visit),
            noise=params["noise"] / 255.0,
            prior_weight=params["prior_weight"],
            top_k=params["top_k"],
            sample=bool(params["sample"]),
            seed=ctx.seed,
            margin=margin,
        )
        return _paste_known(_to_numpy(x.clamp(0, 1))[:h, :w], image, ctx)

    return _run("vqvae", degraded, context, gray)
