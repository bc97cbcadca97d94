"""On a CUDA device the deep methods train there and restore with the CPU's numbers.

Runs only where CUDA is present (the lent GPU machine); CI has none.
"""

import numpy as np
import pytest
import torch
from PIL import Image

import reference_methods.deep.inference as inference
from reference_methods.deep.training.train import train
from reference_methods.registry import RestorationContext, restore

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _image(seed: int, h: int = 48, w: int = 56) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / 32.0
    img = 0.5 + 0.3 * np.sin(3 * xx + rng.uniform(0, 6)) * np.cos(2 * yy) + 0.05 * rng.standard_normal((h, w))
    return np.clip(img, 0, 1)


@pytest.mark.parametrize(
    "method, context",
    [
        ("dncnn", RestorationContext("denoise", sigma=25.0)),
        ("espcn", RestorationContext("sr", scale=2)),
        ("vdsr", RestorationContext("sr", scale=3)),
        ("ipt", RestorationContext("denoise", sigma=25.0)),
    ],
)
def test_restoring_on_cuda_gives_the_cpu_result(monkeypatch, method, context):
    image = _image(1)
    on_gpu = restore(method, image, context)
    # Networks are cached on the device they were loaded on: reload them on the CPU, and again after.
    monkeypatch.setattr(inference, "device", lambda: torch.device("cpu"))
    inference.load_network.cache_clear()
    try:
        on_cpu = restore(method, image, context)
    finally:
        inference.load_network.cache_clear()
    assert on_gpu.shape == on_cpu.shape
    # cuDNN convolutions run in TF32 on Ampere and later (10-bit mantissa): differences stay far below
    # one 8-bit grey level (1/255 ≈ 3.9e-3), the precision every output is stored at.
    assert np.max(np.abs(on_gpu - on_cpu)) < 1e-3


def test_training_runs_on_cuda_and_reduces_the_loss(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for i in range(6):
        Image.fromarray((_image(i, 64, 64) * 255).round().astype(np.uint8)).save(folder / f"{i}.png")
    record = train(
        "dncnn_s25", [folder], steps=40, out_dir=tmp_path / "w", log_every=10, quiet=True
    )
    losses = [loss for _, _, loss in record["loss_history"]]
    assert record["device"].startswith("cuda")
    assert losses[-1] < 0.5 * losses[0]
