"""Second-generation bandlets: orthogonal Haar, exact reconstruction, warping makes an edge sparse,
the geometry follows the edge, and bandlet thresholding beats plain wavelet thresholding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference_methods.bandlet import (
    bandlet_denoise,
    bandlet_threshold_band,
    haar,
    inverse_haar,
    warp_order,
)

from .piecewise import piecewise_smooth, psnr


def test_haar_is_orthonormal_and_inverts_exactly():
    x = np.random.default_rng(0).standard_normal((5, 64))
    c = haar(x)
    assert np.allclose((c**2).sum(axis=1), (x**2).sum(axis=1), rtol=1e-12)
    assert np.allclose(inverse_haar(c), x, atol=1e-12)
    assert np.allclose(haar(np.eye(8)) @ haar(np.eye(8)).T, np.eye(8), atol=1e-12)


def test_zero_threshold_reconstructs_the_image_exactly():
    image = np.random.default_rng(1).random((50, 37))
    assert np.allclose(bandlet_denoise(image, 0.1, 0.0), image, atol=1e-10)
    band = np.random.default_rng(2).standard_normal((32, 32))
    assert np.allclose(bandlet_threshold_band(band, 0.0, 8, 1.0, 4, 16), band, atol=1e-12)


@pytest.mark.parametrize("angle", [math.pi / 8, math.pi / 3, 3 * math.pi / 4])
def test_an_edge_along_the_flow_is_sparse_once_warped(angle):
    w = 16
    y, x = np.divmod(np.arange(w * w), w)
    c = (w - 1) / 2  # an edge through (near) the square's centre
    edge = (-math.sin(angle) * (x - c) + math.cos(angle) * (y - c) > 0.3).astype(float)
    warped = haar(edge[warp_order(w, angle)])
    # the sorted sequence is 0…0 1…1: at most one Haar coefficient per scale (log2 256 = 8) + mean
    assert np.count_nonzero(np.abs(warped) > 1e-9) <= 9
    plain = haar(edge)  # the same Haar transform in raster order
    assert np.count_nonzero(np.abs(plain) > 1e-9) > 20


def test_thresholding_in_the_best_geometry_beats_plain_wavelets_on_straight_edges():
    clean = piecewise_smooth(64)
    for sigma in (15, 25):
        noisy = clean + sigma / 255 * np.random.default_rng(sigma).standard_normal(clean.shape)
        bandlets = psnr(bandlet_denoise(noisy, sigma / 255, 3.0), clean)
        wavelets = psnr(bandlet_denoise(noisy, sigma / 255, 3.0, cost=1e12), clean)  # no geometry ever pays
        assert bandlets - psnr(noisy, clean) >= 7.0
        assert bandlets >= wavelets + 0.15, (sigma, bandlets, wavelets)
