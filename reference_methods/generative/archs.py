"""Networks of the generative restoration priors, in one explicit table (`create_generative`).

Tensor convention: NCHW float32 gray (C = 1) images with intensities on [0, 1]; code maps are
(N, h, w) int64 indices. Defaults are the small variants trained on CPU here (see weights/*.md).

Papers:
- PixelCNN: van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks", ICML 2016
  (masked convolutions, mask A for the first layer and B after it, a 256-way softmax per pixel).
  This is the plain masked-convolution PixelCNN of that paper, with its "blind spot" (a wedge of
  pixels above-right that stacked masked 3×3 convolutions never see), not the gated two-stack
  variant of van den Oord et al., NIPS 2016.
- VAE: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014; Gaussian decoder whose
  variance is one learned scalar (Rybkin, Daniilidis, Levine, "Simple and Effective VAE Training with
  Calibrated Decoders", ICML 2021), so the KL/reconstruction balance is learned, not hand-set.
- RealNVP / Glow: in `flow.py` (its papers there).
- DCGAN: Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep Convolutional
  Generative Adversarial Networks", ICLR 2016 (strided (transposed) convolutions, batch norm, ReLU
  in G, LeakyReLU in D).
- VQ-VAE: van den Oord, Vinyals, Kavukcuoglu, "Neural Discrete Representation Learning", NIPS 2017
  (nearest-neighbour codebook, straight-through gradient, commitment loss, EMA codebook updates from
  its appendix); the prior over codes is a PixelCNN, as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from reference_methods.generative.flow import RealNVP
from reference_methods.generative.patches import check_patches

# --------------------------------------------------------------------------------------------------
# PixelCNN


class MaskedConv2d(nn.Conv2d):
    """A k×k convolution that sees only pixels before the centre in raster order.

    Mask "A" (first layer) also hides the centre pixel; mask "B" (later layers) lets the centre
    through, because after layer one the centre's features already depend only on earlier pixels.
    There is one categorical variable per position, so no masking between channel groups is needed.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str) -> None:
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        if kernel_size % 2 != 1:
            raise ValueError(f"masked convolutions need an odd kernel size, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        c = kernel_size // 2
        mask = torch.ones(kernel_size, kernel_size)
        mask[c, c + (mask_type == "B") :] = 0
        mask[c + 1 :, :] = 0
        self.register_buffer("mask", mask[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class _MaskedResidual(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv = MaskedConv2d(features, features, 3, "B")
        self.mix = nn.Conv2d(features, features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.relu(self.conv(F.relu(x))))


class PixelCNN(nn.Module):
    """Autoregressive model p(x) = Π_i p(x_i | x_<i) over a 2-D grid in raster order.

    levels: values each position takes (256 for 8-bit pixels, K for VQ-VAE codes).
    discrete_input: False: the input is a gray image (N, 1, H, W) on [0, 1] (fed as 2x - 1);
    True: the input is an index map (N, H, W) int64 in [0, levels), embedded to `features` channels.
    Output: logits (N, levels, H, W); position (i, j) depends only on positions before it.
    Receptive field: `receptive_radius` rows above and columns either side (plus the row's left part).
    """

    def __init__(
        self,
        levels: int = 256,
        features: int = 32,
        blocks: int = 4,
        first_kernel: int = 7,
        hidden: int = 64,
        discrete_input: bool = False,
    ) -> None:
        super().__init__()
        self.levels, self.discrete_input = levels, discrete_input
        self.receptive_radius = first_kernel // 2 + blocks
        self.embed = nn.Embedding(levels, features) if discrete_input else None
        self.first = MaskedConv2d(features if discrete_input else 1, features, first_kernel, "A")
        self.blocks = nn.Sequential(*[_MaskedResidual(features) for _ in range(blocks)])
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(features, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, levels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.discrete_input:
            if x.dim() != 3 or x.dtype != torch.int64:
                raise ValueError(f"PixelCNN over codes takes an (N, H, W) int64 map, got {tuple(x.shape)}")
            h = self.embed(x).permute(0, 3, 1, 2)
        else:
            if x.dim() != 4 or x.shape[1] != 1:
                raise ValueError(f"PixelCNN takes (N, 1, H, W) gray images, got {tuple(x.shape)}")
            h = 2.0 * x - 1.0
        return self.head(self.blocks(self.first(h)))

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood in nats per position (pixels are quantised to `levels`)."""
        target = x if self.discrete_input else (x[:, 0] * (self.levels - 1)).round().long()
        return F.cross_entropy(self(x), target.clamp(0, self.levels - 1))


# --------------------------------------------------------------------------------------------------
# VAE


class VAE(nn.Module):
    """Convolutional VAE on size×size gray patches (size divisible by 4), latent vector of `latent` dims.

    encode(x) -> (mean, log-variance), each (N, latent); decode(z) -> (N, 1, size, size) on [0, 1]
    (a sigmoid output: the mean of the Gaussian decoder); `log_sigma` is the decoder's learned
    log standard deviation (one scalar, in [0, 1] intensity units).
    """

    def __init__(self, size: int = 16, latent: int = 32, features: int = 32) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"VAE patch size must be divisible by 4, got {size}")
        self.size, self.latent = size, latent
        f, s4 = features, size // 4
        self.encoder = nn.Sequential(
            nn.Conv2d(1, f, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(f, f, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(f, 2 * f, 4, 2, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * f * s4 * s4, 2 * latent),
        )
        self.decoder_in = nn.Linear(latent, 2 * f * s4 * s4)
        self.decoder = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(2 * f, f, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(f, f, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(f, 1, 3, padding=1),
        )
        self.log_sigma = nn.Parameter(torch.tensor(math.log(0.1)))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_patches(x, self.size, "VAE")
        mean, log_var = self.encoder(2.0 * x - 1.0).chunk(2, dim=1)
        return mean, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        s4 = self.size // 4
        h = self.decoder_in(z).view(z.shape[0], -1, s4, s4)
        return torch.sigmoid(self.decoder(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of x through the posterior mean (no sampling)."""
        return self.decode(self.encode(x)[0])

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Negative ELBO in nats per pixel (Gaussian decoder with learned σ, one posterior sample)."""
        mean, log_var = self.encode(x)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device)
        z = mean + torch.exp(0.5 * log_var) * eps
        recon = self.decode(z)
        dims = x[0].numel()
        nll = 0.5 * ((x - recon) ** 2).flatten(1).sum(1) * torch.exp(-2 * self.log_sigma)
        nll = nll + dims * (self.log_sigma + 0.5 * math.log(2 * math.pi))
        kl = 0.5 * (mean**2 + log_var.exp() - 1.0 - log_var).sum(1)
        return (nll + kl).mean() / dims


# --------------------------------------------------------------------------------------------------
# DCGAN


class DCGANGenerator(nn.Module):
    """z (N, latent) ~ N(0, I) -> (N, 1, size, size) on [0, 1] (size = 4·2^k; tanh output mapped to
    [0, 1]). A linear layer to (4F)×4×4 (the paper's 1×1 -> 4×4 transposed convolution), then
    stride-2 transposed convolutions with batch norm and ReLU halving the features."""

    def __init__(self, size: int = 16, latent: int = 32, features: int = 32) -> None:
        super().__init__()
        ups = int(round(math.log2(size / 4)))
        if size < 8 or 4 * 2**ups != size:
            raise ValueError(f"DCGAN size must be 4·2^k >= 8, got {size}")
        self.size, self.latent = size, latent
        f = features * 2 ** (ups - 1)
        self.project = nn.Sequential(
            nn.Linear(latent, f * 16), nn.Unflatten(1, (f, 4, 4)), nn.BatchNorm2d(f), nn.ReLU()
        )
        layers: list[nn.Module] = []
        for _ in range(ups - 1):
            layers += [nn.ConvTranspose2d(f, f // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f // 2), nn.ReLU()]
            f //= 2
        layers += [nn.ConvTranspose2d(f, 1, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent:
            raise ValueError(f"DCGAN generator takes (N, {self.latent}) latents, got {tuple(z.shape)}")
        return 0.5 * (self.body(self.project(z)) + 1.0)


class DCGANDiscriminator(nn.Module):
    """(N, 1, size, size) on [0, 1] -> (N,) logits: stride-2 convolutions, LeakyReLU(0.2), batch norm
    after the first layer (as in the paper), then a linear layer."""

    def __init__(self, size: int = 16, features: int = 32) -> None:
        super().__init__()
        ups = int(round(math.log2(size / 4)))
        layers: list[nn.Module] = [nn.Conv2d(1, features, 4, 2, 1), nn.LeakyReLU(0.2)]
        f = features
        for _ in range(ups - 1):
            layers += [nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.LeakyReLU(0.2)]
            f *= 2
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(f * 16, 1))
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_patches(x, self.size, "DCGAN discriminator")
        return self.body(2.0 * x - 1.0)[:, 0]


# --------------------------------------------------------------------------------------------------
# VQ-VAE


class _Residual(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(features, features, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(features, features, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VectorQuantiser(nn.Module):
    """Nearest-neighbour quantisation of (N, D, h, w) vectors to a K×D codebook, straight-through
    gradient; the codebook follows exponential moving averages of its assigned vectors (VQ-VAE
    appendix A.1, decay γ) during training, so it has no loss term, only the commitment term."""

    def __init__(self, codes: int = 64, dim: int = 16, decay: float = 0.99) -> None:
        super().__init__()
        self.codes, self.dim, self.decay = codes, dim, decay
        self.register_buffer("codebook", torch.randn(codes, dim) * 0.1)
        self.register_buffer("cluster_size", torch.ones(codes))
        self.register_buffer("code_sum", self.codebook.clone())

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D, h, w) -> (N, h, w) int64 index of the nearest code."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)
        dist = (flat**2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T + (self.codebook**2).sum(1)[None]
        return dist.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        """(N, h, w) int64 -> (N, D, h, w) code vectors."""
        return self.codebook[idx].permute(0, 3, 1, 2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (straight-through quantised z, indices, commitment loss ||z - sg(e)||² per element)."""
        idx = self.indices(z)
        q = self.lookup(idx)
        if self.training:
            with torch.no_grad():
                onehot = F.one_hot(idx.flatten(), self.codes).to(z.dtype)
                flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)
                self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
                self.code_sum.mul_(self.decay).add_(onehot.T @ flat, alpha=1 - self.decay)
                n = self.cluster_size.sum()
                size = (self.cluster_size + 1e-5) / (n + self.codes * 1e-5) * n
                self.codebook.copy_(self.code_sum / size[:, None])
        commitment = F.mse_loss(z, q.detach())
        return z + (q - z).detach(), idx, commitment


class VQVAE(nn.Module):
    """VQ-VAE, fully convolutional: (N, 1, H, W) on [0, 1], H and W divisible by 4, -> code map
    (N, H/4, W/4) of `codes` indices -> (N, 1, H, W). Encoder: two stride-2 4×4 convolutions, a 3×3
    convolution, a residual block, a 1×1 projection to `dim`; decoder mirrors it with transposed
    convolutions (linear output, clamp to [0, 1] when used as an image).

    `decoder_radius` (in code positions): a code change alters only decoded pixels within this many
    code cells (4 pixels each) of the changed cell; tests check it with gradients.
    """

    def __init__(self, codes: int = 64, dim: int = 16, features: int = 48, decay: float = 0.99) -> None:
        super().__init__()
        f = features
        self.encoder = nn.Sequential(
            nn.Conv2d(1, f // 2, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(f // 2, f, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(f, f, 3, padding=1),
            _Residual(f),
            nn.ReLU(),
            nn.Conv2d(f, dim, 1),
        )
        self.quantiser = VectorQuantiser(codes, dim, decay)
        self.decoder = nn.Sequential(
            nn.Conv2d(dim, f, 3, padding=1),
            _Residual(f),
            nn.ReLU(),
            nn.ConvTranspose2d(f, f // 2, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(f // 2, 1, 4, 2, 1),
        )
        # conv3×3 (1 cell) + residual 3×3 (1 cell) + each 4×4 stride-2 transposed conv reaches one
        # input position further (rounded up to a whole cell).
        self.decoder_radius = 3

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) -> continuous encoder output (N, D, H/4, W/4)."""
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(
                f"VQ-VAE takes (N, 1, H, W) images with H, W divisible by 4, got {tuple(x.shape)}"
            )
        return self.encoder(2.0 * x - 1.0)

    def encode_indices(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantiser.indices(self.encode(x))

    def decode_indices(self, idx: torch.Tensor) -> torch.Tensor:
        """(N, h, w) int64 -> (N, 1, 4h, 4w) reconstruction (not clamped)."""
        return self.decoder(self.quantiser.lookup(idx))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (reconstruction, indices, commitment loss)."""
        q, idx, commitment = self.quantiser(self.encode(x))
        return self.decoder(q), idx, commitment


# --------------------------------------------------------------------------------------------------
# The table


GENERATIVE_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "pixelcnn": PixelCNN,
    "vae": VAE,
    "realnvp": RealNVP,
    "dcgan_generator": DCGANGenerator,
    "dcgan_discriminator": DCGANDiscriminator,
    "vqvae": VQVAE,
}


def list_generative() -> list[str]:
    """Names of the generative architectures."""
    return sorted(GENERATIVE_ARCHITECTURES)


def create_generative(name: str, **params: object) -> nn.Module:
    """Build architecture `name` with constructor `params`; an unknown name lists the valid ones."""
    try:
        cls = GENERATIVE_ARCHITECTURES[name]
    except KeyError:
        raise ValueError(
            f"unknown generative architecture {name!r}; registered: {', '.join(list_generative())}"
        ) from None
    return cls(**params)
