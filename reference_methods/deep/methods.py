"""Registers the deep reference methods (family "deep") with the method registry.

Each method runs committed weights (weights/*.safetensors, trained by training/train.py on Train400;
see the model cards there). Inputs and outputs follow the registry convention: float64 (H, W) or
(H, W, 3) on [0, 1]; colour handling is described in inference.py.

Which weights serve what:
- srcnn, vdsr: one multi-scale model each (×2, ×3, ×4).
- espcn: one model per scale (espcn_x2, espcn_x3, espcn_x4).
- srresnet, srgan: ×4 (the SRGAN paper's scale) and ×2 (srresnet_x2, srgan_x2), no ×3.
- dncnn: DnCNN-S for σ = 25 (a specific-noise-level model, like the paper's DnCNN-S).
- ipt: one model, four tasks: denoise σ = 25 and SR ×2/×3/×4.
- esrgan: ×4 (the paper's scale): the RRDB generator after PSNR pretraining and GAN fine-tuning
  (esrgan_x4). It trades PSNR for LPIPS against its pretraining but still beats bicubic on PSNR, so it
  carries no known failure (docs/reference_methods.md, section Deep methods).
A scale or noise level without trained weights raises MethodError naming what exists.
"""

from __future__ import annotations

import numpy as np

from reference_methods.deep.inference import WeightsMissing, load_network, restore_image
from reference_methods.registry import KnownFailure, MethodError, RestorationContext, register_method

TRAINED_SIGMA = 25.0
_SIGMA_TOLERANCE = 0.5


def _net(name: str, **overrides: object):  # noqa: ANN202 - an nn.Module
    try:
        return load_network(name, **overrides)
    except WeightsMissing as exc:
        raise MethodError(str(exc)) from None


def _check_scale(method: str, context: RestorationContext, scales: tuple[int, ...]) -> int:
    if context.scale not in scales:
        raise MethodError(
            f"{method}: trained weights exist for scale(s) {', '.join(map(str, scales))}, not {context.scale}"
        )
    return int(context.scale)


def _check_sigma(method: str, context: RestorationContext) -> None:
    if abs(float(context.sigma) - TRAINED_SIGMA) > _SIGMA_TOLERANCE:
        raise MethodError(
            f"{method}: the committed model is trained for σ = {TRAINED_SIGMA:g} only (a specific-noise-"
            f"level model, like DnCNN-S); got σ = {context.sigma:g}"
        )


@register_method(
    "srcnn",
    family="deep",
    tasks=("sr",),
    scales=(2, 3, 4),
    citation="Dong, Loy, He, Tang, Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016",
    summary="SRCNN 9-5-5 on the bicubic-upscaled Y channel (one model for x2/x3/x4)",
    known_failures=(
        KnownFailure(
            "sr",
            "psnr",
            "the one multi-scale model (the paper trains one per scale) is weakest at ×2: -0.9 dB below "
            "bicubic on the contract crop, though +0.34 dB above it on CSet14 (30.58 vs 30.24)",
            scales=(2,),
        ),
    ),
)
def srcnn(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    scale = _check_scale("srcnn", context, (2, 3, 4))
    return restore_image(_net("srcnn", scale=scale), degraded, "sr", scale)


@register_method(
    "vdsr",
    family="deep",
    tasks=("sr",),
    scales=(2, 3, 4),
    citation="Kim, Lee, Lee, Accurate Image Super-Resolution Using Very Deep Convolutional Networks, "
    "CVPR 2016",
    summary="VDSR: deep residual CNN over bicubic, one multi-scale model (10 layers here, 20 in the paper)",
)
def vdsr(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    scale = _check_scale("vdsr", context, (2, 3, 4))
    return restore_image(_net("vdsr", scale=scale), degraded, "sr", scale)


@register_method(
    "espcn",
    family="deep",
    tasks=("sr",),
    scales=(2, 3, 4),
    citation="Shi et al., Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel "
    "Convolutional Neural Network, CVPR 2016",
    summary="ESPCN: low-resolution convolutions and a sub-pixel (pixel-shuffle) layer, one model per scale",
)
def espcn(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    scale = _check_scale("espcn", context, (2, 3, 4))
    return restore_image(_net(f"espcn_x{scale}"), degraded, "sr", scale)


@register_method(
    "srresnet",
    family="deep",
    tasks=("sr",),
    scales=(2, 4),
    citation="Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
    "Network, CVPR 2017 (SRResNet, MSE-trained)",
    summary="SRResNet (x2, x4): residual blocks and pixel-shuffle upsampling, trained with MSE",
)
def srresnet(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    scale = _check_scale("srresnet", context, (2, 4))
    return restore_image(_net(f"srresnet_x{scale}"), degraded, "sr", scale)


@register_method(
    "srgan",
    family="deep",
    tasks=("sr",),
    scales=(2, 4),
    citation="Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
    "Network, CVPR 2017 (SRGAN-VGG22)",
    summary="SRGAN (x2, x4): SRResNet fine-tuned with VGG16 relu2_2 feature loss + adversarial loss",
    known_failures=(
        KnownFailure(
            "sr",
            "psnr",
            "a perceptual (GAN) method: the VGG-feature and adversarial losses trade PSNR for texture "
            "(-0.2 dB at ×2, -1.3 dB at ×4 below bicubic on the contract crop; on CSet14 +0.47 dB at ×2, "
            "-0.46 dB at ×4); it beats bicubic and SRResNet on LPIPS",
        ),
    ),
)
def srgan(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    scale = _check_scale("srgan", context, (2, 4))
    return restore_image(_net(f"srgan_x{scale}"), degraded, "sr", scale)


@register_method(
    "esrgan",
    family="deep",
    tasks=("sr",),
    scales=(4,),
    citation="Wang et al., ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks, ECCV Workshops "
    "2018 (a small RRDB generator trained here)",
    summary="ESRGAN (x4): RRDB generator, relativistic average GAN, VGG features before activation",
)
def esrgan(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    scale = _check_scale("esrgan", context, (4,))
    return restore_image(_net(f"esrgan_x{scale}"), degraded, "sr", scale)


@register_method(
    "dncnn",
    family="deep",
    tasks=("denoise",),
    citation="Zhang, Zuo, Chen, Meng, Zhang, Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for "
    "Image Denoising, TIP 2017",
    summary="DnCNN-S for sigma 25: residual learning with batch norm (10 layers here, 17 in the paper)",
)
def dncnn(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    _check_sigma("dncnn", context)
    return restore_image(_net("dncnn_s25"), degraded, "denoise")


@register_method(
    "ipt",
    family="deep",
    tasks=("denoise", "sr"),
    scales=(2, 3, 4),
    citation="Chen et al., Pre-Trained Image Processing Transformer, CVPR 2021 (a small multi-head, "
    "multi-tail variant trained here)",
    summary="Small IPT: per-task conv heads and tails around one shared transformer body (denoise, SR)",
)
def ipt(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    if context.task == "denoise":
        _check_sigma("ipt", context)
        task, scale = "denoise25", 1
    else:
        scale = _check_scale("ipt", context, (2, 3, 4))
        task = f"sr{scale}"
    net = _net("ipt", task=task)
    return restore_image(net, degraded, context.task, scale, fixed=net.size)
