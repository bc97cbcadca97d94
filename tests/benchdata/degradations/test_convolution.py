"""Direct convolution against scipy.ndimage (an independent implementation) for every boundary mode."""

import numpy as np
import pytest
from scipy import ndimage

from benchdata.degradations import BOUNDARY_MODES, convolve
from benchdata.degradations.convolution import convolve_separable

# numpy.pad names -> scipy.ndimage names for the same extension.
SCIPY_MODE = {"symmetric": "reflect", "reflect": "mirror", "edge": "nearest", "wrap": "wrap"}


@pytest.mark.parametrize("boundary", BOUNDARY_MODES)
def test_convolve_matches_scipy_ndimage_convolve(boundary):
    rng = np.random.default_rng(0)
    image = rng.random((17, 23))
    kernel = rng.random((5, 7))
    kernel /= kernel.sum()
    expected = ndimage.convolve(image, kernel, mode=SCIPY_MODE[boundary])
    assert np.allclose(convolve(image, kernel, boundary), expected, rtol=0, atol=1e-12)


def test_convolve_is_a_true_convolution_not_a_correlation():
    image = np.zeros((7, 7))
    image[3, 3] = 1.0
    kernel = np.zeros((3, 3))
    kernel[0, 2] = 1.0  # up-right tap
    out = convolve(image, kernel)
    # A true convolution places the impulse response as the kernel itself around the impulse.
    assert out[2, 4] == 1.0 and out.sum() == 1.0


def test_colour_channels_are_convolved_independently():
    rng = np.random.default_rng(1)
    image = rng.random((9, 8, 3))
    kernel = np.full((3, 3), 1 / 9)
    out = convolve(image, kernel, "edge")
    for c in range(3):
        assert np.array_equal(out[..., c], convolve(image[..., c], kernel, "edge"))


def test_separable_convolution_equals_the_full_outer_product_kernel():
    rng = np.random.default_rng(2)
    image = rng.random((15, 12))
    col, row = rng.random(5), rng.random(3)
    full = convolve(image, np.outer(col, row), "symmetric")
    assert np.allclose(convolve_separable(image, col, row, "symmetric"), full, atol=1e-14)


def test_convolve_rejects_even_kernels_and_unknown_modes():
    with pytest.raises(ValueError, match="odd"):
        convolve(np.zeros((5, 5)), np.ones((2, 3)) / 6)
    with pytest.raises(ValueError, match="unknown boundary mode 'zeros'"):
        convolve(np.zeros((5, 5)), np.ones((3, 3)) / 9, "zeros")
