"""PSNR against hand computation: formula, data range, identical images, Y channel."""

import math

import numpy as np
import pytest
import torch

from evaluator.metrics import create_metric
from evaluator.metrics.psnr import psnr


def test_psnr_matches_hand_computation_on_a_tiny_array():
    gt = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    pred = torch.tensor([[[[10.0, 0.0], [0.0, 0.0]]]], dtype=torch.float64) / 255
    # MSE on the 0–255 scale = 100 / 4 = 25 → PSNR = 10 log10(255² / 25)
    assert psnr(pred, gt).item() == pytest.approx(10 * math.log10(255**2 / 25), abs=1e-12)


def test_psnr_is_per_image_over_all_channels(noisy_pair):
    gts, preds = zip(*(noisy_pair(16, 20, 3, seed=s) for s in range(3)), strict=True)
    gt = torch.from_numpy(np.stack(gts)).permute(0, 3, 1, 2).double() / 255
    pred = torch.from_numpy(np.stack(preds)).permute(0, 3, 1, 2).double() / 255
    got = psnr(pred, gt)
    for i in range(3):
        mse255 = np.mean((preds[i].astype(np.float64) - gts[i].astype(np.float64)) ** 2)
        assert got[i].item() == pytest.approx(10 * np.log10(255**2 / mse255), abs=1e-10)


def test_psnr_of_identical_images_is_infinite_not_capped():
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    assert torch.isinf(psnr(x, x)).all()


def test_data_range_sets_the_peak():
    gt = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    pred = torch.full((1, 1, 4, 4), 0.1, dtype=torch.float64)
    # peak 0.5 instead of 1 lowers PSNR by 20 log10(2)
    diff = psnr(pred, gt, 1.0) - psnr(pred, gt, 0.5)
    assert diff.item() == pytest.approx(20 * math.log10(2), abs=1e-12)


def test_y_channel_psnr_uses_bt601_luma(noisy_pair):
    gt8, pred8 = noisy_pair(12, 14, 3, seed=5)

    def luma(a):
        a = a.astype(np.float64) / 255
        return 16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]

    expected = 10 * np.log10(255**2 / np.mean((luma(pred8) - luma(gt8)) ** 2))
    to_t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None].double() / 255  # noqa: E731
    metric = create_metric("psnr", color_space="y")
    assert metric(to_t(pred8), to_t(gt8)).item() == pytest.approx(expected, abs=1e-10)


def test_mismatched_shapes_are_refused_with_both_shapes_named():
    with pytest.raises(ValueError, match=r"\(1, 1, 4, 4\) vs \(1, 1, 4, 5\)"):
        psnr(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))


@pytest.mark.parametrize(
    "channels, color_space, data_range",
    [(3, "rgb", 1.0), (3, "y", 1.0), (1, "rgb", 1.0), (1, "y", 1.0), (3, "rgb", 0.5)],
)
def test_score_pixels_gives_the_tensor_paths_number(noisy_pair, channels, color_space, data_range):
    gt, pred = noisy_pair(21, 34, channels, seed=13, noise=25)

    def t(a):
        x = torch.from_numpy(a.astype(np.float64) / 255)
        return x[None, None] if a.ndim == 2 else x.permute(2, 0, 1)[None]

    metric = create_metric("psnr", color_space=color_space, data_range=data_range)
    assert metric.score_pixels(pred, gt, 255.0) == pytest.approx(metric(t(pred), t(gt)).item(), abs=1e-11)


def test_score_pixels_is_exact_for_integers_and_infinite_for_identical_images(noisy_pair):
    gt, pred = noisy_pair(16, 16, 3, seed=14, noise=9)
    sse = int(((pred.astype(np.int64) - gt.astype(np.int64)) ** 2).sum())
    expected = 10 * math.log10(255**2 * gt.size / sse)
    metric = create_metric("psnr")
    assert metric.score_pixels(pred, gt, 255.0) == pytest.approx(expected, abs=1e-12)
    assert metric.score_pixels(gt, gt, 255.0) == math.inf
    with pytest.raises(ValueError, match="shapes differ"):
        metric.score_pixels(gt, gt[:8], 255.0)
