"""A short training run reduces the loss and writes weights plus a training record."""

import json

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from reference_methods.deep.archs import create_arch
from reference_methods.deep.training.data import NoisyPatches, SRPatches, load_images
from reference_methods.deep.training.train import train


@pytest.fixture
def train_folder(tmp_path):
    """Eight smooth synthetic 64×64 training images (sums of random low-frequency cosines)."""
    folder = tmp_path / "train"
    folder.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    for i in range(8):
        img = np.zeros((64, 64))
        for _ in range(4):
            fy, fx, phase = rng.uniform(0.5, 3, 2).tolist() + [rng.uniform(0, 6.3)]
            img += np.cos(2 * np.pi * (fy * yy + fx * xx) + phase)
        img = (img - img.min()) / (img.max() - img.min())
        Image.fromarray((img * 255).round().astype(np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize("recipe", ["espcn_x2", "dncnn_s25"])
def test_short_training_run_reduces_the_loss(tmp_path, train_folder, recipe):
    record = train(
        recipe, [train_folder], steps=30, out_dir=tmp_path / "w", log_every=5, quiet=True
    )
    losses = [loss for _, _, loss in record["loss_history"]]
    assert record["steps"] == 30 and len(losses) == 6
    assert losses[-1] < 0.5 * losses[0]
    state = load_file(str(tmp_path / "w" / f"{recipe}.safetensors"))
    net = create_arch(record["arch"], **record["arch_params"])
    net.load_state_dict(state)  # strict: the saved weights fit the recorded architecture
    saved = json.loads((tmp_path / "w" / f"{recipe}.train.json").read_text())
    assert saved["seed"] == 0 and saved["training_images"] == 8 and saved["parameters"] > 0


def test_sr_patches_are_the_track_protocol_crops(train_folder):
    images = load_images([train_folder])
    lr, hr = SRPatches(images, (3,), lr_patch=8, seed=0).batch(4, 3)
    assert lr.shape == (4, 1, 8, 8) and hr.shape == (4, 1, 24, 24)
    # LR patches are uint8-quantised, as the track's PNG inputs are
    np.testing.assert_allclose(lr.numpy() * 255, np.round(lr.numpy() * 255), atol=1e-3)


def test_noisy_patches_add_unclipped_noise_of_the_requested_level(train_folder):
    noisy, clean = NoisyPatches(load_images([train_folder]), sigma=25, patch=32, seed=0).batch(64)
    residual = (noisy - clean).numpy()
    assert abs(residual.std() * 255 - 25) < 0.5
    assert noisy.min() < 0 or noisy.max() > 1  # not clipped


def test_test_sets_are_refused_as_training_data(tmp_path):
    folder = tmp_path / "BSD68"
    folder.mkdir()
    with pytest.raises(ValueError, match="test set"):
        load_images([folder])
