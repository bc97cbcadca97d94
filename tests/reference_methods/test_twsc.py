"""TWSC: the noise-level estimator, the closed form and the ADMM solver of the weighted sparse coding,
and channel-dependent noise, where weighting each channel by its own noise beats one σ for all."""

from __future__ import annotations

import numpy as np
import pytest

from reference_methods.registry import RestorationContext, restore
from reference_methods.twsc import estimate_noise_level, sparse_code

from .conftest import rgb_image
from .piecewise import piecewise_smooth, psnr


@pytest.mark.parametrize("sigma", [2, 5, 15, 30])
def test_the_pca_noise_estimate_recovers_white_noise_on_a_smooth_image(sigma):
    y, x = np.mgrid[0:96, 0:96] / 96
    clean = 0.4 + 0.2 * x + 0.1 * np.sin(6 * y)
    noisy = clean + sigma / 255 * np.random.default_rng(sigma).standard_normal(clean.shape)
    assert estimate_noise_level(noisy) * 255 == pytest.approx(sigma, rel=0.03)


def test_edges_bias_the_noise_estimate_upwards_only_a_little():
    # Chen et al.'s estimator discards the eigen-directions that hold structure; strong edges leak a
    # little into the rest, so on a piecewise image the estimate is high, and more so at low noise.
    clean = piecewise_smooth(96)
    for sigma, bound in ((5, 1.3), (15, 1.1)):
        noisy = clean + sigma / 255 * np.random.default_rng(sigma).standard_normal(clean.shape)
        assert sigma <= estimate_noise_level(noisy) * 255 <= bound * sigma


def _weighted_objective(y, dc_fn, sigma_cols, row_weights, inv_w3, dic):
    coef = np.swapaxes(dic, 1, 2) @ dc_fn
    data = 0.5 * (((row_weights[None, :, None] * (y - dc_fn)) / sigma_cols[:, None, :]) ** 2).sum()
    return data + (np.abs(coef) / inv_w3[:, :, None]).sum()


def test_with_equal_channels_the_code_is_soft_thresholding_by_sigma_squared_over_s():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((12, 12)))[0][:, :3]
    y = (basis @ rng.standard_normal((3, 40)) * 2.0)[None] + 0.1 * rng.standard_normal((1, 12, 40))
    y -= y.mean(axis=2, keepdims=True)
    sig = np.full((1, 40), 0.1)
    out = sparse_code(y, sig, sig[:, 0], np.ones(12), 10)
    u, s, _ = np.linalg.svd(y[0], full_matrices=False)
    clean = np.sqrt(np.maximum(s**2 - 40 * 0.01, 0.0))
    b = u.T @ y[0]
    t = 0.01 / (clean + np.finfo(float).eps)
    expected = u @ (np.sign(b) * np.maximum(np.abs(b) - t[:, None], 0.0))
    assert np.allclose(out[0], expected, atol=1e-10)


def test_the_admm_solution_lowers_the_channel_weighted_objective():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((3, 12, 30))
    y -= y.mean(axis=2, keepdims=True)
    sig = np.full((3, 30), 0.5)
    weights = np.repeat([0.5, 1.0, 2.0], 4)  # three "channels" of 4 rows with different noise
    dic = np.linalg.svd(y, full_matrices=False)[0]
    s = np.linalg.svd(y, compute_uv=False)
    inv_w3 = (
        np.sqrt(np.maximum(s**2 - 30 * 0.25 * ((dic**2) / weights[None, :, None] ** 2).sum(1), 0)) + 1e-16
    )
    admm = sparse_code(y, sig, sig[:, 0], weights, 10)
    unweighted = sparse_code(y, sig, sig[:, 0], np.ones(12), 10)
    f_admm = _weighted_objective(y, admm, sig, weights, inv_w3, dic)
    f_plain = _weighted_objective(y, unweighted, sig, weights, inv_w3, dic)
    assert f_admm < f_plain


def _channel_noise_case():
    clean = rgb_image(40)
    sigmas = np.array([40.0, 8.0, 20.0]) / 255
    noisy = clean + sigmas * np.random.default_rng(5).standard_normal(clean.shape)
    return clean, noisy


def test_channel_weights_beat_one_sigma_for_all_channels_on_channel_dependent_noise():
    clean, noisy = _channel_noise_case()
    context = RestorationContext("enhance")  # no σ disclosed: each channel's level is estimated
    weighted = psnr(restore("twsc", noisy, context), clean)
    single = psnr(restore("twsc", noisy, context.replace(params={"channel_weights": False})), clean)
    assert weighted - psnr(noisy, clean) >= 3.0
    assert weighted >= single + 0.3, (weighted, single)


def test_on_gray_awgn_it_gains_as_a_nonlocal_denoiser_should():
    clean = piecewise_smooth(48)
    noisy = clean + 25 / 255 * np.random.default_rng(2).standard_normal(clean.shape)
    restored = restore("twsc", noisy, RestorationContext("denoise", sigma=25))
    assert psnr(restored, clean) - psnr(noisy, clean) >= 8.0
