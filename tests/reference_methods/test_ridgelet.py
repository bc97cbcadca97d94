"""The finite ridgelet transform: FRAT against its definition, orthonormality, exact inversion,
sparsity of discrete lines, and local-ridgelet denoising of a straight-edged image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.fft import dctn

from reference_methods.registry import MethodError, RestorationContext, restore
from reference_methods.ridgelet import frat, frit, inverse_frit, is_prime, ridgelet_denoise, unbalanced_haar

from .piecewise import piecewise_smooth, psnr


def test_frat_sums_each_finite_line_as_the_paper_defines():
    p = 5
    f = np.random.default_rng(0).standard_normal((1, p, p))
    expected = np.zeros((p + 1, p))
    for k in range(p + 1):
        for l_ in range(p):
            if k < p:  # L_{k,l} = {(i, j): j = k·i + l mod p}
                expected[k, l_] = sum(f[0, i, (k * i + l_) % p] for i in range(p))
            else:  # L_{p,l} = {(l, j)}
                expected[k, l_] = f[0, l_, :].sum()
    assert np.allclose(frat(f)[0], expected / math.sqrt(p), atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 7, 17, 31])
def test_unbalanced_haar_is_an_orthonormal_basis_led_by_the_constant(n):
    basis = unbalanced_haar(n)
    assert basis.shape == (n, n)
    assert np.allclose(basis @ basis.T, np.eye(n), atol=1e-12)
    assert np.allclose(basis[0], 1.0 / math.sqrt(n))


@pytest.mark.parametrize("p", [5, 7, 17, 31])
def test_frit_is_orthonormal_and_inverts_exactly(p):
    blocks = np.random.default_rng(p).standard_normal((4, p, p)) + 3.0
    mean, details = frit(blocks)
    assert details.shape == (4, p + 1, p - 1)  # 1 + (p+1)(p-1) = p² coefficients per block
    energy = mean**2 + (details**2).sum(axis=(1, 2))
    assert np.allclose(energy, (blocks**2).sum(axis=(1, 2)), rtol=1e-12)
    assert np.allclose(inverse_frit(mean, details), blocks, atol=1e-12)


def test_a_discrete_line_is_sparse_in_the_frit_and_not_in_the_dct():
    p = 17
    line = np.zeros((1, p, p))
    i = np.arange(p)
    line[0, i, (3 * i + 5) % p] = 1.0  # the line L_{3,5}
    mean, details = frit(line)
    big = np.sort(np.abs(details).ravel())[::-1]
    total = mean[0] ** 2 + float((details**2).sum())
    assert mean[0] ** 2 + float((big[:5] ** 2).sum()) >= 0.9999 * total  # 5 coefficients + the mean
    dct = np.sort((dctn(line[0], norm="ortho") ** 2).ravel())[::-1]
    assert np.searchsorted(np.cumsum(dct), 0.99 * dct.sum()) > 50  # the DCT needs dozens


def test_ridgelet_denoising_gains_over_five_db_on_a_straight_edged_image():
    clean = piecewise_smooth(64)
    for sigma, gain in ((15, 5.0), (25, 6.5)):
        noisy = clean + sigma / 255 * np.random.default_rng(sigma).standard_normal(clean.shape)
        restored = ridgelet_denoise(noisy, sigma / 255, 2.75, 17, 4)
        assert psnr(restored, clean) - psnr(noisy, clean) >= gain, sigma


def test_zero_threshold_gives_back_the_image():
    image = np.random.default_rng(3).random((40, 45))
    assert np.allclose(ridgelet_denoise(image, 0.1, 0.0, 7, 3), image, atol=1e-12)


def test_the_method_refuses_a_block_size_that_is_not_prime():
    assert is_prime(17) and not is_prime(16)
    image = piecewise_smooth(48)
    with pytest.raises(MethodError, match="prime"):
        restore("ridgelet", image, RestorationContext("denoise", sigma=25, params={"block": 16}))
