"""Short training runs of every recipe on a small synthetic image folder: the loss goes down."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from scipy import ndimage

from benchdata.image_files import write_image
from reference_methods.generative.archs import DCGANGenerator
from reference_methods.generative.training.train import RECIPES, _load, train


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 smooth 48×48 gray images (blurred noise): easy structure every model can start to learn."""
    root = tmp_path_factory.mktemp("train_images")
    rng = np.random.default_rng(0)
    for k in range(24):
        noise = ndimage.gaussian_filter(rng.random((48, 48)), 2.0)
        image = (noise - noise.min()) / (noise.max() - noise.min())
        write_image(root / f"img_{k:02d}.png", image)
    return root


def _first_and_last(record: dict) -> tuple[float, float]:
    losses = [entry[2] for entry in record["loss_history"]]
    return losses[0], losses[-1]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("weights")


@pytest.mark.parametrize(
    "name, steps, batch",
    [
        ("pixelcnn", 30, 4),
        ("vae", 60, 16),
        ("realnvp", 30, 8),
        ("vqvae", 60, 8),
        ("vqvae_prior", 30, 8),
        ("pixelrnn", 30, 4),
        ("vqvae2", 60, 8),
        ("vqvae2_top_prior", 30, 8),
        ("vqvae2_bottom_prior", 30, 8),
    ],
)
def test_a_short_training_run_reduces_the_loss(
    name: str, steps: int, batch: int, folder: Path, out_dir: Path
) -> None:
    # vqvae_prior needs the vqvae trained just before it, the vqvae2 priors the vqvae2 (parametrize order).
    record = train(
        name,
        [folder],
        seed=0,
        out_dir=out_dir,
        steps=steps,
        log_every=10,
        quiet=True,
        held_out=4,
        batch=batch,
    )
    first, last = _first_and_last(record)
    assert record["steps"] == steps
    assert last < first
    saved = json.loads((out_dir / f"{name}.train.json").read_text())
    assert saved["seed"] == 0 and saved["training_images"] == 20 and "held_out" in saved
    with safe_open(str(out_dir / f"{name}.safetensors"), "pt") as f:
        meta = f.metadata()
    assert meta["arch"] == RECIPES[name].arch
    # How it was trained travels with the file.
    assert (meta["device"], meta["seed"], meta["steps"]) == ("cpu", "0", str(steps))
    assert isinstance(_load(out_dir / f"{name}.safetensors", torch.device("cpu")), torch.nn.Module)


def test_dcgan_training_moves_the_generated_patches_towards_the_data(tmp_path: Path) -> None:
    """A GAN's losses need not fall; what must happen is that G's samples approach the data. With
    uniformly bright training images the generated mean intensity must move towards it."""
    root = tmp_path / "bright"
    root.mkdir()
    for k in range(12):
        write_image(root / f"b_{k}.png", np.full((48, 48), 0.9))
    torch.manual_seed(0)
    record = train(
        "dcgan",
        [root],
        seed=0,
        out_dir=tmp_path,
        steps=60,
        log_every=20,
        quiet=True,
        held_out=2,
        batch=16,
    )
    g = _load(tmp_path / "dcgan.safetensors", torch.device("cpu"))
    assert isinstance(g, DCGANGenerator)
    untrained = DCGANGenerator(**RECIPES["dcgan"].params).eval()
    z = torch.randn(64, g.latent, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before, after = float(untrained(z).mean()), float(g(z).mean())
    assert abs(after - 0.9) < abs(before - 0.9) - 0.1
    assert record["held_out"]["data_mean"] == pytest.approx(0.9, abs=0.01)


def test_training_refuses_a_benchmark_test_set(tmp_path: Path) -> None:
    test_set = tmp_path / "Set12"
    test_set.mkdir()
    write_image(test_set / "a.png", np.zeros((64, 64)))
    with pytest.raises(ValueError, match="test set"):
        train("vae", [test_set], out_dir=tmp_path, steps=1, quiet=True)


def test_unknown_recipe_lists_the_recipes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="recipes: .*pixelcnn"):
        train("stylegan", [tmp_path], steps=1, out_dir=tmp_path)


@pytest.mark.parametrize("name", ["pixelrnn", "vqvae2"])
def test_the_same_short_training_twice_gives_bit_identical_weights_and_another_seed_does_not(
    name: str, folder: Path, tmp_path: Path
) -> None:
    def weights(seed: int, where: str) -> bytes:
        out = tmp_path / where
        train(
            name, [folder], steps=4, seed=seed, out_dir=out, quiet=True, held_out=4, batch=4, evaluate=False
        )
        return (out / f"{name}.safetensors").read_bytes()

    first = weights(0, "a")
    assert weights(0, "b") == first
    assert weights(1, "c") != first
