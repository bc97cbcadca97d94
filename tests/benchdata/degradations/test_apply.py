"""degrade(): the observation model per task, its statistics and its bit-exact reproducibility."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchdata.degradations import DegradationSpec, convolve, degrade, gaussian_kernel
from benchdata.resize import bicubic_sr_protocol, imresize

ROOT = Path(__file__).resolve().parents[3]

SPECS = [
    {"task": "denoise", "sigma": 25},
    {"task": "denoise", "sigma": 50, "clip": True, "quantize": True},
    {"task": "deblur", "sigma": 2, "kernel": {"type": "gaussian", "size": 9, "sigma": 1.5}},
    {"task": "deblur", "sigma": 1, "kernel": {"type": "motion", "size": 15}, "boundary": "wrap"},
    {"task": "sr", "scale": 3},
    {"task": "sr", "scale": 2, "model": "blur_decimate", "sigma": 5},
    {"task": "inpaint", "mask": {"type": "brush", "coverage": 0.2}},
    {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.3}, "sigma": 10, "fill": 0.5},
]


def _image(shape=(48, 40, 3), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.float64) / 255.0


def _digest(degraded) -> str:
    h = hashlib.sha256(degraded.image.tobytes())
    for extra in (degraded.kernel, degraded.mask):
        if extra is not None:
            h.update(extra.tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["task"])
def test_same_seed_gives_bit_identical_output_and_another_seed_does_not(spec):
    image = _image()
    assert _digest(degrade(image, spec, 7)) == _digest(degrade(image, spec, 7))
    if spec["task"] != "sr" or spec.get("sigma"):
        assert _digest(degrade(image, spec, 7)) != _digest(degrade(image, spec, 8))


def test_outputs_are_bit_identical_in_a_fresh_interpreter():
    """A separate process (different hash seed, fresh imports) reproduces every digest."""
    image = _image()
    here = [_digest(degrade(image, spec, 3)) for spec in SPECS]
    code = (
        "import json, sys, numpy as np, hashlib\n"
        "from benchdata.degradations import degrade\n"
        "specs = json.loads(sys.argv[1])\n"
        "image = np.random.default_rng(0).integers(0, 256, (48, 40, 3)).astype(np.float64) / 255.0\n"
        "out = []\n"
        "for spec in specs:\n"
        "    d = degrade(image, spec, 3)\n"
        "    h = hashlib.sha256(d.image.tobytes())\n"
        "    [h.update(e.tobytes()) for e in (d.kernel, d.mask) if e is not None]\n"
        "    out.append(h.hexdigest())\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(SPECS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(result.stdout) == here


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_denoise_noise_has_the_requested_std_and_zero_mean(sigma):
    image = np.full((256, 256), 0.5)
    residual = (degrade(image, {"task": "denoise", "sigma": sigma}, 0).image - image) * 255.0
    n = residual.size
    # Sample std of n Gaussian draws has relative standard error 1/sqrt(2n) (~0.3% here): allow 4 SE.
    assert abs(residual.std() / sigma - 1) < 4 / np.sqrt(2 * n)
    assert abs(residual.mean()) < 4 * sigma / np.sqrt(n)


def test_denoise_default_is_unclipped_float_noise_like_the_classic_tables():
    image = np.zeros((64, 64))
    noisy = degrade(image, {"task": "denoise", "sigma": 25}, 1).image
    assert noisy.min() < 0  # not clipped
    assert not np.allclose(noisy * 255, np.round(noisy * 255))  # not quantised


def test_colour_noise_is_independent_across_channels():
    image = np.full((128, 128, 3), 0.5)
    residual = degrade(image, {"task": "denoise", "sigma": 25}, 2).image - image
    correlation = np.corrcoef(residual.reshape(-1, 3).T)
    assert np.all(np.abs(correlation[np.triu_indices(3, 1)]) < 0.03)


def test_clip_and_quantize_put_values_on_the_8bit_grid_in_range():
    noisy = degrade(_image(), {"task": "denoise", "sigma": 50, "clip": True, "quantize": True}, 3).image
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert np.array_equal(noisy * 255, np.round(noisy * 255))


def test_deblur_without_noise_is_the_convolution_with_the_returned_kernel():
    image = _image()
    spec = {"task": "deblur", "kernel": {"type": "motion", "size": 11}, "boundary": "edge"}
    result = degrade(image, spec, 4)
    assert result.kernel.shape == (11, 11) and abs(result.kernel.sum() - 1) < 1e-12
    assert np.allclose(result.image, convolve(image, result.kernel, "edge"), atol=1e-15)


def test_deblur_gaussian_matches_the_full_2d_kernel_and_adds_noise():
    image = _image(seed=5)
    spec = {"task": "deblur", "kernel": {"type": "gaussian", "size": 7, "sigma": 1.2}}
    blurred = convolve(image, gaussian_kernel(7, 1.2), "symmetric")
    assert np.allclose(degrade(image, spec, 0).image, blurred, atol=1e-14)
    noisy = degrade(image, {**spec, "sigma": 10}, 0).image
    assert abs((noisy - blurred).std() * 255 / 10 - 1) < 0.05


def test_deblur_kernel_and_noise_streams_are_independent():
    image = _image()
    gaussian = degrade(
        image, {"task": "deblur", "sigma": 5, "kernel": {"type": "gaussian", "size": 5, "sigma": 1}}, 9
    )
    motion = degrade(image, {"task": "deblur", "sigma": 5, "kernel": {"type": "motion", "size": 5}}, 9)
    noise_a = gaussian.image - convolve(image, gaussian.kernel)
    noise_b = motion.image - convolve(image, motion.kernel)
    assert np.allclose(noise_a, noise_b, atol=1e-12)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sr_bicubic_equals_the_uint8_protocol_lr_bit_for_bit(scale):
    image = _image((50, 43, 3), seed=scale)
    result = degrade(image, {"task": "sr", "scale": scale}, 0)
    protocol = bicubic_sr_protocol(np.round(image * 255).astype(np.uint8), scale)
    assert np.array_equal(result.image * 255, protocol.lr.astype(np.float64))
    assert np.array_equal(result.ground_truth * 255, protocol.hr.astype(np.float64))


def test_sr_unquantised_is_the_float_resize():
    image = _image((24, 24))
    result = degrade(image, {"task": "sr", "scale": 4, "clip": False, "quantize": False}, 0)
    assert np.allclose(result.image, imresize(image, 0.25), atol=1e-14)


def test_sr_blur_decimate_keeps_block_centres_of_the_blurred_image():
    image = _image((30, 27))
    spec = {"task": "sr", "scale": 3, "model": "blur_decimate", "clip": False, "quantize": False}
    result = degrade(image, spec, 0)
    blurred = convolve(image, gaussian_kernel(7, 1.6))
    assert result.image.shape == (10, 9)
    assert np.allclose(result.image, blurred[1::3, 1::3], atol=1e-14)
    assert np.allclose(result.kernel, gaussian_kernel(7, 1.6))


def test_inpaint_fills_missing_pixels_and_keeps_the_rest():
    image = _image()
    result = degrade(image, {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.4}, "fill": 0.25}, 1)
    assert result.mask.shape == image.shape[:2]
    assert np.all(result.image[result.mask] == 0.25)
    assert np.array_equal(result.image[~result.mask], image[~result.mask])
    assert result.mask.sum() == round(0.4 * 48 * 40)


def test_inpaint_mask_from_file_must_match_the_image(tmp_path):
    from benchdata.image_files import write_mask

    mask = np.zeros((48, 40), dtype=bool)
    mask[10:20, 5:9] = True
    write_mask(tmp_path / "m.png", mask)
    spec = {"task": "inpaint", "mask": {"type": "file", "path": str(tmp_path / "m.png")}}
    assert np.array_equal(degrade(_image(), spec, 0).mask, mask)
    with pytest.raises(ValueError, match="m.png is \\(48, 40\\), the image is \\(30, 30\\)"):
        degrade(_image((30, 30)), spec, 0)


def test_degrade_rejects_bad_images_and_seeds():
    spec = DegradationSpec.from_dict({"task": "denoise", "sigma": 5})
    with pytest.raises(ValueError, match=r"values must be in \[0, 1\], got range"):
        degrade(np.full((4, 4), 2.0), spec, 0)
    with pytest.raises(ValueError, match="shape"):
        degrade(np.zeros((4, 4, 4)), spec, 0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        degrade(np.zeros((4, 4)), spec, -1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        degrade(np.zeros((4, 4)), spec, 1.5)
