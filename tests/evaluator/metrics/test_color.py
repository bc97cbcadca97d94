"""BT.601 luma (MATLAB rgb2ycbcr) and border shaving."""

import pytest
import torch

from evaluator.metrics.color import rgb_to_bt601_luma, shave_border


def test_luma_follows_the_bt601_studio_swing_formula():
    rgb = torch.tensor(
        [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.2, 0.5, 0.9]], dtype=torch.float64
    )
    x = rgb.T.reshape(1, 3, 1, 4)
    y255 = rgb_to_bt601_luma(x).flatten() * 255
    expected = [16 + 65.481 * r + 128.553 * g + 24.966 * b for r, g, b in rgb.tolist()]
    assert y255.tolist() == pytest.approx(expected, abs=1e-12)
    assert y255[0].item() == pytest.approx(16.0) and y255[1].item() == pytest.approx(235.0)


def test_luma_is_219_over_255_of_full_range_yiq_plus_offset():
    # the source of pyiqa's 1.32 dB: BT.601 Y = (16 + 219·Y_full)/255 with Y_full = 0.299R + 0.587G + 0.114B
    x = torch.rand(1, 3, 5, 5, dtype=torch.float64)
    full = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(rgb_to_bt601_luma(x)[:, 0] * 255, 16 + 219 * full, atol=2e-3)


def test_gray_input_is_its_own_luma():
    x = torch.rand(2, 1, 3, 3, dtype=torch.float64)
    assert rgb_to_bt601_luma(x) is x


def test_shave_removes_pixels_from_every_border():
    x = torch.arange(7 * 9).reshape(1, 1, 7, 9)
    out = shave_border(x, 2)
    assert out.shape == (1, 1, 3, 5)
    assert torch.equal(out, x[..., 2:5, 2:7])
    assert shave_border(x, 0) is x


def test_shaving_more_than_the_image_is_refused():
    with pytest.raises(ValueError, match="cannot shave 4 px .* 8×8"):
        shave_border(torch.zeros(1, 1, 8, 8), 4)


def test_luma_refuses_two_channels():
    with pytest.raises(ValueError, match="shape"):
        rgb_to_bt601_luma(torch.zeros(1, 2, 3, 3))
