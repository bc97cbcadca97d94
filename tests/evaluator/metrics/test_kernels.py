"""The compiled CPU kernels: ssim_index map sums and exact squared-error sums, against independent code."""

import numba
import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

import evaluator.metrics.kernels as kernels
from evaluator.metrics.kernels import gaussian_window, squared_error_sum, ssim_map_sum
from evaluator.metrics.ssim import ssim

MATLAB = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


def _constants(peak: float) -> tuple[float, float]:
    return (0.01 * peak) ** 2, (0.03 * peak) ** 2


@pytest.mark.parametrize("h, w", [(11, 11), (12, 30), (37, 53), (23, 151), (64, 17)])
def test_ssim_map_sum_is_skimage_matlab_ssim_times_the_valid_area(noisy_pair, h, w):
    gt, pred = noisy_pair(h, w, 1, seed=h * w, noise=30)
    area = (h - 10) * (w - 10)
    got = ssim_map_sum(pred, gt, *_constants(255)) / area
    expected = structural_similarity(pred.astype(np.float64), gt.astype(np.float64), data_range=255, **MATLAB)
    assert got == pytest.approx(expected, abs=1e-12)


def test_ssim_map_sum_agrees_with_the_torch_implementation(noisy_pair):
    gt, pred = noisy_pair(45, 70, 1, seed=9, noise=40)
    as_tensor = [torch.from_numpy(a.astype(np.float64) / 255)[None, None] for a in (pred, gt)]
    expected = ssim(*as_tensor).item()
    assert ssim_map_sum(pred, gt, *_constants(255)) / (35 * 60) == pytest.approx(expected, abs=1e-13)


def test_strided_channel_views_give_the_contiguous_result(noisy_pair):
    gt, pred = noisy_pair(30, 41, 3, seed=5, noise=20)
    for c in range(3):
        view = ssim_map_sum(pred[..., c], gt[..., c], *_constants(255))
        copy = ssim_map_sum(
            np.ascontiguousarray(pred[..., c]), np.ascontiguousarray(gt[..., c]), *_constants(255)
        )
        assert view == pytest.approx(copy, abs=1e-10)


def test_16_bit_and_float_planes_are_scored_on_their_own_scale():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 65536, (25, 33), dtype=np.uint16)
    pred = np.clip(gt.astype(np.int64) + rng.integers(-900, 901, gt.shape), 0, 65535).astype(np.uint16)
    expected = structural_similarity(
        pred.astype(np.float64), gt.astype(np.float64), data_range=65535, **MATLAB
    )
    assert ssim_map_sum(pred, gt, *_constants(65535)) / (15 * 23) == pytest.approx(expected, abs=1e-12)
    as_float = ssim_map_sum(pred / 65535.0, gt / 65535.0, *_constants(1.0)) / (15 * 23)
    assert as_float == pytest.approx(expected, abs=1e-12)


def test_identical_planes_have_a_map_of_ones(noisy_pair):
    gt, _ = noisy_pair(20, 26, 1, seed=1)
    assert ssim_map_sum(gt, gt, *_constants(255)) == pytest.approx(10 * 16, abs=1e-10)


def test_ssim_map_sum_refuses_bad_planes():
    with pytest.raises(ValueError, match="at least 11×11"):
        ssim_map_sum(np.zeros((10, 40)), np.zeros((10, 40)), 1.0, 1.0)
    with pytest.raises(ValueError, match="same-shape 2-D"):
        ssim_map_sum(np.zeros((20, 20)), np.zeros((20, 21)), 1.0, 1.0)


def test_kernel_window_is_matlab_fspecial_gaussian():
    x = np.arange(-5, 6)
    two_d = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5**2))
    g = gaussian_window()
    assert np.allclose(np.outer(g, g), two_d / two_d.sum(), rtol=0, atol=1e-17)


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
def test_squared_error_sum_of_integers_is_exact(dtype, top):
    rng = np.random.default_rng(7)
    gt = rng.integers(0, top + 1, (19, 23, 3)).astype(dtype)
    pred = rng.integers(0, top + 1, (19, 23, 3)).astype(dtype)
    expected = int(sum((int(a) - int(b)) ** 2 for a, b in zip(pred.ravel(), gt.ravel(), strict=True)))
    got = squared_error_sum(pred, gt)
    assert isinstance(got, int) and got == expected
    # A shaved (non-contiguous) view sums only what it shows.
    shaved = (pred.astype(np.int64)[2:-2, 3:-3] - gt.astype(np.int64)[2:-2, 3:-3]) ** 2
    assert squared_error_sum(pred[2:-2, 3:-3], gt[2:-2, 3:-3]) == int(shaved.sum())


def test_squared_error_sum_of_floats_is_the_float64_sum():
    rng = np.random.default_rng(8)
    a, b = rng.random((13, 17)), rng.random((13, 17))
    assert squared_error_sum(a, b) == pytest.approx(float(((a - b) ** 2).sum()), rel=1e-14)
    with pytest.raises(ValueError, match="shapes differ"):
        squared_error_sum(a, b[:, :3])


def test_kernels_compile_in_memory_when_no_cache_can_be_written(monkeypatch):
    real_njit = numba.njit
    calls = []

    def njit_without_cache_locator(*args, **kwargs):
        calls.append(kwargs.get("cache"))
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(*args, **kwargs)

    monkeypatch.setattr(kernels.numba, "njit", njit_without_cache_locator)

    def add(x, y):
        return x + y

    compiled = kernels._compile(add)
    assert calls == [True, False] and compiled(2, 3) == 5
