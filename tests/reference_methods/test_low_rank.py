"""Tests for the low-rank family: block matching and singular-value shrinkages (`patch_groups`),
NNM/WNNM denoising (`wnnm`), low-rank completion (`matrix_completion`) and the BM3D wrapper
(`bm3d_wrapper`), each against an independent computation."""

from __future__ import annotations

import bm3d
import numpy as np
import pytest

from benchdata.degradations import degrade
from reference_methods import matrix_completion as C
from reference_methods import patch_groups as G
from reference_methods import spectral_kernels as K
from reference_methods import wnnm as W
from reference_methods.registry import MethodError, RestorationContext, restore

from . import slow_low_rank as slow
from .conftest import gray_image, rgb_image


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10.0 * np.log10(1.0 / float(np.mean((np.clip(a, 0, 1) - b) ** 2)))


# --- block matching -----------------------------------------------------------------------------


def test_block_matching_finds_the_nearest_patches_within_the_window():
    rng = np.random.default_rng(0)
    image = rng.random((40, 37))
    p, window, k = 5, 6, 12
    ref_ys, ref_xs = np.arange(0, 36, 3), np.arange(0, 33, 4)
    groups = G.block_match(image, p, ref_ys, ref_xs, window, k)
    hp, wp = 40 - p + 1, 37 - p + 1
    patches = np.array([[image[y : y + p, x : x + p].ravel() for x in range(wp)] for y in range(hp)])
    flat = patches.reshape(hp * wp, -1)
    for i, (y, x) in enumerate((y, x) for y in ref_ys for x in ref_xs):
        cands = [
            (yy, xx)
            for yy in range(max(0, y - window), min(hp, y + window + 1))
            for xx in range(max(0, x - window), min(wp, x + window + 1))
        ]
        brute = np.sort([np.sum((patches[y, x] - patches[yy, xx]) ** 2) for yy, xx in cands])[:k]
        found = np.sum((flat[groups[i]] - patches[y, x]) ** 2, axis=1)
        assert groups[i, 0] == y * wp + x  # the reference itself first
        assert np.allclose(found, brute, atol=1e-4)
        gy, gx = np.divmod(groups[i], wp)
        assert np.all(np.abs(gy - y) <= window) and np.all(np.abs(gx - x) <= window)


@pytest.mark.parametrize("channels", [1, 3])
def test_compiled_block_matching_equals_the_integral_image_reference(channels):
    rng = np.random.default_rng(3)
    image = rng.random((45, 38) if channels == 1 else (45, 38, 3))
    ref_ys, ref_xs = G.wnnm_grid(45, 6, 2), G.wnnm_grid(38, 6, 2)
    fast = G.block_match(image, 6, ref_ys, ref_xs, 9, 25)
    assert np.array_equal(fast, slow.block_match(image, 6, ref_ys, ref_xs, 9, 25))


def test_wnnm_grid_covers_the_tail_densely():
    assert G.wnnm_grid(20, 6, 2).tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert G.wnnm_grid(21, 6, 2).tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 15]


# --- shrinkage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 9, 6), (4, 6, 9)])
def test_shrink_singular_values_equals_the_svd_formula(shape):
    y = np.random.default_rng(1).standard_normal(shape)
    u, s, vt = np.linalg.svd(y, full_matrices=False)
    expected = (u * np.maximum(s - 1.0, 0.0)[:, None, :]) @ vt
    assert np.allclose(G.shrink_singular_values(y, lambda sv: G.svt(sv, 1.0)), expected, atol=1e-9)


@pytest.mark.parametrize("shape", [(30, 40, 16), (30, 9, 16)])
@pytest.mark.parametrize("level", [0.3, 1.0, 3.0])
def test_compiled_group_shrinkage_equals_the_svd_formula(shape, level):
    # Low-rank groups plus noise; `level` scales the thresholds so that none, a few (the MRRR path)
    # or many (the divide-and-conquer path) singular values survive.
    rng = np.random.default_rng(4)
    r, a, b = shape
    y = rng.standard_normal((r, a, 2)) @ rng.standard_normal((r, 2, b)) * 4 + rng.standard_normal(shape)
    u, s, vt = np.linalg.svd(y, full_matrices=False)
    tau = level * rng.uniform(1.0, 6.0, r)
    soft = (u * np.maximum(s - tau[:, None], 0.0)[:, None, :]) @ vt
    assert np.allclose(K.shrink_groups(y, K.SOFT, tau), soft, atol=1e-9)
    c = level * rng.uniform(1.0, 9.0, r)
    weighted = (u * G.weighted_svt(s, c)[:, None, :]) @ vt
    assert np.allclose(K.shrink_groups(y, K.WEIGHTED, c), weighted, atol=1e-9)


