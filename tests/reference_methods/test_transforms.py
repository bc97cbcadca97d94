"""Transform-domain baselines against independent computations and scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt
from skimage.restoration import denoise_wavelet
from skimage.restoration import wiener as skimage_wiener

from benchdata.degradations.convolution import convolve
from benchdata.degradations.kernels import gaussian_kernel
from reference_methods.registry import MethodError, RestorationContext, restore
from reference_methods.transforms import (
    butterworth_lowpass,
    curvelet_denoise,
    kernel_transfer,
    mirror_extend,
    regulariser_transfer,
    wavelet_shrink,
    wiener_deconvolve,
)


def circular_convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Direct periodic convolution with the kernel centred at (h//2, w//2)."""
    kh, kw = kernel.shape
    out = np.zeros_like(image)
    for a in range(kh):
        for b in range(kw):
            out += kernel[a, b] * np.roll(image, (a - kh // 2, b - kw // 2), axis=(0, 1))
    return out


# --- helpers ----------------------------------------------------------------------------------


def test_kernel_transfer_is_the_dft_of_periodic_convolution():
    rng = np.random.default_rng(0)
    image = rng.random((20, 22))
    kernel = rng.random((5, 3))
    kernel /= kernel.sum()
    via_fft = np.fft.irfft2(kernel_transfer(kernel, image.shape) * np.fft.rfft2(image), s=image.shape)
    assert np.allclose(via_fft, circular_convolve(image, kernel), atol=1e-12)


def test_mirror_extension_is_even_and_periodic():
    x = np.arange(12.0).reshape(3, 4)
    ext = mirror_extend(x)
    assert ext.shape == (6, 8)
    assert np.array_equal(ext[:3, :4], x)
    assert np.array_equal(ext[:3, 4:], x[:, ::-1])
    assert np.array_equal(ext[3:], ext[:3][::-1])


def test_regulariser_transfer_of_the_laplacian_is_its_dft_squared():
    lap = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=float)
    padded = np.zeros((16, 18))
    padded[:3, :3] = lap
    dft = np.fft.rfft2(np.roll(padded, (-1, -1), axis=(0, 1)))
    assert np.allclose(regulariser_transfer("laplacian", (16, 18)), np.abs(dft) ** 2, atol=1e-12)


# --- Wiener -----------------------------------------------------------------------------------


def test_wiener_periodic_matches_scikit_image(gray):
    kernel = gaussian_kernel(7, 1.5)
    blurred = circular_convolve(gray, kernel)
    ours = wiener_deconvolve(blurred, kernel, balance=0.01, regulariser="laplacian", boundary="periodic")
    theirs = skimage_wiener(blurred, kernel, balance=0.01, clip=False)
    assert np.max(np.abs(ours - theirs)) < 1e-10


def test_wiener_inverts_noise_free_periodic_blur():
    rng = np.random.default_rng(1)
    image = rng.random((24, 26))
    kernel = gaussian_kernel(5, 0.7)  # transfer function bounded away from zero
    restored = wiener_deconvolve(circular_convolve(image, kernel), kernel, 0.0, "identity", "periodic")
    assert np.allclose(restored, image, atol=1e-9)


def test_wiener_on_the_mirror_extension_inverts_symmetric_boundary_blur():
    # benchdata blurs with symmetric boundaries; for a centrally symmetric kernel that is exactly
    # periodic convolution of the mirror extension, so no ringing comes from the border.
    rng = np.random.default_rng(2)
    image = rng.random((24, 26))
    kernel = gaussian_kernel(5, 0.7)
    blurred = convolve(image, kernel, boundary="symmetric")
    sym = wiener_deconvolve(blurred, kernel, 0.0, "identity", "symmetric")
    periodic = wiener_deconvolve(blurred, kernel, 0.0, "identity", "periodic")
    assert np.allclose(sym, image, atol=1e-9)
    assert np.max(np.abs(periodic - image)) > 1e-3


def test_wiener_restores_a_blurred_noisy_image(gray, psnr, degraded_for):
    degraded = degraded_for("deblur", gray)
    restored = restore(
        "wiener", degraded.image, RestorationContext("deblur", sigma=2, kernel=degraded.kernel)
    )
    assert psnr(restored, gray) > psnr(degraded.image, gray) + 1.0


@pytest.mark.parametrize(
    ("params", "message"),
    [({"balance": -1.0}, "balance must be >= 0"), ({"regulariser": "tv"}, "regulariser must be one of")],
)
def test_wiener_rejects_bad_parameters(params, message):
    kernel = gaussian_kernel(3, 1.0)
    with pytest.raises(MethodError, match=message):
        restore("wiener", np.zeros((16, 16)), RestorationContext("deblur", kernel=kernel, params=params))


# --- Fourier low-pass -------------------------------------------------------------------------


def test_butterworth_attenuates_a_grid_sinusoid_by_its_gain():
    n = 64
    for k in (0, 4, 13):
        wave = np.cos(2 * np.pi * k * np.arange(n) / n)[None, :] * np.ones((n, 1))
        out = butterworth_lowpass(wave, cutoff=0.15, order=2, boundary="periodic")
        gain = 1.0 / (1.0 + ((k / n) / 0.15) ** 4)
        assert np.allclose(out, gain * wave, atol=1e-12)


def test_butterworth_keeps_constants_on_the_mirror_extension():
    assert np.allclose(butterworth_lowpass(np.full((10, 13, 3), 0.3), 0.1), 0.3)


# --- wavelet shrinkage ------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["visushrink", "bayesshrink"])
@pytest.mark.parametrize("wavelet", ["db1", "db8", "sym4"])
def test_wavelet_shrinkage_matches_scikit_image(gray, rule, wavelet):
    rng = np.random.default_rng(3)
    noisy = gray + 0.1 * rng.standard_normal(gray.shape)
    ours = wavelet_shrink(noisy, 0.1, rule, wavelet=wavelet, levels=None, mode="soft")
    method = "VisuShrink" if rule == "visushrink" else "BayesShrink"
    theirs = denoise_wavelet(
        noisy, sigma=0.1, wavelet=wavelet, mode="soft", method=method, rescale_sigma=False
    )
    assert np.max(np.abs(ours - theirs)) < 1e-10


def test_bayesshrink_threshold_follows_the_papers_formula():
    rng = np.random.default_rng(4)
    sigma, sigma_x = 0.1, 0.3
    band = sigma_x * rng.laplace(size=(64, 64)) / math.sqrt(2) + sigma * rng.standard_normal((64, 64))
    coeffs = [np.zeros((64, 64)), (band, band, band)]
    image = pywt.waverec2(coeffs, "db1")
    out = wavelet_shrink(image, sigma, "bayesshrink", wavelet="db1", levels=1)
    detail = pywt.wavedec2(out, "db1", level=1)[1][0]
    tau = sigma**2 / math.sqrt(np.mean(band**2) - sigma**2)
    assert np.allclose(detail, pywt.threshold(band, tau, "soft"), atol=1e-12)


def test_wavelet_scale_zero_thresholds_give_back_the_input(gray):
    out = wavelet_shrink(gray, 0.1, "visushrink", wavelet="db8", scale=1e-12)
    assert np.allclose(out, gray, atol=1e-9)


def test_wavelet_rejects_an_unknown_wavelet():
    with pytest.raises(MethodError, match="unknown discrete wavelet"):
        restore(
            "bayesshrink",
            np.zeros((16, 16)),
            RestorationContext("denoise", sigma=5, params={"wavelet": "haarx"}),
        )


# --- curvelet shrinkage -----------------------------------------------------------------------


def test_curvelet_with_zero_thresholds_gives_back_the_input(gray):
    out = curvelet_denoise(gray, 0.1, k_fine=0.0, k_other=0.0)
    assert np.allclose(out, gray, atol=1e-12)


def test_curvelet_beats_wavelets_on_a_noisy_natural_image(gray, psnr):
    rng = np.random.default_rng(5)
    noisy = gray + (25 / 255) * rng.standard_normal(gray.shape)
    context = RestorationContext("denoise", sigma=25)
    curvelet = psnr(restore("curvelet", noisy, context), gray)
    wavelet = psnr(restore("bayesshrink", noisy, context), gray)
    assert curvelet > psnr(noisy, gray) + 4.0
    assert curvelet > wavelet
