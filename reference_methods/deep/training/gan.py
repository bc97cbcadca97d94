"""The SRGAN training loss: VGG feature (content) loss + adversarial loss, and its discriminator.

Ledig et al., CVPR 2017: generator loss l = l_VGG + 1e-3 · l_adv, with l_adv = -log D(G(x)) and
l_VGG the MSE between VGG feature maps of the SR and HR images (rescaled by 1/12.75 in the paper).

VGG features: the paper used VGG19 conv5_4 ("VGG54"); the only VGG weights available offline here are
the ImageNet VGG16 trunk the evaluator provisions for LPIPS (`evaluator.weights.load_lpips_state_dict`,
under var/weights), so we use VGG16 relu2_2 — the paper's "SRGAN-VGG22" variant — with the same
1/12.75 rescaling. Gray (Y) images are replicated to 3 channels and ImageNet-normalised.
Training-time only: inference never needs these weights.

Pixel term: with minutes of CPU training the pure VGG + adversarial loss drifted below even
nearest-neighbour upscaling in PSNR, so our recipe adds the pixel MSE with weight 1 (later practice,
e.g. ESRGAN, keeps a pixel term too); the VGG term still dominates (about 0.02 against 0.005).

Discriminator: the paper's design shrunk: conv-LeakyReLU(0.2), then conv-BN-LeakyReLU blocks that
alternate stride 1 and 2 while doubling features, global average pooling, two dense layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
RELU2_2 = 9  # torchvision vgg16().features[:9] ends at relu2_2


def vgg16_relu2_2() -> nn.Module:
    """VGG16 layers up to relu2_2 with the provisioned ImageNet weights (frozen, eval mode)."""
    from torchvision.models import vgg16

    # Built through torchvision (its classifier's initialisation draws from the RNG the discriminator
    # is then initialised from: the committed SRGAN weights depend on that order).
    return frozen_vgg16(vgg16(weights=None).features[:RELU2_2])


def frozen_vgg16(features: nn.Module) -> nn.Module:
    """`features` (a prefix of torchvision's VGG16 `features`) loaded with the provisioned ImageNet
    weights (the LPIPS VGG trunk), frozen, in eval mode."""
    from evaluator.weights import load_lpips_state_dict

    state, _, _ = load_lpips_state_dict("vgg")
    own = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    wanted = features.state_dict().keys()
    missing = [k for k in wanted if k not in own]
    if missing:
        raise RuntimeError(f"VGG16 weights lack {missing}")
    features.load_state_dict({k: own[k] for k in wanted})
    for p in features.parameters():
        p.requires_grad_(False)
    return features.eval()


class Discriminator(nn.Module):
    def __init__(self, channels: int = 1, features: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, features, 3, padding=1), nn.LeakyReLU(0.2)]
        f = features
        for i, (out, stride) in enumerate([(f, 2), (2 * f, 1), (2 * f, 2), (4 * f, 1), (4 * f, 2)]):
            cin = f if i == 0 else [f, 2 * f, 2 * f, 4 * f][i - 1]
            layers += [
                nn.Conv2d(cin, out, 3, stride=stride, padding=1),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(0.2),
            ]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(4 * f, 8 * f), nn.LeakyReLU(0.2), nn.Linear(8 * f, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class SRGANLoss:
    """Holds the VGG feature net, the discriminator and its optimiser."""

    def __init__(
        self, device: torch.device, adversarial_weight: float = 1e-3, seed: int = 0, pixel_weight: float = 0.0
    ) -> None:
        torch.manual_seed(seed + 1000)
        self.vgg = vgg16_relu2_2().to(device)
        self.disc = Discriminator().to(device)
        self.opt = torch.optim.Adam(self.disc.parameters(), lr=1e-4)
        self.weight = adversarial_weight
        self.pixel_weight = pixel_weight
        self.mean = torch.tensor(_IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(_IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.vgg((x.expand(-1, 3, -1, -1) - self.mean) / self.std)

    def generator_step(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """Generator loss for SR output `sr` (N, 1, H, W) and ground truth `hr`."""
        content = F.mse_loss(self.features(sr), self.features(hr)) / 12.75**2
        logits = self.disc(sr)
        adversarial = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        pixel = F.mse_loss(sr, hr) if self.pixel_weight else sr.new_zeros(())
        return content + self.weight * adversarial + self.pixel_weight * pixel

    def discriminator_step(self, sr: torch.Tensor, hr: torch.Tensor) -> float:
        real, fake = self.disc(hr), self.disc(sr)
        loss = F.binary_cross_entropy_with_logits(
            real, torch.ones_like(real)
        ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss.detach())
