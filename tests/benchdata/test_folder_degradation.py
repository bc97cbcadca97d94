"""Degrading a folder: outputs, kernels and masks beside them, per-image seeds."""

import json

import numpy as np
import pytest

from benchdata.degradations import degrade, load_kernel
from benchdata.degradations.seeds import image_seed
from benchdata.folder_degradation import degrade_folder
from benchdata.image_files import read_image, read_mask

from .conftest import make_images


def test_each_image_is_degraded_with_its_own_seed_and_extras_beside_it(tmp_path):
    make_images(tmp_path / "src", count=3)
    spec = {
        "task": "deblur",
        "kernel": {"type": "motion", "size": 9},
        "sigma": 3,
        "clip": True,
        "quantize": True,
    }
    record = degrade_folder(tmp_path / "src", tmp_path / "out", spec, 42)
    assert [item["output"] for item in record["items"]] == ["img0.png", "img1.png", "img2.png"]
    for item in record["items"]:
        stem = item["source"][:-4]
        expected = degrade(read_image(tmp_path / "src" / item["source"]), spec, image_seed(42, stem))
        assert np.array_equal(read_image(tmp_path / "out" / item["output"]), expected.image)
        assert np.array_equal(load_kernel(tmp_path / "out" / f"{stem}_kernel.npy"), expected.kernel)
        assert (tmp_path / "out" / f"{stem}_kernel.png").is_file()
    assert json.loads((tmp_path / "out" / "degradation.json").read_text())["seed"] == 42


def test_masks_are_written_as_png_beside_the_outputs(tmp_path):
    make_images(tmp_path / "src", count=2, shape=(30, 30))
    degrade_folder(
        tmp_path / "src",
        tmp_path / "out",
        {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.5}},
        1,
    )
    mask = read_mask(tmp_path / "out" / "img1_mask.png")
    assert mask.sum() == 450
    assert np.all(read_image(tmp_path / "out" / "img1.png")[mask] == 0)


def test_image_seed_is_the_documented_sha256_prefix():
    import hashlib

    assert image_seed(7, "0801") == int.from_bytes(hashlib.sha256(b"7/0801").digest()[:8], "big")
    assert image_seed(7, "0801") != image_seed(7, "0802") != image_seed(8, "0801")


def test_empty_or_colliding_folders_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        degrade_folder(tmp_path / "empty", tmp_path / "out", {"task": "denoise", "sigma": 5}, 0)
    paths = make_images(tmp_path / "src", count=1)
    (tmp_path / "src" / "img0.bmp").write_bytes(paths[0].read_bytes())
    with pytest.raises(ValueError, match="share a stem.*img0"):
        degrade_folder(tmp_path / "src", tmp_path / "out", {"task": "denoise", "sigma": 5}, 0)