def test_the_mrrr_path_returns_the_largest_eigenpairs():
    # The "few kept" path of the shrinkage kernel must not silently fall back to the full solver.
    rng = np.random.default_rng(5)
    y = rng.standard_normal((30, 16))
    gram = y.T @ y
    r = 16
    a_mat, diag, off, tau = gram.copy(), np.empty(r), np.empty(r), np.empty(r - 1)
    work, iwork = np.empty(64 * r + r * r), np.empty(3 + 12 * r, np.int32)
    K._tridiagonalise(a_mat, diag, off, tau, work)
    w, z = np.empty(r), np.empty((r, r))
    assert K._top_by_mrrr(diag.copy(), off.copy(), 3, w, z, work, iwork)
    K._back_transform(a_mat, tau, z, 3, work)
    evals, evecs = np.linalg.eigh(gram)
    assert np.allclose(w[:3], evals[-3:], rtol=1e-12)
    assert np.allclose(np.abs(np.sum(z[:3] * evecs[:, -3:].T, axis=1)), 1.0, atol=1e-10)


def test_singular_value_thresholding_is_the_nuclear_norm_prox():
    rng = np.random.default_rng(2)
    y = rng.standard_normal((1, 7, 5))
    tau = 0.8
    x = G.shrink_singular_values(y, lambda sv: G.svt(sv, tau))[0]

    def objective(z):
        return 0.5 * np.sum((z - y[0]) ** 2) + tau * np.linalg.svd(z, compute_uv=False).sum()

    for _ in range(20):
        assert objective(x) <= objective(x + 1e-3 * rng.standard_normal(x.shape)) + 1e-12


def test_weighted_shrinkage_is_the_fixed_point_of_the_reweighting():
    sy = np.array([[10.0, 6.0, 4.1, 3.9, 1.0]])
    c = np.array([4.0])
    sx = G.weighted_svt(sy, c)
    kept = sy[0] ** 2 > 4 * c[0]
    assert np.array_equal(sx[0] > 0, kept)
    # σx = σy − w(σx)·1 with w = C/σx: the WNNM weights evaluated at the solution itself.
    assert np.allclose(sx[0, kept], sy[0, kept] - c[0] / sx[0, kept])
    # larger singular values are shrunk less (the point of the weights)
    shrink = sy[0, kept] - sx[0, kept]
    assert np.all(np.diff(shrink) > 0)


def test_wnnm_schedule_follows_the_authors_noise_ranges():
    assert (W.wnnm_schedule(15).patch, W.wnnm_schedule(15).patches, W.wnnm_schedule(15).iterations) == (
        6,
        70,
        8,
    )
    assert (W.wnnm_schedule(25).patch, W.wnnm_schedule(25).step) == (7, 2)
    assert (W.wnnm_schedule(50).patch, W.wnnm_schedule(50).patches) == (8, 120)
    assert W.wnnm_schedule(75).patch == 9


# --- denoising ----------------------------------------------------------------------------------


def test_wnnm_beats_nnm_and_the_noisy_input():
    clean = gray_image(40)
    noisy = degrade(clean, {"task": "denoise", "sigma": 30}, 4).image
    ctx = RestorationContext(task="denoise", sigma=30.0, params={"iterations": 4})
    w = restore("wnnm", noisy, ctx)
    n = restore("nnm", noisy, ctx)
    assert _psnr(w, clean) > _psnr(n, clean) > _psnr(noisy, clean) + 3


@pytest.mark.parametrize("weighted", [True, False])
def test_group_denoising_fast_path_equals_the_reference_loop(weighted):
    # The compiled kernels change summation order only: far below the 0.01 dB the speed-up may cost.
    clean = gray_image(40)
    noisy = degrade(clean, {"task": "denoise", "sigma": 25}, 5).image * 255.0
    schedule = W.GroupSchedule(patch=6, patches=40, iterations=4, noise_gain=0.56, step=2, window=10)
    fast = W.group_denoise(noisy, 25.0, schedule, weighted=weighted, nnm_lambda=0.3)
    reference = slow.group_denoise(noisy, 25.0, schedule, weighted=weighted, nnm_lambda=0.3)
    assert np.abs(fast - reference).max() < 1e-6


def test_group_denoising_leaves_a_noise_free_flat_image_unchanged():
    flat = np.full((24, 24), 100.0)
    out = W.group_denoise(flat, 20.0, W.wnnm_schedule(20.0), weighted=True)
    assert np.allclose(out, flat)


