"""SSIM against scikit-image with MATLAB ssim_index settings, and its pinned conventions."""

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

import evaluator.metrics.ssim as ssim_module
from evaluator.metrics import create_metric
from evaluator.metrics.ssim import gaussian_window_1d, ssim


def _t(a: np.ndarray) -> torch.Tensor:
    """(H, W[, 3]) uint8 → float64 (1, C, H, W) on [0, 1]."""
    t = torch.from_numpy(a.astype(np.float64) / 255)
    return t[None, None] if a.ndim == 2 else t.permute(2, 0, 1)[None]


def _skimage_matlab(pred: np.ndarray, gt: np.ndarray) -> float:
    """Wang et al.'s ssim_index via scikit-image (on the 0–255 scale, L = 255)."""
    kwargs = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    if gt.ndim == 2:
        return structural_similarity(pred.astype(np.float64), gt.astype(np.float64), **kwargs)
    return float(
        np.mean(
            [
                structural_similarity(
                    pred[..., c].astype(np.float64), gt[..., c].astype(np.float64), **kwargs
                )
                for c in range(3)
            ]
        )
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_equals_skimage_with_matlab_settings(noisy_pair, channels):
    gt, pred = noisy_pair(37, 53, channels, seed=3, noise=30)
    got = ssim(_t(pred), _t(gt)).item()
    assert got == pytest.approx(_skimage_matlab(pred, gt), abs=1e-12)


def test_ssim_tiling_does_not_change_the_value(noisy_pair):
    gt, pred = noisy_pair(60, 30, 3, seed=1, noise=20)
    whole = ssim(_t(pred), _t(gt), tile=10_000).item()
    for tile in (1, 7, 16):
        assert ssim(_t(pred), _t(gt), tile=tile).item() == pytest.approx(whole, abs=1e-14)


@pytest.mark.parametrize("block", [24, 64, 7])
def test_the_column_block_width_does_not_change_the_value(noisy_pair, monkeypatch, block):
    # CPU and GPU use different block widths; every width must give ssim_index's number, including
    # the leftover columns after the last full block.
    gt, pred = noisy_pair(23, 151, 3, seed=4, noise=25)
    monkeypatch.setitem(ssim_module._BLOCK, "cpu", block)
    assert ssim(_t(pred), _t(gt)).item() == pytest.approx(_skimage_matlab(pred, gt), abs=1e-12)


def test_ssim_is_one_for_identical_images_and_symmetric(noisy_pair):
    gt, pred = noisy_pair(20, 20, 3, seed=2, noise=40)
    assert ssim(_t(gt), _t(gt)).item() == pytest.approx(1.0, abs=1e-15)
    assert ssim(_t(pred), _t(gt)).item() == pytest.approx(ssim(_t(gt), _t(pred)).item(), abs=1e-15)


def test_window_is_matlab_fspecial_gaussian_11_1_5():
    g = gaussian_window_1d()
    x = np.arange(-5, 6)
    two_d = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5**2))
    two_d /= two_d.sum()
    assert np.allclose(np.outer(g.numpy(), g.numpy()), two_d, atol=1e-16)


def test_data_range_scales_the_stabilising_constants(noisy_pair):
    gt, pred = noisy_pair(24, 24, 1, seed=4, noise=25)
    kwargs = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    expected = structural_similarity(pred / 255.0, gt / 255.0, data_range=0.5, **kwargs)
    assert ssim(_t(pred), _t(gt), data_range=0.5).item() == pytest.approx(expected, abs=1e-12)


def test_y_channel_ssim_is_ssim_of_bt601_luma(noisy_pair):
    gt, pred = noisy_pair(30, 30, 3, seed=6, noise=25)

    def luma(a):
        a = a.astype(np.float64) / 255
        return 16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]

    expected = structural_similarity(
        luma(pred), luma(gt), gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    metric = create_metric("ssim", color_space="y")
    assert metric(_t(pred), _t(gt)).item() == pytest.approx(expected, abs=1e-12)


def test_ssim_refuses_images_smaller_than_the_window():
    with pytest.raises(ValueError, match="at least 11×11"):
        ssim(torch.zeros(1, 1, 10, 30), torch.zeros(1, 1, 10, 30))


def test_ssim_differs_from_pyiqa_default_which_is_not_matlab(noisy_pair):
    # Guard against someone "simplifying" to pyiqa's ssim: it is a different convention (relu(cs), YIQ).
    import pyiqa

    gt, pred = noisy_pair(48, 48, 3, seed=7, noise=60)
    theirs = pyiqa.create_metric("ssim", device="cpu", as_loss=False)(_t(pred).float(), _t(gt).float()).item()
    ours = ssim(_t(pred), _t(gt)).item()
    assert abs(theirs - ours) > 1e-6


@pytest.mark.parametrize(
    "channels, color_space, data_range",
    [(3, "rgb", 1.0), (3, "y", 1.0), (1, "rgb", 1.0), (1, "y", 1.0), (3, "rgb", 0.5)],
)
def test_score_pixels_gives_the_tensor_paths_number(noisy_pair, channels, color_space, data_range):
    # The CPU scorer's path (compiled kernel on the integer arrays) and the CUDA path (torch on [0, 1]
    # float64 tensors) must be the same metric.
    gt, pred = noisy_pair(33, 47, channels, seed=11, noise=35)
    metric = create_metric("ssim", color_space=color_space, data_range=data_range)
    on_tensors = metric(_t(pred), _t(gt)).item()
    assert metric.score_pixels(pred, gt, 255.0) == pytest.approx(on_tensors, abs=1e-13)


def test_score_pixels_of_16_bit_arrays_uses_their_full_scale():
    rng = np.random.default_rng(12)
    gt = rng.integers(0, 65536, (24, 31, 3)).astype(np.uint16)
    pred = np.clip(gt.astype(np.int64) + rng.integers(-2000, 2001, gt.shape), 0, 65535).astype(np.uint16)
    metric = create_metric("ssim")
    as_tensor = [torch.from_numpy(a.astype(np.float64) / 65535).permute(2, 0, 1)[None] for a in (pred, gt)]
    assert metric.score_pixels(pred, gt, 65535.0) == pytest.approx(metric(*as_tensor).item(), abs=1e-13)
