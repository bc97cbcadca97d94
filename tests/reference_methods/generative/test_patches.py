"""Patch grid and blending, the degradation operators, the colour split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchdata.resize import imresize
from reference_methods.generative.patches import (
    BicubicDownsampling,
    Masking,
    PatchGrid,
    bicubic_matrix,
    rgb_to_ycbcr,
    sine_window,
    ycbcr_to_rgb,
)


@pytest.mark.parametrize("shape", [(16, 16), (37, 23), (5, 9), (40, 17)])
def test_blending_the_patches_of_an_image_gives_the_image_back(shape: tuple[int, int]) -> None:
    image = torch.rand(shape, dtype=torch.float64)
    grid = PatchGrid(shape[0], shape[1], size=8, stride=3)
    patches = grid.extract(image)
    assert patches.shape == (grid.count, 1, 8, 8)
    assert grid.padded_h >= shape[0] and (grid.padded_h - 8) % 3 == 0
    assert torch.allclose(grid.blend(patches), image, atol=1e-12)


def test_patches_are_the_image_windows_in_row_major_grid_order() -> None:
    image = torch.arange(20 * 20, dtype=torch.float64).view(20, 20)
    grid = PatchGrid(20, 20, size=8, stride=4)
    patches = grid.extract(image)
    assert grid.rows == grid.cols == 4
    assert torch.equal(patches[5, 0], image[4:12, 4:12])  # row 1, column 1


def test_blend_is_the_window_weighted_mean_of_overlapping_patches() -> None:
    grid = PatchGrid(8, 12, size=8, stride=4)  # two patches side by side, overlapping in columns 4..7
    a, b = torch.zeros(1, 1, 8, 8, dtype=torch.float64), torch.ones(1, 1, 8, 8, dtype=torch.float64)
    out = grid.blend(torch.cat([a, b]))
    w = sine_window(8)[0]
    # Column 5 is column 5 of patch a and column 1 of patch b.
    expected = w[1] / (w[5] + w[1])
    assert torch.allclose(out[:, 5], expected.expand(8))
    assert torch.all(out[:, :4] == 0) and torch.all(out[:, 8:] == 1)


def test_grid_rejects_a_stride_larger_than_the_patch() -> None:
    with pytest.raises(ValueError, match="stride"):
        PatchGrid(10, 10, size=4, stride=5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_downsampling_operator_equals_matlab_imresize(scale: int) -> None:
    rng = np.random.default_rng(scale)
    hr = rng.random((6 * scale, 5 * scale))
    lr = imresize(hr, 1.0 / scale)
    op = BicubicDownsampling(torch.zeros(lr.shape, dtype=torch.float64), scale)
    assert np.allclose(op.apply(torch.from_numpy(hr)).numpy(), lr, atol=1e-12)
    assert torch.allclose(bicubic_matrix(6 * scale, scale).sum(1), torch.ones(6, dtype=torch.float64))


def test_masking_residual_counts_only_known_pixels() -> None:
    observed = torch.ones(3, 4)
    mask = np.zeros((3, 4), bool)
    mask[1, 2] = True
    op = Masking(observed, mask)
    r = op.residual(torch.zeros(3, 4))
    assert op.count == 11 and float(r[1, 2]) == 0 and float(r.sum()) == -11


def test_ycbcr_matches_bt601_and_round_trips() -> None:
    white = rgb_to_ycbcr(np.ones((1, 1, 3)))[0, 0] * 255
    assert np.allclose(white, [235.0, 128.0, 128.0], atol=1e-3)
    rgb = np.random.default_rng(0).random((4, 5, 3))
    assert np.allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-12)
