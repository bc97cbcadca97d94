"""VQ-VAE-2: a two-level hierarchical VQ-VAE with autoregressive priors over both code maps.

Razavi, van den Oord, Vinyals, "Generating Diverse High-Fidelity Images with VQ-VAE-2", NeurIPS
2019, at a small scale. Tensor convention as in `archs`: (N, 1, H, W) float32 gray images on [0, 1]
with H and W divisible by 8; code maps (N, h, w) int64.

- Encoder: x -> two stride-2 convolutions -> bottom features at H/4; -> one more stride-2
  convolution -> top features at H/8 -> 1×1 -> quantised to the top codebook (K_top codes).
- The top codes are decoded to H/4 (3×3, residual block, stride-2 transposed convolution); the
  bottom features are concatenated with that and projected (1×1) to the bottom codebook (K_bottom):
  the bottom level encodes what the top level left out (the paper's Figure 2a).
- Decoder: bottom code vectors concatenated with the top code vectors upsampled by a stride-2
  transposed convolution -> 3×3, residual block -> two stride-2 transposed convolutions -> image.
- Priors (the paper's structure, PixelCNN-style and small): the top prior is the plain masked
  PixelCNN over the top map (`archs.PixelCNN` with discrete input); the bottom prior
  `ConditionalPixelCNN` is a masked PixelCNN over the bottom map whose every layer also receives a
  (non-causal) stack of the top codes, upsampled ×2 to the bottom grid: p(bottom | top).

Both quantisers are `archs.VectorQuantiser` (nearest code, straight-through gradient, EMA codebook).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reference_methods.generative.archs import (
    GENERATIVE_ARCHITECTURES,
    MaskedConv2d,
    VectorQuantiser,
    _Residual,
)


class VQVAE2(nn.Module):
    """Two-level VQ-VAE: top codes at H/8, bottom codes at H/4 (see the module docstring).

    `decoder_radius` (in bottom code cells): a bottom code change alters only decoded pixels within
    this many bottom cells (4 pixels each); a top code change reaches one more bottom cell further
    (through its transposed convolution). Used to bound the window a code choice is scored on.
    """

    def __init__(
        self,
        top_codes: int = 32,
        bottom_codes: int = 64,
        dim: int = 16,
        features: int = 32,
        decay: float = 0.99,
    ) -> None:
        super().__init__()
        f = features
        self.encoder_bottom = nn.Sequential(
            nn.Conv2d(1, f // 2, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(f // 2, f, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(f, f, 3, padding=1),
            _Residual(f),
            nn.ReLU(),
        )
        self.encoder_top = nn.Sequential(
            nn.Conv2d(f, f, 4, 2, 1), nn.ReLU(), nn.Conv2d(f, f, 3, padding=1), _Residual(f), nn.ReLU()
        )
        self.pre_top = nn.Conv2d(f, dim, 1)
        self.quantiser_top = VectorQuantiser(top_codes, dim, decay)
        self.decoder_top = nn.Sequential(
            nn.Conv2d(dim, f, 3, padding=1), _Residual(f), nn.ReLU(), nn.ConvTranspose2d(f, dim, 4, 2, 1)
        )
        self.pre_bottom = nn.Conv2d(f + dim, dim, 1)
        self.quantiser_bottom = VectorQuantiser(bottom_codes, dim, decay)
        self.upsample_top = nn.ConvTranspose2d(dim, dim, 4, 2, 1)
        self.decoder = nn.Sequential(
            nn.Conv2d(2 * dim, f, 3, padding=1),
            _Residual(f),
            nn.ReLU(),
            nn.ConvTranspose2d(f, f // 2, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(f // 2, 1, 4, 2, 1),
        )
        self.decoder_radius = 3

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError(
                f"VQ-VAE-2 takes (N, 1, H, W) images with H, W divisible by 8, got {tuple(x.shape)}"
            )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 1, H, W) -> continuous bottom features (N, F, H/4, W/4) and top output (N, D, H/8, W/8)."""
        self._check(x)
        hb = self.encoder_bottom(2.0 * x - 1.0)
        return hb, self.pre_top(self.encoder_top(hb))

    def _bottom_input(self, hb: torch.Tensor, q_top: torch.Tensor) -> torch.Tensor:
        return self.pre_bottom(torch.cat([hb, self.decoder_top(q_top)], dim=1))

    def encode_indices(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 1, H, W) -> (top codes (N, H/8, W/8), bottom codes (N, H/4, W/4))."""
        hb, zt = self.encode(x)
        top = self.quantiser_top.indices(zt)
        bottom = self.quantiser_bottom.indices(self._bottom_input(hb, self.quantiser_top.lookup(top)))
        return top, bottom

    def decode_vectors(self, q_top: torch.Tensor, q_bottom: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([q_bottom, self.upsample_top(q_top)], dim=1))

    def decode_indices(self, top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
        """(N, h/2, w/2) top and (N, h, w) bottom codes -> (N, 1, 4h, 4w) image (not clamped)."""
        return self.decode_vectors(self.quantiser_top.lookup(top), self.quantiser_bottom.lookup(bottom))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (reconstruction, top indices, bottom indices, summed commitment losses)."""
        hb, zt = self.encode(x)
        q_top, top, commit_top = self.quantiser_top(zt)
        q_bottom, bottom, commit_bottom = self.quantiser_bottom(self._bottom_input(hb, q_top))
        return self.decode_vectors(q_top, q_bottom), top, bottom, commit_top + commit_bottom


