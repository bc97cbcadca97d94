"""The example low-light pairs: made from package-shipped photos, a valid `enhance` pair set,
bit-reproducible in a fresh interpreter, and darker and noisier than their ground truth."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchdata.example_pairs import GAIN, write_lowlight_pairs
from benchdata.image_files import read_image
from benchdata.pairs import check_pairs

ROOT = Path(__file__).resolve().parents[2]


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.png"))
    }


def test_the_example_pairs_are_a_valid_enhance_set_per_phase(tmp_path):
    out = write_lowlight_pairs(tmp_path / "lowlight")
    for phase in ("dev", "test"):
        pairs = check_pairs(out / phase / "input", out / phase / "gt", task="enhance")
        assert len(pairs.items) == 3
    dev = {p.name for p in (out / "dev" / "gt").iterdir()}
    test = {p.name for p in (out / "test" / "gt").iterdir()}
    assert not dev & test  # the starter's splits keep a photo in one split


def test_an_input_is_the_dark_noisy_version_of_its_ground_truth(tmp_path):
    out = write_lowlight_pairs(tmp_path / "lowlight")
    clean = read_image(out / "dev" / "gt" / "rocket.png")
    dark = read_image(out / "dev" / "input" / "rocket.png")
    expected = GAIN * clean**1.6
    assert abs(dark.mean() - expected.mean()) < 0.01
    residual = dark - expected
    assert 0.004 < residual.std() < 0.05  # shot and read noise, not a copy


def test_the_pairs_are_bit_reproducible_in_a_fresh_interpreter(tmp_path):
    code = "import sys; from benchdata.example_pairs import write_lowlight_pairs as w; w(sys.argv[1])"
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / run)], cwd=ROOT, check=True)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert len(_digests(tmp_path / "a")) == 12
    assert not np.array_equal(
        read_image(tmp_path / "a" / "dev" / "input" / "rocket.png"),
        read_image(tmp_path / "a" / "dev" / "gt" / "rocket.png"),
    )
