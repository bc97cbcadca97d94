"""Network architectures of the deep reference methods, in one explicit table.

Tensor convention for every network: NCHW float32, intensities on [0, 1] (gray or the Y channel:
C = 1 by default). A super-resolution network takes the low-resolution image (N, C, h, w) and returns
(N, C, s·h, s·w); a denoiser returns the shape it was given. Networks that work on a bicubic-upscaled
input (SRCNN, VDSR) do the MATLAB-compatible bicubic upscaling themselves (`bicubic_upsample`), so
every SR network has the same LR-in, HR-out interface, which is also the ONNX submission interface.

`create_arch(name, **params)` builds one; `list_archs()` names them. Defaults are the small variants
trained on CPU here; the papers' sizes are reachable through the parameters (noted per class).

Papers:
- SRCNN: Dong, Loy, He, Tang, "Image Super-Resolution Using Deep Convolutional Networks", TPAMI 2016.
- VDSR: Kim, Lee, Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional Networks", CVPR 2016.
- ESPCN: Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
  Convolutional Neural Network", CVPR 2016.
- SRResNet / SRGAN: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
  Adversarial Network", CVPR 2017.
- DnCNN: Zhang, Zuo, Chen, Meng, Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for
  Image Denoising", TIP 2017.
- IPT: Chen et al., "Pre-Trained Image Processing Transformer", CVPR 2021.
- ESRGAN (RRDBNet): Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks",
  ECCV Workshops 2018.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def _cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic kernel with a = -0.5 (MATLAB imresize)."""
    ax = x.abs()
    return torch.where(
        ax <= 1,
        1.5 * ax**3 - 2.5 * ax**2 + 1,
        torch.where(ax <= 2, -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2, torch.zeros_like(ax)),
    )


def _phase_filters(scale: int) -> torch.Tensor:
    """(scale, 5) taps: output pixel s·i + p reads input pixels i-2 … i+2 with these weights.

    MATLAB maps output x (0-based) to input u = (x + 0.5)/s - 0.5, so phase p sits at offset
    d = (p + 0.5)/s - 0.5 from input pixel i; the four taps floor(u)-1 … floor(u)+2 have weights
    cubic(u - j), normalised to sum 1.
    """
    taps = torch.arange(-2, 3, dtype=torch.float64)
    filters = []
    for p in range(scale):
        d = (p + 0.5) / scale - 0.5
        w = _cubic(d - taps)
        filters.append(w / w.sum())
    return torch.stack(filters).float()