class _ConditionalBlock(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv = MaskedConv2d(features, features, 3, "B")
        self.cond = nn.Conv2d(features, features, 1)
        self.mix = nn.Conv2d(features, features, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.relu(self.conv(F.relu(x)) + self.cond(cond)))


class ConditionalPixelCNN(nn.Module):
    """p(bottom | top): a masked PixelCNN over the bottom code map (N, h, w) whose layers all add a
    1×1 projection of the conditioning stack. The stack embeds the top map (N, h/2, w/2), runs two
    unmasked 3×3 convolutions over it (the top codes are all known, no causality needed) and
    upsamples ×2 by repetition to the bottom grid. Output: logits (N, levels, h, w); position (i, j)
    depends on bottom codes before it in raster order and on any top code."""

    def __init__(
        self,
        levels: int = 64,
        top_levels: int = 32,
        features: int = 32,
        blocks: int = 3,
        first_kernel: int = 5,
        hidden: int = 64,
    ) -> None:
        super().__init__()
        self.levels, self.top_levels = levels, top_levels
        self.receptive_radius = first_kernel // 2 + blocks
        self.embed = nn.Embedding(levels, features)
        self.embed_top = nn.Embedding(top_levels, features)
        self.top_stack = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(features, features, 3, padding=1),
        )
        self.first = MaskedConv2d(features, features, first_kernel, "A")
        self.first_cond = nn.Conv2d(features, features, 1)
        self.blocks = nn.ModuleList([_ConditionalBlock(features) for _ in range(blocks)])
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(features, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, levels, 1)
        )

    def condition(self, top: torch.Tensor) -> torch.Tensor:
        """(N, h/2, w/2) top codes -> (N, F, h, w) conditioning features."""
        c = self.top_stack(self.embed_top(top).permute(0, 3, 1, 2))
        return c.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)

    def forward(self, bottom: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        if bottom.dim() != 3 or top.dim() != 3 or bottom.shape[1:] != (2 * top.shape[1], 2 * top.shape[2]):
            raise ValueError(
                f"the bottom prior takes (N, h, w) bottom and (N, h/2, w/2) top codes, "
                f"got {tuple(bottom.shape)} and {tuple(top.shape)}"
            )
        return self.forward_features(bottom, self.condition(top))

    def forward_features(self, bottom: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Logits from the bottom codes (N, h, w) and precomputed conditioning features (N, F, h, w)."""
        h = self.first(self.embed(bottom).permute(0, 3, 1, 2)) + self.first_cond(cond)
        for block in self.blocks:
            h = block(h, cond)
        return self.head(h)

    def nll(self, bottom: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood in nats per bottom code."""
        return F.cross_entropy(self(bottom, top), bottom)


GENERATIVE_ARCHITECTURES["vqvae2"] = VQVAE2
GENERATIVE_ARCHITECTURES["conditional_pixelcnn"] = ConditionalPixelCNN
