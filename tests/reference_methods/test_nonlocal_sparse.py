"""Tests for the nonlocal sparse methods: the compiled block matcher (reference_methods.patch_match),
NCSR (reference_methods.ncsr) and GSR (reference_methods.gsr), each against a brute-force computation or
a hand-made case whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from reference_methods import gsr as G
from reference_methods import ncsr as N
from reference_methods.patch_match import aggregate, all_patches, match_patches
from reference_methods.registry import RestorationContext, restore
from reference_methods.sparse import aggregate_patches, grid_positions

from .conftest import gray_image


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10.0 * np.log10(1.0 / float(np.mean((np.clip(a, 0, 1) - b) ** 2)))


# --- block matching and aggregation ---------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_matching_finds_the_nearest_patches_within_the_window(channels):
    rng = np.random.default_rng(0)
    image = rng.random((30, 27, channels))
    p, window, k = 4, 5, 9
    ys, xs = np.arange(0, 27, 3), np.arange(0, 24, 4)
    pos, ssd = match_patches(image if channels > 1 else image[..., 0], p, ys, xs, window, k)
    hp, wp = 30 - p + 1, 27 - p + 1
    for i, (y, x) in enumerate((y, x) for y in ys for x in xs):
        ref = image[y : y + p, x : x + p]
        brute = sorted(
            float(np.sum((ref - image[yy : yy + p, xx : xx + p]) ** 2))
            for yy in range(max(0, y - window), min(hp, y + window + 1))
            for xx in range(max(0, x - window), min(wp, x + window + 1))
        )[:k]
        assert pos[i, 0] == y * wp + x and ssd[i, 0] == 0.0  # the reference first
        assert np.allclose(ssd[i], brute, atol=1e-9)
        py, px = np.divmod(pos[i], wp)
        found = [np.sum((ref - image[a : a + p, b : b + p]) ** 2) for a, b in zip(py, px, strict=True)]
        assert np.allclose(found, ssd[i], atol=1e-9)
        assert np.all(np.abs(py - y) <= window) and np.all(np.abs(px - x) <= window)


def test_aggregation_equals_the_grid_aggregation_of_sparse():
    rng = np.random.default_rng(1)
    p, shape = 5, (23, 19)
    ys, xs = grid_positions(shape[0], p, 2), grid_positions(shape[1], p, 3)
    values = rng.random((len(ys) * len(xs), p * p))
    positions = (ys[:, None] * (shape[1] - p + 1) + xs[None, :]).ravel()
    expected = aggregate_patches(values, p, ys, xs, shape)
    got = aggregate(values, positions, p, shape)
    assert np.allclose(got[0], expected[0]) and np.array_equal(got[1], expected[1])


def test_all_patches_lists_every_position_row_major():
    image = np.arange(30.0).reshape(5, 6)
    rows = all_patches(image, 3)
    assert rows.shape == (12, 9)
    assert rows[5].tolist() == image[1:4, 1:4].ravel().tolist()  # position (1, 1) = 1 · 4 + 1


# --- NCSR -----------------------------------------------------------------------------------------


def test_ncsr_settings_follow_the_released_noise_ranges():
    low, mid, high = (N.denoise_settings(s) for s in (15, 25, 50))
    assert (low.patch, low.neighbours, low.c1, low.rounds) == (6, 13, 0.59, 3)
    assert (mid.patch, mid.neighbours, mid.c1, mid.rounds) == (7, 16, 0.64, 3)
    assert (high.patch, high.neighbours, high.c1, high.rounds) == (9, 18, 0.64, 4)


def test_pca_basis_is_the_orthonormal_eigenbasis_of_the_denoised_covariance():
    rng = np.random.default_rng(2)
    data = rng.standard_normal((500, 3)) @ np.diag([5.0, 3.0, 2.0]) + 10.0
    basis = N._pca_basis(data, 1.0)
    assert np.allclose(basis @ basis.T, np.eye(3), atol=1e-12)
    cov = np.cov(data.T) - np.eye(3)
    cov[cov < 0] = 1e-4
    variances = np.diag(basis @ cov @ basis.T)
    assert np.all(np.diff(variances) <= 1e-9)  # largest first
    assert np.allclose(np.sort(variances)[::-1], np.linalg.eigvalsh(cov)[::-1])


def test_kmeans_separates_two_distant_clouds():
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.normal(0, 1, (200, 4)), rng.normal(20, 1, (200, 4))])
    centres, labels = N._kmeans(points, 2, 10, np.random.Generator(np.random.PCG64(0)))
    assert len(set(labels[:200])) == 1 and len(set(labels[200:])) == 1 and labels[0] != labels[-1]
    assert np.allclose(np.sort(centres.mean(axis=1)), [0, 20], atol=0.5)


def _ncsr_parts(image: np.ndarray):
    s = N.denoise_settings(25)
    dicts = N.learn_dictionaries(image, s, 25.0, seed=0)
    return s, dicts, N.make_groups(image, s, 25.0, dicts)


def test_ncsr_shrinkage_without_threshold_returns_the_image():
    image = gray_image(40) * 255.0
    s, dicts, groups = _ncsr_parts(image)
    out = N.shrink(image, s, groups, dicts, nsig=25.0, c1=None, fixed=0.0)
    assert np.allclose(out, image, atol=1e-9)  # orthonormal sub-dictionaries: Φᵀ Φ (x − m) + m = x


def test_ncsr_shrinkage_with_an_infinite_threshold_returns_the_nonlocal_means():
    image = gray_image(40) * 255.0
    s, dicts, groups = _ncsr_parts(image)
    out = N.shrink(image, s, groups, dicts, nsig=25.0, c1=None, fixed=np.inf)
    means = N.nonlocal_means(image, s, groups)  # every code collapses onto β = Φ m
    acc, cnt = aggregate(means, groups.ref_pos, s.patch, image.shape)
    assert np.allclose(out, acc / cnt, atol=1e-9)
    assert np.allclose(groups.weights.sum(axis=1), 1.0)


def test_ncsr_denoising_beats_the_noisy_input_and_is_reproducible_by_seed(degraded_for):
    clean = gray_image(48)
    noisy = degraded_for("denoise", clean).image
    context = RestorationContext("denoise", sigma=25, params={"rounds": 1})
    first = restore("ncsr", noisy, context.replace(seed=5))
    assert np.array_equal(first, restore("ncsr", noisy, context.replace(seed=5)))
    assert _psnr(first, clean) > _psnr(noisy, clean) + 6.0


def _blocks(size: int = 48) -> np.ndarray:
    """A piecewise-constant image: four grey levels in rectangles."""
    image = np.full((size, size), 0.2)
    image[8:30, 6:26] = 0.8
    image[20:44, 28:44] = 0.5
    image[34:46, 4:18] = 0.95
    return image


def _blurred_blocks(seed: int = 4):
    clean = _blocks()
    kernel = np.outer(*[np.exp(-(np.arange(-4, 5) ** 2) / (2 * 1.6**2))] * 2)
    kernel /= kernel.sum()
    blurred = ndimage.convolve(clean, kernel, mode="reflect")
    noisy = blurred + 2.0 / 255.0 * np.random.default_rng(seed).standard_normal(clean.shape)
    return clean, noisy, RestorationContext("deblur", sigma=2.0, kernel=kernel)


def test_ncsr_deblurring_sharpens_a_piecewise_constant_image():
    clean, blurred, context = _blurred_blocks()
    out = restore("ncsr", blurred, context.replace(params={"iterations": 15}))
    assert _psnr(out, clean) > _psnr(blurred, clean) + 4.0


# --- GSR ------------------------------------------------------------------------------------------


def test_gsr_restores_a_group_of_identical_noisy_patches_to_their_low_rank_mean():
    # A periodic image (period 4): every 8×8 patch at the same phase is the same, so each group holds
    # copies of one patch with independent noise. Its singular values: one of about ||patch|| √k, the
    # rest at the noise level (≤ σ (√64 + √k)); a threshold between keeps the rank-one mean.
    rng = np.random.default_rng(5)
    clean = np.tile(rng.uniform(40, 200, (4, 4)), (12, 12))
    sigma, k = 10.0, 20
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    out, groups = G.group_shrink(noisy[..., None], 1.5 * sigma * (8 + np.sqrt(k)), patches=k, window=16)
    py, px = np.divmod(groups, 48 - 8 + 1)
    assert np.all(py % 4 == py[:, :1] % 4) and np.all(px % 4 == px[:, :1] % 4)  # one phase per group
    rmse = np.sqrt(np.mean((out[..., 0] - clean) ** 2))
    assert rmse < 0.3 * sigma  # the noise is averaged over the group's copies (and the overlaps)


def test_gsr_inpainting_fills_missing_pixels_of_a_smooth_image():
    y, x = np.mgrid[0:48, 0:48] / 47.0
    clean = 0.5 + 0.3 * np.sin(2.5 * x + 1.0) * np.cos(2.0 * y)
    mask = np.random.default_rng(6).random(clean.shape) < 0.5
    observed = np.where(mask, 0.0, clean)
    out = restore("gsr", observed, RestorationContext("inpaint", mask=mask, params={"iterations": 20}))
    assert np.allclose(out[~mask], clean[~mask], atol=1e-3)  # (y + μ r) / (1 + μ) with μ = 2.5e-3
    assert np.sqrt(np.mean((out[mask] - clean[mask]) ** 2)) < 2.0 / 255.0


def test_gsr_deblurring_sharpens_a_piecewise_constant_image():
    clean, blurred, context = _blurred_blocks()
    out = restore("gsr", blurred, context.replace(params={"iterations": 20}))
    assert _psnr(out, clean) > _psnr(blurred, clean) + 4.0


def test_gsr_denoising_beats_the_noisy_input(degraded_for):
    clean = gray_image(48)
    noisy = degraded_for("denoise", clean).image
    out = restore("gsr", noisy, RestorationContext("denoise", sigma=25))
    assert _psnr(out, clean) > _psnr(noisy, clean) + 6.0


def test_gsr_threshold_is_the_papers_split_bregman_rule():
    # τ = λ K / (μ N), threshold √(2τ): the code's inpainting setting gives √(2 · 0.082 · 240 / 2.5e-3).
    assert G._bregman_threshold(0.082, 2.5e-3) == pytest.approx(np.sqrt(15744.0))


@pytest.mark.parametrize("shape", [(5, 9, 12), (5, 12, 9)])
def test_gsr_hard_thresholding_equals_the_svd_formula(shape):
    rng = np.random.default_rng(7)
    groups = rng.standard_normal(shape) + 3.0 * rng.standard_normal((shape[0], shape[1], 1))
    u, s, vt = np.linalg.svd(groups, full_matrices=False)
    threshold = 4.0
    assert np.all(np.abs(s - threshold) > 1e-3)  # no singular value on the edge
    expected = (u * np.where(s > threshold, s, 0.0)[:, None, :]) @ vt
    assert np.allclose(G.hard_threshold_groups(groups, threshold), expected, atol=1e-9)
