"""ESRGAN's training pieces: the relativistic average GAN losses against their formula on hand-made
logits, the perceptual features taken before the activation, and bit-identical GAN fine-tuning."""

import hashlib
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from reference_methods.deep.training.esrgan import (
    CONV5_3_BEFORE_RELU,
    relativistic_discriminator_loss,
    relativistic_generator_loss,
    vgg16_features,
)
from reference_methods.deep.training.train import train

ROOT = Path(__file__).resolve().parents[3]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# Hand-made logits C(x): real mean 1.0, fake mean 0.0.
REAL = [2.0, 0.0]
FAKE = [1.0, -1.0]


def test_relativistic_discriminator_loss_matches_its_formula_on_hand_made_logits():
    # L_D = −E_r[log σ(C(x_r) − E_f C(x_f))] − E_f[log(1 − σ(C(x_f) − E_r C(x_r)))]
    expected = (
        -(math.log(_sigmoid(2.0 - 0.0)) + math.log(_sigmoid(0.0 - 0.0))) / 2
        - (math.log(1 - _sigmoid(1.0 - 1.0)) + math.log(1 - _sigmoid(-1.0 - 1.0))) / 2
    )
    got = relativistic_discriminator_loss(torch.tensor(REAL), torch.tensor(FAKE))
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_relativistic_generator_loss_matches_its_formula_on_hand_made_logits():
    # L_G = −E_r[log(1 − σ(C(x_r) − E_f C(x_f)))] − E_f[log σ(C(x_f) − E_r C(x_r))]
    expected = (
        -(math.log(1 - _sigmoid(2.0)) + math.log(1 - _sigmoid(0.0))) / 2
        - (math.log(_sigmoid(0.0)) + math.log(_sigmoid(-2.0))) / 2
    )
    got = relativistic_generator_loss(torch.tensor(REAL), torch.tensor(FAKE))
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_relativistic_losses_stay_finite_for_confident_logits_and_are_relative():
    # Margins of 140 and 160 logits: L_D ≈ 0 and L_G = mean(140, 160) twice = 300 (softplus(z) ≈ z).
    real, fake = torch.tensor([60.0, 80.0]), torch.tensor([-70.0, -90.0])
    d, g = relativistic_discriminator_loss(real, fake), relativistic_generator_loss(real, fake)
    assert float(d) == pytest.approx(0.0, abs=1e-12) and float(g) == pytest.approx(300.0, rel=1e-6)
    # Only differences between real and fake logits count: a common shift changes nothing.
    shifted = relativistic_discriminator_loss(real + 5, fake + 5)
    assert float(shifted) == pytest.approx(float(d), abs=1e-12)


def test_perceptual_features_are_vgg16_conv5_3_before_its_relu():
    features = vgg16_features()
    assert isinstance(features[-1], torch.nn.Conv2d) and features[-1].out_channels == 512
    assert len(features) == CONV5_3_BEFORE_RELU == 29  # torchvision's vgg16: conv5_3 is 28, its ReLU 29
    torch.manual_seed(0)
    out = features(torch.rand(1, 3, 32, 32))
    assert (out < 0).any()  # before the activation: negative responses are kept
    assert not any(p.requires_grad for p in features.parameters())


def _images(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(4):
        small = rng.uniform(0, 255, (8, 8)).astype(np.uint8)
        Image.fromarray(small).resize((64, 64), Image.BICUBIC).save(folder / f"{i}.png")
    return folder


def _fine_tune(data: Path, out: Path, init: Path) -> bytes:
    out.mkdir()
    shutil.copy(init, out / init.name)  # esrgan_x4 starts from the PSNR-pretrained generator
    command = [sys.executable, "-m", "reference_methods.deep.training.train", "esrgan_x4"]
    command += ["--data", str(data), "--steps", "2", "--seed", "0", "--batch", "2"]
    command += ["--threads", "1", "--device", "cpu", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=180)
    return (out / "esrgan_x4.safetensors").read_bytes()


def test_esrgan_fine_tuning_in_two_fresh_processes_writes_bit_identical_weights(tmp_path):
    data = _images(tmp_path / "train")
    train("esrgan_psnr_x4", [data], steps=2, batch=2, out_dir=tmp_path / "init", quiet=True)
    init = tmp_path / "init" / "esrgan_psnr_x4.safetensors"

    first = _fine_tune(data, tmp_path / "a", init)
    second = _fine_tune(data, tmp_path / "b", init)

    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    tuned, start = load_file(str(tmp_path / "a" / "esrgan_x4.safetensors")), load_file(str(init))
    assert tuned.keys() == start.keys()
    assert any(not torch.equal(tuned[k], start[k]) for k in start)  # the GAN steps did train


def test_the_vgg16_trunk_has_torchvisions_layers_and_keys():
    from torchvision.models import vgg16

    from reference_methods.deep.training.esrgan import _vgg16_trunk

    ours, theirs = _vgg16_trunk(), vgg16(weights=None).features
    assert [type(m) for m in ours] == [type(m) for m in theirs]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
