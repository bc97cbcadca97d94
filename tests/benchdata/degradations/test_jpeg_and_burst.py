"""The `jpeg` and `burst_sr` generators: what they make (checked against independent constructions),
and bit-reproducibility in fresh interpreters."""

import hashlib
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin
from skimage import data

from benchdata.degradations import DegradationSpec, SpecError, degrade
from benchdata.degradations.burst import Motion, warp
from benchdata.degradations.jpeg import jpeg_bytes
from benchdata.resize import imresize

IMAGE = data.astronaut()[100:164, 150:230].astype(np.float64) / 255.0  # 64 x 80, RGB


def test_jpeg_is_baseline_with_420_chroma_at_the_asked_quality():
    raw = jpeg_bytes(IMAGE, 20)
    with Image.open(io.BytesIO(raw)) as im:
        assert im.format == "JPEG"
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0
        assert not im.info.get("progressive") and not im.info.get("progression")
        # Baseline sequential DCT: the SOF0 marker, not SOF1/SOF2.
        assert b"\xff\xc0" in raw and b"\xff\xc2" not in raw
    quality10 = degrade(IMAGE, {"task": "jpeg", "quality": 10}, 0).image
    quality90 = degrade(IMAGE, {"task": "jpeg", "quality": 90}, 0).image
    error10, error90 = np.abs(quality10 - IMAGE).mean(), np.abs(quality90 - IMAGE).mean()
    assert error90 < error10 / 2
    assert np.array_equal(quality10 * 255, np.round(quality10 * 255))  # on the 8-bit grid


def test_jpeg_quality_is_checked():
    for bad in (0, 101, 2.5, "10"):
        with pytest.raises(SpecError, match="quality"):
            DegradationSpec.from_dict({"task": "jpeg", "quality": bad})
    with pytest.raises(SpecError, match="unknown field.*sigma"):
        DegradationSpec.from_dict({"task": "jpeg", "quality": 10, "sigma": 5})


def test_the_first_burst_frame_is_the_bicubic_downsampling_of_the_image():
    spec = {"task": "burst_sr", "frames": 5, "scale": 4, "sigma": 0}
    result = degrade(IMAGE, spec, 3)
    assert result.image.shape == (5, 16, 20, 3)
    assert result.ground_truth.shape == IMAGE.shape
    reference = np.floor(np.clip(imresize(IMAGE * 255, 0.25), 0, 255) + 0.5) / 255
    assert np.array_equal(result.image[0], reference)
    assert not np.array_equal(result.image[1], result.image[0])


def test_a_warp_by_whole_pixels_is_a_shift_and_a_quarter_turn_is_a_rotation():
    square = IMAGE[:64, :64]
    shifted = warp(square, Motion(3.0, -2.0, 0.0))
    assert np.array_equal(shifted[3:, :-2], square[:-3, 2:])
    turned = warp(square, Motion(0.0, 0.0, 90.0))
    assert np.allclose(turned, np.rot90(square, k=-1), atol=1e-9)  # clockwise as displayed


def test_burst_parameters_are_checked():
    for field, bad in (("frames", 1), ("frames", 100), ("scale", 5), ("max_rotation", 45), ("sigma", -1)):
        with pytest.raises(SpecError, match=field):
            DegradationSpec.from_dict({"task": "burst_sr", field: bad})


_DIGEST = """
import hashlib, sys
import numpy as np
from skimage import data
from benchdata.degradations import degrade
image = data.astronaut()[100:164, 150:230].astype(np.float64) / 255.0
spec = {spec!r}
result = degrade(image, spec, 11)
print(hashlib.sha256(np.ascontiguousarray(result.image).tobytes()).hexdigest())
"""


@pytest.mark.parametrize(
    "spec",
    [
        {"task": "jpeg", "quality": 15},
        {"task": "burst_sr", "frames": 6, "scale": 4, "sigma": 3, "max_shift": 12.0, "max_rotation": 1.0},
    ],
    ids=["jpeg", "burst_sr"],
)
def test_the_generator_is_bit_reproducible_in_a_fresh_interpreter(spec):
    here = hashlib.sha256(np.ascontiguousarray(degrade(IMAGE, spec, 11).image).tobytes()).hexdigest()
    digests = set()
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST.format(spec=spec)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert digests == {here}
    other_seed = degrade(IMAGE, spec, 12).image
    assert spec["task"] == "jpeg" or not np.array_equal(other_seed, degrade(IMAGE, spec, 11).image)