@pytest.mark.parametrize("name", ["wnnm", "nnm", "bm3d"])
def test_denoisers_return_the_input_at_sigma_zero(name):
    image = gray_image(24)
    assert np.array_equal(restore(name, image, RestorationContext(task="denoise", sigma=0.0)), image)


def test_bm3d_is_the_bm3d_package_result():
    clean = gray_image(32)
    noisy = degrade(clean, {"task": "denoise", "sigma": 20}, 5).image
    ours = restore("bm3d", noisy, RestorationContext(task="denoise", sigma=20.0))
    profile = bm3d.BM3DProfile()
    profile.num_threads = 1
    assert np.allclose(ours, np.clip(bm3d.bm3d(noisy, 20 / 255, profile=profile), 0, 1))


@pytest.mark.parametrize(("sigma", "base", "lam"), [(20.0, "BM3DProfile", 2.7), (50.0, "BM3DProfileVN", 2.8)])
def test_bm3d_2007_profile_is_the_2007_release_parameters(sigma, base, lam):
    clean = gray_image(32)
    noisy = degrade(clean, {"task": "denoise", "sigma": sigma}, 5).image
    ours = restore("bm3d", noisy, RestorationContext(task="denoise", sigma=sigma, params={"profile": "2007"}))
    profile = getattr(bm3d, base)()
    profile.lambda_thr3d, profile.mu2, profile.num_threads = lam, 1.0, 1
    assert np.allclose(ours, np.clip(bm3d.bm3d(noisy, sigma / 255, profile=profile), 0, 1))
    default = restore("bm3d", noisy, RestorationContext(task="denoise", sigma=sigma))
    assert not np.allclose(ours, default)


def test_bm3d_denoises_colour_with_cbm3d():
    clean = rgb_image(32)
    noisy = degrade(clean, {"task": "denoise", "sigma": 20}, 6).image
    out = restore("bm3d", noisy, RestorationContext(task="denoise", sigma=20.0))
    assert out.shape == clean.shape and _psnr(out, clean) > _psnr(noisy, clean) + 5


# --- completion ---------------------------------------------------------------------------------


def test_low_rank_completion_recovers_a_periodic_texture():
    # A periodic texture: every group of matched patches is (nearly) rank-deficient.
    y, x = np.mgrid[0:48, 0:48]
    clean = 0.5 + 0.25 * np.sin(2 * np.pi * x / 8) * np.cos(2 * np.pi * y / 6)
    case = degrade(clean, {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.5}}, 7)
    out = restore("lowrank_completion", case.image, RestorationContext(task="inpaint", mask=case.mask))
    assert np.array_equal(out[~case.mask], case.image[~case.mask])
    assert _psnr(out, case.ground_truth) > 40.0


@pytest.mark.parametrize("channels", [1, 3])
def test_low_rank_completion_fast_path_equals_the_reference_loop(channels):
    clean = gray_image(36) if channels == 1 else rgb_image(36)
    case = degrade(clean, {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.4}}, 9)
    args = {"patch": 6, "patches": 20, "window": 8, "step": 3, "outer": 3, "inner": 2}
    fast = C.lowrank_complete(case.image * 255.0, case.mask, **args)
    reference = slow.lowrank_complete(case.image * 255.0, case.mask, **args)
    assert np.abs(fast - reference).max() < 1e-6


def test_low_rank_completion_improves_a_natural_image():
    clean = gray_image(48)
    case = degrade(clean, {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.5}}, 8)
    out = restore("lowrank_completion", case.image, RestorationContext(task="inpaint", mask=case.mask))
    from reference_methods.variational import normalized_convolution_fill

    assert _psnr(out, clean) > _psnr(normalized_convolution_fill(case.image, case.mask), clean)


# --- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "task", "params", "match"),
    [
        ("wnnm", "denoise", {"patch": 1}, "patch"),
        ("wnnm", "denoise", {"step": 20}, "step"),
        ("nnm", "denoise", {"lam": 0}, "lam"),
        ("bm3d", "denoise", {"profile": "fastest"}, "profile"),
        ("lowrank_completion", "inpaint", {"tau_end": 0.5}, "tau_end"),
        ("lowrank_completion", "inpaint", {"window": 0}, "window"),
    ],
)
def test_bad_parameters_are_rejected_by_name(name, task, params, match):
    image = gray_image(24)
    mask = np.zeros(image.shape, dtype=bool)
    mask[4:8, 4:8] = True
    with pytest.raises(MethodError, match=match):
        restore(name, image, RestorationContext(task=task, sigma=10.0, mask=mask, params=params))
