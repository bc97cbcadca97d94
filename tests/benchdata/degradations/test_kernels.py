"""Blur kernels: normalisation, shape, determinism, file round trips."""

import math

import numpy as np
import pytest
from PIL import Image

from benchdata.degradations import gaussian_kernel, load_kernel, motion_kernel, save_kernel, validate_kernel


def test_gaussian_kernel_is_normalised_and_follows_the_closed_form():
    kernel = gaussian_kernel(7, 1.6)
    assert kernel.shape == (7, 7)
    assert abs(kernel.sum() - 1.0) < 1e-12
    ys, xs = np.mgrid[-3:4, -3:4]
    closed_form = np.exp(-(xs**2 + ys**2) / (2 * 1.6**2))
    assert np.allclose(kernel, closed_form / closed_form.sum(), rtol=1e-12)


@pytest.mark.parametrize(("size", "intensity"), [(3, 0.0), (15, 0.5), (31, 1.0)])
def test_motion_kernels_are_non_negative_normalised_and_centred(size, intensity):
    kernel = motion_kernel(size, np.random.default_rng(7), intensity=intensity)
    assert kernel.shape == (size, size)
    assert kernel.min() >= 0 and abs(kernel.sum() - 1.0) < 1e-12
    rows, cols = np.mgrid[0:size, 0:size]
    centroid = ((rows * kernel).sum(), (cols * kernel).sum())
    # The trajectory's centroid is put at the centre; bilinear splatting keeps it there.
    assert math.dist(centroid, (size // 2, size // 2)) < 1e-9


def test_motion_kernels_are_reproducible_per_seed_and_differ_between_seeds():
    first = motion_kernel(21, np.random.default_rng(3))
    assert np.array_equal(first, motion_kernel(21, np.random.default_rng(3)))
    assert not np.array_equal(first, motion_kernel(21, np.random.default_rng(4)))


def test_motion_kernel_with_zero_intensity_is_a_straight_line_through_the_centre():
    kernel = motion_kernel(21, np.random.default_rng(0), intensity=0.0)
    support = np.argwhere(kernel > 1e-3)
    # Points on one line: the support's covariance is (nearly) rank one.
    eigenvalues = np.linalg.eigvalsh(np.cov(support.T.astype(float)))
    assert eigenvalues[0] < 0.2 * eigenvalues[1]


def test_save_and_load_kernel_npy_is_exact_and_writes_a_png_preview(tmp_path):
    kernel = motion_kernel(15, np.random.default_rng(1))
    npy, preview = save_kernel(tmp_path / "k.npy", kernel)
    assert np.array_equal(load_kernel(npy), kernel)
    png = np.asarray(Image.open(preview))
    assert png.max() == 255 and png.shape == (15, 15)


def test_png_kernels_are_normalised_to_sum_one(tmp_path):
    Image.fromarray(np.array([[0, 50, 0], [50, 100, 50], [0, 50, 0]], dtype=np.uint8)).save(
        tmp_path / "k.png"
    )
    kernel = load_kernel(tmp_path / "k.png")
    assert np.allclose(kernel, np.array([[0, 1, 0], [1, 2, 1], [0, 1, 0]]) / 6)


def test_validate_kernel_names_the_problem():
    with pytest.raises(ValueError, match="sum to 0.5"):
        validate_kernel(np.full((1, 1), 0.5))
    with pytest.raises(ValueError, match="odd"):
        validate_kernel(np.full((2, 2), 0.25))
    with pytest.raises(ValueError, match="NaN"):
        validate_kernel(np.array([[np.nan]]))


def test_load_kernel_refuses_unknown_extensions_and_missing_files(tmp_path):
    (tmp_path / "k.txt").write_text("1")
    with pytest.raises(ValueError, match="unsupported extension"):
        load_kernel(tmp_path / "k.txt")
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        load_kernel(tmp_path / "nope.npy")
