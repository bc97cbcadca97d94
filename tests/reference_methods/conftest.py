"""Shared inputs for the reference-method tests: small natural images and their degradations.

The images are crops of scikit-image's bundled `camera` and `astronaut` (shipped with the package,
no download). Degradations come from `benchdata.degradations.degrade`, the same observation model
the tracks use, with fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from benchdata.degradations import degrade
from benchdata.tasks import list_tasks

# The test machine is small and shared: intra-op threads only contend with other processes there.
torch.set_num_threads(1)

# Per task with a synthetic degradation: the spec every contract test degrades with, the task
# table's example (noise on the 0-255 scale).
TASK_SPECS = {info.name: info.example_spec() for info in list_tasks() if info.synthetic}


def gray_image(size: int = 48) -> np.ndarray:
    """A (size, size) crop of `camera` around the photographer (edges, texture and flat sky)."""
    return data.camera()[150 : 150 + size, 200 : 200 + size].astype(np.float64) / 255.0


def rgb_image(size: int = 40) -> np.ndarray:
    """A (size, size, 3) crop of `astronaut` (face, flag and suit)."""
    return data.astronaut()[60 : 60 + size, 180 : 180 + size].astype(np.float64) / 255.0


def _psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB of float images on [0, 1] (estimate clipped to the range first)."""
    mse = float(np.mean((np.clip(estimate, 0.0, 1.0) - truth) ** 2))
    return 10.0 * np.log10(1.0 / mse)


@pytest.fixture(scope="session")
def psnr():
    """`psnr(estimate, truth)` in dB, float images on [0, 1]."""
    return _psnr


@pytest.fixture(scope="session")
def gray() -> np.ndarray:
    return gray_image()


@pytest.fixture(scope="session")
def rgb() -> np.ndarray:
    return rgb_image()


@pytest.fixture(scope="session")
def degraded_for():
    """`degraded_for(task, image, seed=7)`: `degrade(image, TASK_SPECS[task], seed)`."""

    def make(task: str, image: np.ndarray, seed: int = 7):
        return degrade(image, TASK_SPECS[task], seed)

    return make
