"""The RealNVP / Glow flow over gray patches (`RealNVP`), an exact-likelihood prior of
`create_generative("realnvp")`.

Papers: Dinh, Sohl-Dickstein, Bengio, "Density estimation using Real NVP", ICLR 2017 (affine
coupling with checkerboard and channel masks, squeeze, logit preprocessing); Kingma & Dhariwal,
"Glow", NeurIPS 2018 (actnorm, invertible 1×1 convolution). Tensor convention as in `archs`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from reference_methods.generative.patches import check_patches


def _coupling_net(in_channels: int, out_channels: int, hidden: int) -> nn.Sequential:
    """conv3×3 - ReLU - conv1×1 - ReLU - conv3×3; the last layer starts at zero so each coupling
    starts as the identity (Glow's initialisation)."""
    last = nn.Conv2d(hidden, out_channels, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(hidden, hidden, 1),
        nn.ReLU(),
        last,
    )


class AffineCoupling(nn.Module):
    """y = b ⊙ x + (1 - b) ⊙ (x ⊙ exp(s(b ⊙ x)) + t(b ⊙ x)); log|det| = Σ (1 - b) ⊙ s.

    mask "checkerboard0/1": b is a spatial checkerboard (parity 0 or 1), the same for every channel;
    "channel0/1": b keeps the first (0) or second (1) half of the channels. s = scale · tanh(raw),
    with a learned per-channel scale, bounds the log-scale (RealNVP's stabilisation).
    """

    def __init__(self, channels: int, mask: str, hidden: int) -> None:
        super().__init__()
        if mask.startswith("channel") and channels % 2:
            raise ValueError(f"a channel coupling needs an even number of channels, got {channels}")
        self.channels, self.mask_kind = channels, mask
        net_in = channels + 1 if mask.startswith("checkerboard") else channels // 2
        net_out = 2 * channels if mask.startswith("checkerboard") else channels
        self.net = _coupling_net(net_in, net_out, hidden)
        self.scale = nn.Parameter(torch.ones(1, net_out // 2, 1, 1))

    def _mask(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        parity = int(self.mask_kind[-1])
        grid = (torch.arange(h, device=x.device)[:, None] + torch.arange(w, device=x.device)[None, :]) % 2
        return (grid == parity).to(x.dtype)[None, None]

    def _st(self, kept: torch.Tensor, b: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        inp = kept if b is None else torch.cat([kept, b.expand(kept.shape[0], 1, -1, -1)], 1)
        raw_s, t = self.net(inp).chunk(2, dim=1)
        return self.scale * torch.tanh(raw_s), t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mask_kind.startswith("checkerboard"):
            b = self._mask(x)
            s, t = self._st(x * b, b)
            s, t = s * (1 - b), t * (1 - b)
            return x * torch.exp(s) + t, s.flatten(1).sum(1)
        a, z = x.chunk(2, dim=1)
        if self.mask_kind == "channel1":
            a, z = z, a
        s, t = self._st(a, None)
        z = z * torch.exp(s) + t
        y = torch.cat([a, z], 1) if self.mask_kind == "channel0" else torch.cat([z, a], 1)
        return y, s.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        if self.mask_kind.startswith("checkerboard"):
            b = self._mask(y)
            s, t = self._st(y * b, b)
            s, t = s * (1 - b), t * (1 - b)
            return (y - t) * torch.exp(-s)
        a, z = y.chunk(2, dim=1)
        if self.mask_kind == "channel1":
            a, z = z, a
        s, t = self._st(a, None)
        z = (z - t) * torch.exp(-s)
        return torch.cat([a, z], 1) if self.mask_kind == "channel0" else torch.cat([z, a], 1)


class ActNorm(nn.Module):
    """Per-channel affine y = (x + bias) · exp(log_scale) (Glow); starts as the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = self.log_scale.sum() * x.shape[2] * x.shape[3]
        return (x + self.bias) * torch.exp(self.log_scale), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.bias


class InvConv1x1(nn.Module):
    """Invertible 1×1 convolution (Glow): y = W x per pixel, log|det| = H·W·log|det W|;
    W starts as a random rotation drawn from a fixed-seed generator."""

    def __init__(self, channels: int, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=gen))
        self.weight = nn.Parameter(q)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = torch.linalg.slogdet(self.weight)[1] * x.shape[2] * x.shape[3]
        return torch.einsum("ij,njhw->nihw", self.weight, x), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ij,njhw->nihw", torch.linalg.inv(self.weight), y)


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, 4C, H/2, W/2): each 2×2 block becomes 4 channels (RealNVP)."""
    return F.pixel_unshuffle(x, 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    return F.pixel_shuffle(x, 2)


class RealNVP(nn.Module):
    """A RealNVP/Glow-style flow on size×size gray patches (size divisible by 4), exact log-likelihood.

    x on [0, 1] -> logit(α + (1 - 2α) x) -> `checkerboard` checkerboard affine couplings at 1×size²
    -> squeeze -> `steps` Glow steps (actnorm, 1×1 conv, channel coupling) at 4×(size/2)²
    -> squeeze -> `steps` Glow steps at 16×(size/4)² -> z, standard normal (no multi-scale
    factoring-out: every dimension goes to the end). `forward(x)` returns (z, log|det dz/dx|) with
    z of x's shape (N, 1, size, size); `inverse(z)` returns x. `log_prob(x)` is the exact density of
    x on [0, 1]^D in nats (add D·log 256 for the dequantised 8-bit likelihood).
    """

    def __init__(
        self, size: int = 16, hidden: int = 32, checkerboard: int = 4, steps: int = 3, alpha: float = 0.05
    ):
        super().__init__()
        if size % 4:
            raise ValueError(f"RealNVP patch size must be divisible by 4, got {size}")
        self.size, self.alpha = size, alpha
        self.level0 = nn.ModuleList(
            [AffineCoupling(1, f"checkerboard{i % 2}", hidden) for i in range(checkerboard)]
        )
        self.level1 = nn.ModuleList(self._glow_steps(4, steps, hidden, seed=1))
        self.level2 = nn.ModuleList(self._glow_steps(16, steps, hidden, seed=100))

    @staticmethod
    def _glow_steps(channels: int, steps: int, hidden: int, seed: int) -> list[nn.Module]:
        layers: list[nn.Module] = []
        for i in range(steps):
            layers += [
                ActNorm(channels),
                InvConv1x1(channels, seed=seed + i),
                AffineCoupling(channels, f"channel{i % 2}", hidden),
            ]
        return layers

    def _preprocess(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.alpha + (1 - 2 * self.alpha) * x
        y = torch.log(s) - torch.log1p(-s)
        logdet = (math.log(1 - 2 * self.alpha) - torch.log(s) - torch.log1p(-s)).flatten(1).sum(1)
        return y, logdet

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_patches(x, self.size, "RealNVP")
        h, logdet = self._preprocess(x)
        for layer in self.level0:
            h, ld = layer(h)
            logdet = logdet + ld
        h = squeeze(h)
        for layer in self.level1:
            h, ld = layer(h)
            logdet = logdet + ld
        h = squeeze(h)
        for layer in self.level2:
            h, ld = layer(h)
            logdet = logdet + ld
        return unsqueeze(unsqueeze(h)), logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        check_patches(z, self.size, "RealNVP")
        h = squeeze(squeeze(z))
        for layer in reversed(self.level2):
            h = layer.inverse(h)
        h = unsqueeze(h)
        for layer in reversed(self.level1):
            h = layer.inverse(h)
        h = unsqueeze(h)
        for layer in reversed(self.level0):
            h = layer.inverse(h)
        return (torch.sigmoid(h) - self.alpha) / (1 - 2 * self.alpha)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, (N,), for x on [0, 1] (N, 1, size, size)."""
        z, logdet = self(x)
        log_pz = -0.5 * (z**2).flatten(1).sum(1) - 0.5 * z[0].numel() * math.log(2 * math.pi)
        return log_pz + logdet

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of 8-bit data in bits per pixel (x already dequantised)."""
        dims = x[0].numel()
        return (-self.log_prob(x).mean() / dims + math.log(256)) / math.log(2)
