"""The training CLI is reproducible bit for bit: the same command in two fresh processes writes the
same weight file; another seed writes another (so the comparison can fail)."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[3]


def _train(data: Path, out: Path, seed: int) -> bytes:
    command = [
        sys.executable,
        "-m",
        "reference_methods.deep.training.train",
        "srcnn",
        "--data",
        str(data),
        "--steps",
        "6",
        "--seed",
        str(seed),
        "--batch",
        "8",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=120)
    return (out / "srcnn.safetensors").read_bytes()


def test_the_same_training_command_in_two_fresh_processes_writes_bit_identical_weights(tmp_path):
    data = tmp_path / "train"
    data.mkdir()
    rng = np.random.default_rng(7)
    for i in range(4):
        # Smooth 64×64 images (upsampled noise), so bicubic LR/HR pairs carry structure.
        small = rng.uniform(0, 255, (8, 8)).astype(np.uint8)
        Image.fromarray(small).resize((64, 64), Image.BICUBIC).save(data / f"{i}.png")

    first = _train(data, tmp_path / "a", seed=0)
    second = _train(data, tmp_path / "b", seed=0)
    other_seed = _train(data, tmp_path / "c", seed=1)

    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert first != other_seed
    with safe_open(str(tmp_path / "a" / "srcnn.safetensors"), "pt") as f:
        meta = f.metadata()
    assert meta["device"] == "cpu" and meta["seed"] == "0" and meta["steps"] == "6"
    assert meta["cpu_threads"] == "1"
