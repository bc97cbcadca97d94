"""The ESRGAN training loss: perceptual loss on VGG features before activation, a relativistic average
discriminator, and an L1 pixel term.

Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", ECCV Workshops 2018:
L_G = L_percep + λ·L_G^Ra + η·L_1 with λ = 5e-3 and η = 1e-2, after a PSNR-oriented (L1) pretraining.

Relativistic average discriminator (their eq. 1-3, from Jolicoeur-Martineau 2018), with C the
discriminator's raw output (logit) and σ the sigmoid:
    D_Ra(x_r, x_f) = σ(C(x_r) − E_xf[C(x_f)])
    L_D^Ra = −E_xr[log D_Ra(x_r, x_f)] − E_xf[log(1 − D_Ra(x_f, x_r))]
    L_G^Ra = −E_xr[log(1 − D_Ra(x_r, x_f))] − E_xf[log D_Ra(x_f, x_r)]
the expectations being means over the batch.

Perceptual loss: L1 between VGG feature maps *before* the ReLU (the paper's VGG19 conv5_4). The only
VGG weights provisioned offline here are the ImageNet VGG16 trunk under var/weights (the LPIPS-VGG
backbone, `evaluator.weights.load_lpips_state_dict("vgg")`), so we use VGG16's deepest layer, conv5_3,
before its ReLU — the same position in the network (last conv of the last block). Gray (Y) images are
replicated to three channels and ImageNet-normalised. Training-time only: inference needs no VGG.

Discriminator: the SRGAN-style VGG discriminator of gan.py (ESRGAN keeps SRGAN's design), whose output
is used as the logit C.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reference_methods.deep.training.gan import _IMAGENET_MEAN, _IMAGENET_STD, Discriminator, frozen_vgg16

# Index of conv5_3 in torchvision's vgg16().features (its ReLU is 29): features[:29] ends before it.
CONV5_3_BEFORE_RELU = 29
LAYER_NAMES = {CONV5_3_BEFORE_RELU: "conv5_3 (before ReLU)"}


def relativistic_discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """L_D^Ra from the discriminator logits C(x_r) of real and C(x_f) of generated images."""
    # −log σ(z) = softplus(−z) and −log(1 − σ(z)) = softplus(z): stable for large logits.
    return F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean()


def relativistic_generator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """L_G^Ra: the discriminator loss with the roles of real and generated images swapped."""
    return F.softplus(real - fake.mean()).mean() + F.softplus(-(fake - real.mean())).mean()


# torchvision's VGG16 `features` configuration: conv channels, "M" = 2×2 max pooling.
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def _vgg16_trunk() -> nn.Sequential:
    """torchvision's `vgg16().features` layer for layer (same indices and state-dict keys), built
    without the 100M-parameter classifier that torchvision would also initialise."""
    layers: list[nn.Module] = []
    cin = 3
    for v in _VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=True)]
            cin = int(v)
    return nn.Sequential(*layers)


def vgg16_features(end: int = CONV5_3_BEFORE_RELU) -> nn.Module:
    """VGG16 `features[:end]` with the provisioned ImageNet weights (frozen, eval mode)."""
    return frozen_vgg16(_vgg16_trunk()[:end])


class ESRGANLoss:
    """The VGG feature net, the discriminator and its optimiser; same interface as gan.SRGANLoss."""

    def __init__(self, device: torch.device, extra: dict[str, Any], seed: int = 0) -> None:
        torch.manual_seed(seed + 1000)
        self.vgg = vgg16_features(int(extra.get("vgg_end", CONV5_3_BEFORE_RELU))).to(device)
        self.disc = Discriminator().to(device)
        self.opt = torch.optim.Adam(self.disc.parameters(), lr=float(extra.get("disc_lr", 1e-4)))
        self.adversarial_weight = float(extra["adversarial_weight"])
        self.pixel_weight = float(extra["pixel_weight"])
        self.perceptual_weight = float(extra.get("perceptual_weight", 1.0))
        self.mean = torch.tensor(_IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(_IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.vgg((x.expand(-1, 3, -1, -1) - self.mean) / self.std)

    def generator_step(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """Generator loss for SR output `sr` (N, 1, H, W) and ground truth `hr`."""
        with torch.no_grad():
            target = self.features(hr)
            real = self.disc(hr)
        perceptual = F.l1_loss(self.features(sr), target)
        adversarial = relativistic_generator_loss(real, self.disc(sr))
        pixel = F.l1_loss(sr, hr)
        return (
            self.perceptual_weight * perceptual
            + self.adversarial_weight * adversarial
            + self.pixel_weight * pixel
        )

    def discriminator_step(self, sr: torch.Tensor, hr: torch.Tensor) -> float:
        loss = relativistic_discriminator_loss(self.disc(hr), self.disc(sr))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss.detach())
