"""Blind deblurring with L0 priors (`l0_deblur`, `l0_text_deblur`): each step against a hand-made
case, then the whole method on a track that keeps its kernel hidden."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft

from benchdata.degradations import degrade
from benchdata.degradations.kernels import motion_kernel
from reference_methods.blind_deblur import estimate_kernel, kernel_error, kernel_step, l0_latent
from reference_methods.registry import RestorationContext, context_from_spec, get_method, restore, serves
from reference_methods.variational_operators import psf2otf


def _circular_blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return sfft.irfft2(psf2otf(kernel, image.shape) * sfft.rfft2(image), s=image.shape)


def _blocks(size: int = 96, seed: int = 0) -> np.ndarray:
    """A piecewise-constant image: random overlapping discs of random grey levels (edges in every
    direction: rectangles alone would leave a kernel's diagonal structure unobservable)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices((size, size))
    image = np.full((size, size), 0.5)
    for _ in range(16):
        r, c = rng.uniform(0, size, 2)
        radius = rng.uniform(6, size / 4)
        image[(rows - r) ** 2 + (cols - c) ** 2 < radius**2] = rng.uniform(0.0, 1.0)
    return image


def _text(size: int = 112) -> np.ndarray:
    """Dark printed text on white paper (Pillow's bundled font)."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("L", (size, size), 255)
    ImageDraw.Draw(page).multiline_text(
        (4, 4),
        "Blind text\ndeblurring\nwith L0 priors\nPan et al.\n2014, CVPR",
        font=ImageFont.load_default(size=18),
        fill=0,
    )
    return np.asarray(page, dtype=np.float64) / 255.0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def test_kernel_error_is_exact_for_a_shifted_copy_and_lower_for_another_kernel():
    k = motion_kernel(11, np.random.default_rng(3))
    shifted = np.roll(np.pad(k, 2), (1, -2), axis=(0, 1))  # 15 × 15, moved off centre
    same = kernel_error(shifted, k)
    assert same["similarity"] == pytest.approx(1.0, abs=1e-12)
    assert same["ssd"] == pytest.approx(0.0, abs=1e-20)
    delta = np.zeros((11, 11))
    delta[5, 5] = 1.0
    other = kernel_error(delta, k)
    # Independent: the best overlap of a delta with k is k's largest tap over k's norm.
    assert other["similarity"] == pytest.approx(k.max() / np.linalg.norm(k), rel=1e-9)


def test_the_kernel_step_recovers_the_kernel_from_a_sharp_and_blurred_pair():
    sharp = _blocks(seed=2)
    k = motion_kernel(9, np.random.default_rng(5))
    blurred = _circular_blur(sharp, k)
    estimate = kernel_step(sharp, blurred, 9, gamma=1e-6)
    assert estimate.shape == (9, 9)
    assert estimate.sum() == pytest.approx(1.0)
    assert estimate.min() >= 0.0
    assert kernel_error(estimate, k)["similarity"] > 0.99


def test_the_l0_latent_step_with_the_true_kernel_restores_a_piecewise_constant_image():
    sharp = _blocks(seed=4)
    k = motion_kernel(9, np.random.default_rng(6))
    blurred = _circular_blur(sharp, k)
    restored = l0_latent(blurred, k, 1e-3)
    assert _psnr(restored, sharp) > _psnr(blurred, sharp) + 8.0
    # Its gradients are sparse: most of the image is flat, as in the sharp image.
    flat = np.mean(np.abs(np.diff(restored, axis=1)) < 1e-3)
    assert flat > 0.8


def test_with_a_delta_kernel_and_no_regularisation_the_latent_step_returns_its_input():
    y = _blocks(seed=5)
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0
    assert np.allclose(l0_latent(y, delta, 1e-12), y, atol=1e-9)


def test_the_intensity_term_pulls_a_dark_background_to_exact_zero():
    image = np.zeros((48, 48))
    image[10:20, 10:40] = 1.0
    noisy = image + 0.02 * np.random.default_rng(0).standard_normal(image.shape)
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0
    with_pixels = l0_latent(noisy, delta, 1e-3, lam_pixel=4e-3, pixel_steps=6)
    gradients_only = l0_latent(noisy, delta, 1e-3)
    background = image == 0
    assert np.mean(np.abs(with_pixels[background]) < 1e-3) > np.mean(
        np.abs(gradients_only[background]) < 1e-3
    )
    assert np.mean(np.abs(with_pixels[background]) < 1e-3) > 0.9


@pytest.mark.parametrize("kind", ["motion", "gaussian"])
def test_the_coarse_to_fine_estimate_finds_the_hidden_kernel(kind):
    image = _blocks(size=128, seed=7)
    spec = {"task": "deblur", "sigma": 1.0, "kernel": {"type": kind, "size": 11, "sigma": 1.6}}
    if kind == "motion":
        spec["kernel"] = {"type": "motion", "size": 11}
    degraded = degrade(image, spec, seed=8)
    estimate = estimate_kernel(degraded.image, kernel_size=15, lam_grad=4e-3, gamma=0.02)
    delta = np.zeros((15, 15))
    delta[7, 7] = 1.0
    found = kernel_error(estimate, degraded.kernel)["similarity"]
    assert found > 0.85
    assert found > kernel_error(delta, degraded.kernel)["similarity"] + 0.2


def test_both_methods_serve_blind_tracks_and_beat_the_blurred_input():
    spec = {"task": "deblur", "sigma": 1.0, "kernel": {"type": "motion", "size": 11}}
    for name, image, gain in (("l0_deblur", _blocks(128, seed=9), 1.0), ("l0_text_deblur", _text(), 3.0)):
        degraded = degrade(image, spec, seed=10)
        blind = context_from_spec("deblur", spec)  # the kernel stays hidden
        assert blind.kernel is None
        assert serves(get_method(name), "deblur", blind.disclosed) is None
        restored = restore(name, degraded.image, blind.replace(params={"kernel_size": 15}))
        assert _psnr(restored, image) > _psnr(degraded.image, image) + gain, name


def test_the_text_prior_helps_on_text():
    image = _text(size=112)
    spec = {"task": "deblur", "sigma": 1.0, "kernel": {"type": "motion", "size": 11}}
    degraded = degrade(image, spec, seed=12)
    context = RestorationContext("deblur", sigma=1.0, params={"kernel_size": 15})
    text = restore("l0_text_deblur", degraded.image, context)
    assert _psnr(text, image) > _psnr(degraded.image, image) + 3.0
    with_intensity = estimate_kernel(
        1.0 - degraded.image, kernel_size=15, lam_grad=4e-3, lam_pixel=4e-3, gamma=0.02
    )
    assert kernel_error(with_intensity, degraded.kernel)["similarity"] > 0.9
