"""The jpeg and burst_sr reference methods, against independent references: Pillow's own quantisation
tables, the generator's known motions, and the single-frame floor."""

import io
import math

import numpy as np
import pytest
from PIL import Image
from skimage import data

from benchdata.degradations import degrade
from benchdata.degradations.jpeg import jpeg_bytes
from benchdata.resize import imresize
from reference_methods.deblocking import project_luma, quantisation_table
from reference_methods.multiframe import register_burst
from reference_methods.registry import MethodError, RestorationContext, context_from_spec, restore

CAMERA = data.camera()[100:228, 100:228].astype(np.float64) / 255.0


def _psnr(estimate, truth):
    return 10 * math.log10(1 / float(np.mean((np.clip(estimate, 0, 1) - truth) ** 2)))


@pytest.mark.parametrize("quality", [5, 10, 50, 75, 95])
def test_the_quantisation_table_is_the_one_pillow_writes(quality):
    with Image.open(io.BytesIO(jpeg_bytes(CAMERA, quality))) as im:
        written = np.array(im.quantization[0], dtype=np.float64)
    ours = quantisation_table(quality)
    # Pillow reports the table in natural or zigzag order depending on the version; the multiset and
    # the DC step agree either way, and the natural order matches exactly where Pillow uses it.
    assert sorted(written) == sorted(ours.ravel())
    assert written[0] == ours[0, 0]


def test_the_decoded_jpeg_lies_in_its_own_constraint_set():
    decoded = degrade(CAMERA, {"task": "jpeg", "quality": 20}, 0).image
    projected = project_luma(decoded, decoded, quantisation_table(20))
    assert np.allclose(projected, decoded, atol=1e-12)
    smooth = np.full_like(decoded, decoded.mean())
    moved = project_luma(smooth, decoded, quantisation_table(20))
    assert np.abs(moved - decoded).max() < np.abs(smooth - decoded).max()


@pytest.mark.parametrize("quality", [10, 30])
def test_tv_deblocking_beats_the_decoded_jpeg(quality):
    spec = {"task": "jpeg", "quality": quality}
    result = degrade(CAMERA, spec, 0)
    restored = restore("tv_deblock", result.image, context_from_spec(spec["task"], spec))
    assert _psnr(restored, CAMERA) > _psnr(result.image, CAMERA) + 0.3


def test_jpeg_methods_need_the_quality():
    result = degrade(CAMERA, {"task": "jpeg", "quality": 10}, 0)
    with pytest.raises(MethodError, match="every jpeg track discloses the quality"):
        restore("tv_deblock", result.image, RestorationContext(task="jpeg"))


def test_registration_recovers_the_generators_shifts():
    from benchdata.degradations.burst import make_burst

    frames, _, motions = make_burst(
        CAMERA, frames=6, scale=4, sigma=1.0, max_shift=12.0, max_rotation=0.0,
        motion_rng=np.random.default_rng(1), noise_rng=np.random.default_rng(2),
    )  # fmt: skip
    estimated = register_burst(frames, 4)
    for (dy, dx), motion in zip(estimated, motions, strict=True):
        assert abs(dy + motion.dy) < 0.5 and abs(dx + motion.dx) < 0.5


def test_burst_bicubic_is_the_bicubic_upscaling_of_the_reference_frame():
    spec = {"task": "burst_sr", "frames": 3, "scale": 4, "sigma": 2}
    frames = degrade(CAMERA, spec, 4).image
    restored = restore("burst_bicubic", frames, context_from_spec(spec["task"], spec))
    assert np.array_equal(restored, np.clip(imresize(frames[0], 4.0), 0, 1))


def test_shift_and_add_beats_the_single_frame_floor():
    spec = {"task": "burst_sr", "frames": 8, "scale": 4, "sigma": 2, "max_shift": 16.0}
    result = degrade(CAMERA, spec, 4)
    fused = restore("shift_and_add", result.image, context_from_spec(spec["task"], spec))
    single = restore("burst_bicubic", result.image, context_from_spec(spec["task"], spec))
    assert fused.shape == result.ground_truth.shape
    assert _psnr(fused, result.ground_truth) > _psnr(single, result.ground_truth) + 0.5


def test_a_burst_method_refuses_a_single_image():
    with pytest.raises(MethodError, match=r"expected a stack of frames \(N, H, W\)"):
        restore("burst_bicubic", CAMERA[0], RestorationContext(task="burst_sr", scale=4))


def test_blind_deblurring_refuses_methods_that_need_the_kernel_and_takes_identity():
    spec = {"task": "deblur", "sigma": 2, "kernel": {"type": "gaussian", "size": 9, "sigma": 1.6}}
    result = degrade(CAMERA, spec, 0)
    blind = context_from_spec(spec["task"], spec)  # no kernel: the track keeps it hidden
    assert blind.kernel is None and blind.sigma == 2
    with pytest.raises(MethodError, match="'wiener' needs the kernel, which this deblur track does not"):
        restore("wiener", result.image, blind)
    assert np.array_equal(restore("identity", result.image, blind), np.clip(result.image, 0, 1))