def _symmetric_pad2(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Pad 2 pixels on both sides of `dim`, mirroring with the edge pixel repeated (MATLAB 'symmetric')."""
    n = x.shape[dim]
    first = x.narrow(dim, 0, 2).flip(dim)
    last = x.narrow(dim, n - 2, 2).flip(dim)
    return torch.cat([first, x, last], dim=dim)


def bicubic_upsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB `imresize(x, scale, 'bicubic')` for an integer scale >= 2 (no antialiasing when enlarging).

    x: (N, C, h, w) with h, w >= 2; returns (N, C, s·h, s·w), not clipped. Height first, then width.
    """
    if scale == 1:
        return x
    n, c, h, w = x.shape
    filt = _phase_filters(scale).to(x.device, x.dtype)
    # Height: each of the s phases is a 5-tap vertical filter; interleave the phases.
    y = _symmetric_pad2(x.reshape(n * c, 1, h, w), 2)
    y = F.conv2d(y, filt.view(scale, 1, 5, 1))  # (n·c, s, h, w)
    y = y.permute(0, 2, 1, 3).reshape(n * c, 1, h * scale, w)
    y = _symmetric_pad2(y, 3)
    y = F.conv2d(y, filt.view(scale, 1, 1, 5))  # (n·c, s, s·h, w)
    y = y.permute(0, 2, 3, 1).reshape(n, c, h * scale, w * scale)
    return y


class BicubicUpsample(nn.Module):
    """Module wrapper of `bicubic_upsample` (no parameters)."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bicubic_upsample(x, self.scale)


class SRCNN(nn.Module):
    """SRCNN 9-5-5 (TPAMI version): patch extraction, non-linear mapping, reconstruction on the
    bicubic-upscaled image. Paper: n1 = 64, n2 = 32; zero 'same' padding here (the paper used 'valid').
    One set of weights serves every scale (the upscaling is fixed); `scale` only picks it.
    """

    def __init__(self, scale: int = 3, channels: int = 1, n1: int = 64, n2: int = 32) -> None:
        super().__init__()
        self.up = BicubicUpsample(scale)
        self.conv1 = nn.Conv2d(channels, n1, 9, padding=4)
        self.conv2 = nn.Conv2d(n1, n2, 5, padding=2)
        self.conv3 = nn.Conv2d(n2, channels, 5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(x)
        return self.conv3(F.relu(self.conv2(F.relu(self.conv1(y)))))


class VDSR(nn.Module):
    """VDSR: `depth` 3×3 conv layers (ReLU between) predicting the residual over the bicubic image.
    Paper: depth 20, 64 features, one model for ×2/×3/×4 (multi-scale training), as here.
    """

    def __init__(self, scale: int = 3, channels: int = 1, depth: int = 10, features: int = 32) -> None:
        super().__init__()
        self.up = BicubicUpsample(scale)
        layers: list[nn.Module] = [nn.Conv2d(channels, features, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(features, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(x)
        return y + self.body(y)


class ESPCN(nn.Module):
    """ESPCN: convolutions in low resolution, then a sub-pixel convolution (pixel shuffle) to HR.
    Paper: (f1, n1) = (5, 64), (f2, n2) = (3, 32), f3 = 3, tanh activations.
    """

    def __init__(self, scale: int = 3, channels: int = 1, n1: int = 64, n2: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, n1, 5, padding=2)
        self.conv2 = nn.Conv2d(n1, n2, 3, padding=1)
        self.conv3 = nn.Conv2d(n2, channels * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv3(torch.tanh(self.conv2(torch.tanh(self.conv1(x))))))


class _ResidualBlock(nn.Module):
    """conv-BN-PReLU-conv-BN plus identity (SRResNet's block)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1),
            nn.BatchNorm2d(features),
            nn.PReLU(features),
            nn.Conv2d(features, features, 3, padding=1),
            nn.BatchNorm2d(features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """SRResNet (the SRGAN generator): 9×9 conv + PReLU, B residual blocks, conv-BN with a long skip,
    pixel-shuffle ×2 stages (one ×3 stage for scale 3), 9×9 conv out.
    Paper: 64 features, B = 16, RGB; here 32 features, B = 6 on the Y channel by default.
    """

    def __init__(self, scale: int = 4, channels: int = 1, features: int = 32, blocks: int = 6) -> None:
        super().__init__()
        if scale not in (2, 3, 4, 8):
            raise ValueError(f"SRResNet supports scales 2, 3, 4, 8; got {scale}")
        self.head = nn.Sequential(nn.Conv2d(channels, features, 9, padding=4), nn.PReLU(features))
        self.blocks = nn.Sequential(*[_ResidualBlock(features) for _ in range(blocks)])
        self.fuse = nn.Sequential(nn.Conv2d(features, features, 3, padding=1), nn.BatchNorm2d(features))
        stages = [3] if scale == 3 else [2] * {2: 1, 4: 2, 8: 3}[scale]
        up: list[nn.Module] = []
        for s in stages:
            up += [
                nn.Conv2d(features, features * s * s, 3, padding=1),
                nn.PixelShuffle(s),
                nn.PReLU(features),
            ]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(features, channels, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return self.tail(self.up(h + self.fuse(self.blocks(h))))


class DnCNN(nn.Module):
    """DnCNN-S: conv+ReLU, (depth-2) × conv+BN+ReLU, conv; predicts the noise, returns x - noise.
    Paper: depth 17, 64 features, σ = 25 for the specific-noise-level model.
    """

    def __init__(self, channels: int = 1, depth: int = 10, features: int = 48) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, features, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(features, features, 3, padding=1, bias=False),
                nn.BatchNorm2d(features),
                nn.ReLU(),
            ]
        layers.append(nn.Conv2d(features, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


IPT_TASKS = ("denoise25", "sr2", "sr3", "sr4")


def _task_scale(task: str) -> int:
    return int(task[2:]) if task.startswith("sr") else 1


class IPT(nn.Module):
    """A small Image Processing Transformer: one conv head per task, a shared transformer body, one
    tail per task.

    The head maps the (N, C, size, size) input to F feature maps; the body cuts them into p×p
    patches (100 tokens of F·p² values for a 40×40 input and p = 4), projects them to `dim`, adds a
    learned position embedding and a learned task embedding (IPT feeds the task to its decoder as
    queries; here the encoder gets it as an additive embedding), runs `depth` pre-norm transformer
    encoder layers with `heads` heads, and folds the tokens back; the tail maps features to the
    output (pixel shuffle for SR). A global skip adds the input (bicubic-upscaled for SR), which the
    paper does not have; it speeds up a short CPU training run. Paper: 3 heads/tails + 6 tasks,
    12-layer encoder and decoder, dim 576, 115M parameters, pre-trained on ImageNet.

    The input size is fixed (`size`, default 40; IPT used 48×48 patches, but ×4 LR training images
    here are only 45 px wide): larger images are run tiled with overlap. `task` selects the head and
    tail used by forward().
    """

    def __init__(
        self,
        task: str = "denoise25",
        channels: int = 1,
        features: int = 32,
        patch: int = 4,
        dim: int = 128,
        depth: int = 2,
        heads: int = 4,
        size: int = 40,
        tasks: tuple[str, ...] = IPT_TASKS,
    ) -> None:
        super().__init__()
        if task not in tasks:
            raise ValueError(f"IPT task {task!r} is not one of {tasks}")
        self.task, self.tasks, self.patch, self.size = task, tuple(tasks), patch, size
        self.heads = nn.ModuleDict(
            {
                t: nn.Sequential(
                    nn.Conv2d(channels, features, 3, padding=1),
                    nn.ReLU(),
                    nn.Conv2d(features, features, 3, padding=1),
                )
                for t in tasks
            }
        )
        tokens = (size // patch) ** 2
        self.embed = nn.Linear(features * patch * patch, dim)
        self.position = nn.Parameter(torch.zeros(1, tokens, dim))
        self.task_embedding = nn.Parameter(torch.zeros(len(tasks), dim))
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.body = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.unembed = nn.Linear(dim, features * patch * patch)
        tails = {}
        for t in tasks:
            s = _task_scale(t)
            if s == 1:
                tails[t] = nn.Conv2d(features, channels, 3, padding=1)
            else:
                tails[t] = nn.Sequential(
                    nn.Conv2d(features, channels * s * s, 3, padding=1), nn.PixelShuffle(s)
                )
        self.tails = nn.ModuleDict(tails)
        nn.init.normal_(self.position, std=0.02)

    def forward(self, x: torch.Tensor, task: str | None = None) -> torch.Tensor:
        task = task or self.task
        n, _, h, w = x.shape
        if (h, w) != (self.size, self.size):
            raise ValueError(
                f"IPT takes {self.size}×{self.size} inputs (run larger images tiled), got {h}×{w}"
            )
        f = self.heads[task](x)
        p, c = self.patch, f.shape[1]
        gh, gw = h // p, w // p
        # Patchify with reshapes (not F.unfold/F.fold, which ONNX opset 17 lacks): (N, L, F·p²).
        tokens = f.reshape(n, c, gh, p, gw, p).permute(0, 2, 4, 1, 3, 5).reshape(n, gh * gw, c * p * p)
        z = self.embed(tokens) + self.position + self.task_embedding[self.tasks.index(task)]
        z = self.unembed(self.body(z))
        f = f + z.reshape(n, gh, gw, c, p, p).permute(0, 3, 1, 4, 2, 5).reshape(n, c, h, w)
        s = _task_scale(task)
        skip = x if s == 1 else bicubic_upsample(x, s)
        return skip + self.tails[task](f)


class _DenseBlock(nn.Module):
    """ESRGAN's residual dense block: five 3×3 convs, each reading the block input and every earlier
    output (dense connections), LeakyReLU(0.2) after the first four, no batch norm; the fifth output is
    scaled by `beta` and added to the input (residual scaling)."""

    def __init__(self, features: int, growth: int, beta: float) -> None:
        super().__init__()
        self.beta = beta
        self.convs = nn.ModuleList(
            nn.Conv2d(features + i * growth, growth if i < 4 else features, 3, padding=1) for i in range(5)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [x]
        for conv in self.convs[:4]:
            outs.append(F.leaky_relu(conv(torch.cat(outs, 1)), 0.2))
        return x + self.beta * self.convs[4](torch.cat(outs, 1))


class _RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks in a row, the whole scaled by `beta` and
    added to the input."""

    def __init__(self, features: int, growth: int, beta: float) -> None:
        super().__init__()
        self.beta = beta
        self.body = nn.Sequential(*[_DenseBlock(features, growth, beta) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.beta * self.body(x)


class RRDBNet(nn.Module):
    """The ESRGAN generator: conv, B RRDBs, conv with a long skip, nearest-neighbour ×2 upsampling +
    conv + LeakyReLU per octave (one ×3 stage for scale 3), an HR conv and the output conv.

    Paper: 64 features, growth 32, B = 23, β = 0.2, RGB. Here 32 features, growth 16, B = 2 on the Y
    channel by default. Deviation: the output is added to the MATLAB-bicubic upscaling of the input
    (a global skip the paper does not have, like IPT's here), so a few thousand CPU iterations start
    from bicubic instead of from a blank image.
    """

    def __init__(
        self,
        scale: int = 4,
        channels: int = 1,
        features: int = 32,
        growth: int = 16,
        blocks: int = 2,
        beta: float = 0.2,
    ) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"RRDBNet supports scales 2, 3, 4; got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        self.blocks = nn.Sequential(*[_RRDB(features, growth, beta) for _ in range(blocks)])
        self.fuse = nn.Conv2d(features, features, 3, padding=1)
        self.stages = [3] if scale == 3 else [2] * (scale // 2)
        self.up = nn.ModuleList(nn.Conv2d(features, features, 3, padding=1) for _ in self.stages)
        self.hr = nn.Conv2d(features, features, 3, padding=1)
        self.tail = nn.Conv2d(features, channels, 3, padding=1)
        # The paper's "smaller initialisation": MSRA init scaled by 0.1 inside the residual blocks.
        for m in self.blocks.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                m.weight.data.mul_(0.1)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.fuse(self.blocks(h))
        for s, conv in zip(self.stages, self.up, strict=True):
            h = F.leaky_relu(conv(F.interpolate(h, scale_factor=s, mode="nearest")), 0.2)
        return bicubic_upsample(x, self.scale) + self.tail(F.leaky_relu(self.hr(h), 0.2))


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "srcnn": SRCNN,
    "vdsr": VDSR,
    "espcn": ESPCN,
    "srresnet": SRResNet,
    "dncnn": DnCNN,
    "ipt": IPT,
    "rrdbnet": RRDBNet,
}


def list_archs() -> list[str]:
    """Names of the registered architectures (what a safetensors submission's manifest may name)."""
    return sorted(ARCHITECTURES)


def create_arch(name: str, **params: object) -> nn.Module:
    """Build architecture `name` with constructor `params`; an unknown name lists the valid ones."""
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; registered: {', '.join(list_archs())}") from None
    return cls(**params)
