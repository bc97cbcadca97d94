"""Training patches from folders of clean training images (Train400 and the starter train split).

Images are read as gray float on [0, 1] (RGB images are reduced to BT.601 Y, as SR papers train on Y).
Patches are NCHW float32 torch tensors on [0, 1], augmented with the 8 flips/rotations.

- SR: for each scale, LR = imresize(modcrop(HR), 1/s) rounded to uint8, exactly the track protocol
  (benchdata.resize.bicubic_sr_protocol); an LR patch of side p and its HR patch of side s·p are cut
  at corresponding positions.
- Denoising: clean patches plus Gaussian noise σ/255·N(0, 1), not clipped (the DnCNN protocol).

Never point these at test data (Set12, BSD68, CBSD68, CSet14): `load_images` refuses folders with
those names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from benchdata.image_files import read_image
from benchdata.resize import bicubic_sr_protocol

TEST_SET_NAMES = {"set12", "bsd68", "cbsd68", "cset14", "set14", "set5", "urban100", "b100", "kodak24"}


def _to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return (16.0 + image @ np.array([65.481, 128.553, 24.966])) / 255.0


def load_images(folders: list[Path], min_side: int = 48) -> list[np.ndarray]:
    """All PNG images under `folders` as gray float64 (H, W) on [0, 1]; refuses benchmark test sets."""
    images = []
    for folder in folders:
        folder = Path(folder)
        if folder.name.lower() in TEST_SET_NAMES:
            raise ValueError(f"{folder} is a test set; training must never see test data")
        if not folder.is_dir():
            raise FileNotFoundError(f"training folder {folder} does not exist")
        for path in sorted(folder.rglob("*.png")):
            image = _to_gray(read_image(path))
            if min(image.shape) >= min_side:
                images.append(image)
    if not images:
        raise ValueError(
            f"no training images (PNG, at least {min_side} px) in {', '.join(map(str, folders))}"
        )
    return images


def starter_train_images(variant: str = "starter") -> list[np.ndarray]:
    """The train split of the no-download starter benchmark (built on demand by benchdata), gray."""
    import json

    from benchdata.store import ensure_dataset

    folder = ensure_dataset(variant)
    splits = json.loads((folder / "manifest.json").read_text())["splits"]
    return [_to_gray(read_image(folder / name)) for name in splits.get("train", [])]


def _augment(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same random flip/rotation for the whole (N, H, W) stack (paired LR/HR stay aligned)."""
    k = int(rng.integers(4))
    batch = np.rot90(batch, k, axes=(-2, -1))
    if rng.integers(2):
        batch = batch[..., ::-1]
    return np.ascontiguousarray(batch)


class SRPatches:
    """Random (LR, HR) patch pairs for scales `scales`; LR patches are `lr_patch` pixels square."""

    def __init__(self, images: list[np.ndarray], scales: tuple[int, ...], lr_patch: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.lr_patch = lr_patch
        self.pairs: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for s in scales:
            pairs = []
            for image in images:
                proto = bicubic_sr_protocol(image, s)
                if min(proto.lr.shape) >= lr_patch:
                    pairs.append((proto.lr.astype(np.float32) / 255, proto.hr.astype(np.float32) / 255))
            self.pairs[s] = pairs

    def batch(self, size: int, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
        p, pairs = self.lr_patch, self.pairs[scale]
        lrs, hrs = [], []
        for _ in range(size):
            lr, hr = pairs[int(self.rng.integers(len(pairs)))]
            i = int(self.rng.integers(lr.shape[0] - p + 1))
            j = int(self.rng.integers(lr.shape[1] - p + 1))
            k = int(self.rng.integers(4))
            flip = bool(self.rng.integers(2))
            pair = []
            for arr, s in ((lr, 1), (hr, scale)):
                crop = np.rot90(arr[s * i : s * (i + p), s * j : s * (j + p)], k)
                pair.append(np.ascontiguousarray(crop[:, ::-1] if flip else crop))
            lrs.append(pair[0])
            hrs.append(pair[1])
        return torch.from_numpy(np.stack(lrs)[:, None]), torch.from_numpy(np.stack(hrs)[:, None])


class NoisyPatches:
    """Random (noisy, clean) patch pairs at noise level `sigma` (0-255 scale), not clipped."""

    def __init__(self, images: list[np.ndarray], sigma: float, patch: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.images = [im.astype(np.float32) for im in images]
        self.sigma, self.patch = sigma, patch

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.patch
        clean = []
        for _ in range(size):
            im = self.images[int(self.rng.integers(len(self.images)))]
            i = int(self.rng.integers(im.shape[0] - p + 1))
            j = int(self.rng.integers(im.shape[1] - p + 1))
            clean.append(_augment(im[i : i + p, j : j + p], self.rng))
        x = np.stack(clean)[:, None].astype(np.float32)
        noisy = x + (self.sigma / 255.0) * self.rng.standard_normal(x.shape).astype(np.float32)
        return torch.from_numpy(noisy), torch.from_numpy(x)
