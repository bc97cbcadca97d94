"""MATLAB-compatible bicubic imresize against hand-computed and independently computed values."""

import math

import numpy as np
import pytest

from benchdata.resize import bicubic_sr_protocol, cubic, imresize, modcrop


def _reference_cubic(x: float) -> float:
    x = abs(x)
    if x <= 1:
        return 1.5 * x**3 - 2.5 * x**2 + 1
    if x <= 2:
        return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
    return 0.0


def _mirror(j: int, n: int) -> int:
    """1-based symmetric mirror with the edge repeated, by repeated folding."""
    while j < 1 or j > n:
        j = 1 - j if j < 1 else 2 * n + 1 - j
    return j


def _reference_resize_1d(signal: list[float], scale: float) -> list[float]:
    """MATLAB's contributions() written out per output sample, scalar by scalar."""
    n = len(signal)
    out_len = math.ceil(round(n * scale, 9))
    width = 4 / scale if scale < 1 else 4
    out = []
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        weights, values = [], []
        for k in range(math.ceil(width) + 2):
            j = left + k
            d = u - j
            w = scale * _reference_cubic(scale * d) if scale < 1 else _reference_cubic(d)
            weights.append(w)
            values.append(signal[_mirror(j, n) - 1])
        total = sum(weights)
        out.append(sum(w / total * v for w, v in zip(weights, values, strict=True)))
    return out


def _reference_resize(image: np.ndarray, scale: float) -> np.ndarray:
    columns = np.array([_reference_resize_1d(list(col), scale) for col in image.T]).T  # height first
    return np.array([_reference_resize_1d(list(row), scale) for row in columns])


def test_cubic_kernel_values_match_keys_a_minus_half():
    assert cubic(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])).tolist() == [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0]


def test_conventions_check_case_4x4_to_3x3():
    out = imresize(np.arange(16, dtype=np.float64).reshape(4, 4), 0.75)
    expected = [[0.7506, 2.1004, 3.4503], [6.1501, 7.5, 8.8499], [11.5497, 12.8996, 14.2494]]
    assert np.allclose(out, expected, atol=5e-5)


def test_hand_computed_upscale_of_two_pixels_by_two():
    # Outputs sample u = x/2 + 0.25 = 0.75, 1.25, 1.75, 2.25. For u = 0.75 the non-zero taps are
    # j = -1, 0, 1, 2 at distances 1.75, 0.75, -0.25, -1.25 with cubic weights -0.0234375, 0.2265625,
    # 0.8671875, -0.0703125; mirroring sends j = -1 -> 2 and j = 0 -> 1, so y = 1.09375 a - 0.09375 b.
    # For u = 1.25: y = 0.796875 a + 0.203125 b; the last two follow by symmetry. With a = 0, b = 1:
    out = imresize(np.array([[0.0, 1.0]]), 2.0)
    assert out.tolist() == [[-0.09375, 0.203125, 0.796875, 1.09375]] * 2  # the 1-row axis just repeats


def test_hand_computed_antialiased_downscale_by_two():
    # Scale 1/2: kernel 0.5 cubic(0.5 d), width 8. Output 1 samples u = 1.5 with taps j = -2 .. 5 weighted
    # -0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875
    # (sum 1); mirrored onto [0, 1, 2, 3] they read values 2, 1, 0, 0, 1, 2, 3, 3, giving 0.4609375.
    out = imresize(np.array([[0.0], [1.0], [2.0], [3.0]]), 0.5)
    assert out.ravel().tolist() == [0.4609375, 3 - 0.4609375]


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 0.75, 2.0, 3.0, 4.0])
def test_imresize_matches_a_scalar_reference_implementation(scale):
    rng = np.random.default_rng(1)
    image = rng.random((13, 10)) * 255
    if scale < 1:
        image = rng.random((24, 12)) * 255
    assert np.allclose(imresize(image, scale), _reference_resize(image, scale), rtol=0, atol=1e-9)


def test_colour_images_resize_each_channel_like_gray():
    rng = np.random.default_rng(2)
    image = rng.random((12, 9, 3))
    out = imresize(image, 1 / 3)
    assert out.shape == (4, 3, 3)
    for channel in range(3):
        assert np.array_equal(out[..., channel], imresize(image[..., channel], 1 / 3))


def test_uint8_input_rounds_half_away_from_zero_and_clips():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    as_float = imresize(image.astype(np.float64), 2.0)
    out = imresize(image, 2.0)
    assert out.dtype == np.uint8
    # Below 0 both roundings end at 0 after clipping, so floor(x + 0.5) is an independent check here.
    expected = np.clip(np.floor(as_float + 0.5), 0, 255)
    assert np.array_equal(out, expected.astype(np.uint8))
    assert as_float.max() > 255 or as_float.min() < 0  # the bicubic overshoot really was clipped


def test_constant_images_stay_constant_at_every_scale():
    for scale in (1 / 4, 1 / 3, 1 / 2, 2.0, 3.0, 4.0):
        assert np.allclose(imresize(np.full((12, 12), 0.3), scale), 0.3, atol=1e-15)


def test_output_size_is_ceil_of_scale_times_size_even_for_thirds():
    assert imresize(np.zeros((510, 7)), 1 / 3).shape == (170, 3)
    assert imresize(np.zeros((3, 5)), 1 / 3).shape == (1, 2)


def test_modcrop_crops_bottom_and_right():
    image = np.arange(7 * 10).reshape(7, 10)
    assert np.array_equal(modcrop(image, 3), image[:6, :9])
    with pytest.raises(ValueError, match="smaller than the scale"):
        modcrop(np.zeros((2, 9)), 3)


def test_sr_protocol_chains_modcrop_downscale_and_upscale_in_uint8():
    rng = np.random.default_rng(4)
    hr = rng.integers(0, 256, (26, 31, 3), dtype=np.uint8)
    result = bicubic_sr_protocol(hr, 3)
    assert result.hr.shape == (24, 30, 3)
    assert np.array_equal(result.lr, imresize(hr[:24, :30], 1 / 3))
    assert np.array_equal(result.sr, imresize(result.lr, 3.0))
    assert result.sr.shape == result.hr.shape and result.sr.dtype == np.uint8


def test_sr_protocol_rejects_unsupported_scales():
    with pytest.raises(ValueError, match="scale must be one of"):
        bicubic_sr_protocol(np.zeros((8, 8), dtype=np.uint8), 5)


def test_imresize_rejects_bad_input():
    with pytest.raises(ValueError, match="scale must be a positive"):
        imresize(np.zeros((4, 4)), -1.0)
    with pytest.raises(ValueError, match="dtype"):
        imresize(np.zeros((4, 4), dtype=np.int32), 2.0)
    with pytest.raises(ValueError, match="shape"):
        imresize(np.zeros(4), 2.0)
