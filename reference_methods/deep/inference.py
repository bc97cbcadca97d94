"""Run a trained deep reference network on a platform image (numpy in, numpy out).

Image convention (the registry's): float64 (H, W) gray or (H, W, 3) RGB on [0, 1]. The networks are
single-channel:
- denoising an RGB image runs the network on each channel (a gray denoiser applied per channel);
- super-resolving an RGB image runs the network on the BT.601 luma Y and upscales Cb/Cr with
  MATLAB-compatible bicubic (`benchdata.resize.imresize`), the SRCNN/VDSR protocol.
Networks with a fixed input size (IPT) run on overlapping tiles; the others on the whole image.

Weights: `load_network(name)` reads weights/<name>.safetensors and the architecture recorded in
weights/<name>.train.json, once per process, on CUDA when available.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from benchdata.resize import imresize
from reference_methods.deep.archs import create_arch

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class WeightsMissing(FileNotFoundError):
    """The committed weights of a deep method are not there."""


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def weights_record(name: str, weights_dir: Path = WEIGHTS_DIR) -> dict:
    """The training record (architecture, parameters, data, time) of weights `name`."""
    path = weights_dir / f"{name}.train.json"
    if not path.is_file():
        raise WeightsMissing(
            f"no weights for {name!r} ({path} missing); train them with "
            f"`python -m reference_methods.deep.training.train {name} --steps N` (its model card gives N, "
            "the seed and the device)"
        )
    return json.loads(path.read_text())


@functools.lru_cache(maxsize=32)
def load_network(name: str, weights_dir: Path = WEIGHTS_DIR, **overrides: object) -> nn.Module:
    """The trained network `name` in eval mode on `device()`; `overrides` replace recorded arch params
    (e.g. scale=2 for the multi-scale SRCNN/VDSR, task="sr4" for IPT)."""
    record = weights_record(name, weights_dir)
    net = create_arch(record["arch"], **{**record["arch_params"], **overrides})
    net.load_state_dict(load_file(str(weights_dir / f"{name}.safetensors")))
    return net.to(device()).eval()


def tile_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(start, end, keep_start, keep_end) per tile along one axis; the kept ranges partition the axis.

    Same rule as the sandbox's tiling (evaluator/model_runner/tiling.py): full-size tiles stepping by
    tile - overlap, the last one shifted inward, each pixel kept from the tile in whose half of the
    overlap it lies.
    """
    if length <= tile:
        return [(0, length, 0, length)]
    starts = list(range(0, length - tile, tile - overlap)) + [length - tile]
    spans: list[tuple[int, int, int, int]] = []
    for start in starts:
        keep = 0 if not spans else (start + spans[-1][1]) // 2
        if spans:
            spans[-1] = (*spans[-1][:3], keep)
        spans.append((start, start + tile, keep, length))
    return spans


@torch.inference_mode()
def run_network(
    net: nn.Module, x: torch.Tensor, scale: int, fixed: int | None = None, overlap: int = 8
) -> torch.Tensor:
    """Apply `net` to x (N, C, H, W); for a fixed input size, on tiles (edge-padded when the image is
    smaller). Returns (N, C, s·H, s·W)."""
    if fixed is None:
        return net(x)
    n, c, h, w = x.shape
    ph, pw = max(h, fixed), max(w, fixed)
    padded = torch.nn.functional.pad(x, (0, pw - w, 0, ph - h), mode="replicate") if (ph, pw) != (h, w) else x
    out = torch.empty(n, c, scale * ph, scale * pw, device=x.device)
    s = scale
    for r0, r1, kr0, kr1 in tile_spans(ph, fixed, overlap):
        for c0, c1, kc0, kc1 in tile_spans(pw, fixed, overlap):
            y = net(padded[:, :, r0:r1, c0:c1])
            out[:, :, s * kr0 : s * kr1, s * kc0 : s * kc1] = y[
                :, :, s * (kr0 - r0) : s * (kr1 - r0), s * (kc0 - c0) : s * (kc1 - c0)
            ]
    return out[:, :, : s * h, : s * w]


def _rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    return (rgb @ m.T + np.array([16.0, 128.0, 128.0])) / 255.0


def _ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    return (ycc * 255.0 - np.array([16.0, 128.0, 128.0])) @ np.linalg.inv(m).T


def restore_gray_planes(
    net: nn.Module, planes: np.ndarray, scale: int, fixed: int | None = None
) -> np.ndarray:
    """planes (K, H, W) float on [0, 1] -> (K, s·H, s·W) float64 (not clipped), one network call batch."""
    x = torch.from_numpy(planes[:, None].astype(np.float32)).to(device())
    y = run_network(net, x, scale, fixed)
    return y[:, 0].double().cpu().numpy()


def restore_image(
    net: nn.Module, image: np.ndarray, task: str, scale: int = 1, fixed: int | None = None
) -> np.ndarray:
    """A platform image through a single-channel network (see the module docstring for colour)."""
    if image.ndim == 2:
        return restore_gray_planes(net, image[None], scale, fixed)[0]
    if task == "sr":
        ycc = _rgb_to_ycbcr(image)
        y = restore_gray_planes(net, ycc[None, :, :, 0], scale, fixed)[0]
        chroma = [imresize(ycc[:, :, c], float(scale)) for c in (1, 2)]
        return _ycbcr_to_rgb(np.stack([y, *chroma], axis=2))
    return restore_gray_planes(net, image.transpose(2, 0, 1), 1, fixed).transpose(1, 2, 0)
