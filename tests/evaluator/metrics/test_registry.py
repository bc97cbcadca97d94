"""The metric table: a contract test over every registered metric, plus registry behaviour."""

import math

import pytest
import torch

from evaluator.metrics import create_metric, list_metrics, metric_info, register_metric

# The built-in metrics, as collected (tests of the pyiqa bridge register more at run time).
BUILT_IN = list_metrics()


@pytest.fixture(scope="module")
def metrics():
    return {
        name: create_metric(
            name,
            **(
                {"device": "cpu"}
                if metric_info(name).needs_reference and metric_info(name).needs_weights
                else {}
            ),
        )
        for name in BUILT_IN
    }


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_metric_honours_the_contract(metrics, name):
    metric = metrics[name]
    g = torch.Generator().manual_seed(0)
    size = max(metric.min_size, 11) + 5
    gt = torch.rand(2, 3, size, size + 3, generator=g, dtype=torch.float64)
    pred = (gt + 0.1 * torch.randn(gt.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    out = metric(pred, gt)
    assert out.shape == (2,) and out.dtype == torch.float64
    assert all(math.isfinite(v) for v in out.tolist())
    info = metric_info(name)
    if not info.needs_reference:  # no-reference: scores the prediction alone, whatever `gt` is
        assert torch.equal(metric(pred, None), out)
        assert set(metric.record()) >= {"implementation", "options", "weights"}
        return
    best = metric(gt, gt)
    # a perfect prediction scores at least as well as a noisy one, in the metric's own direction
    assert ((best >= out) if info.higher_is_better else (best <= out)).all()
    record = metric.record()
    assert set(record) >= {"implementation", "options", "weights"}
    assert info.implementation and info.description


def test_unknown_metric_lists_the_valid_names():
    with pytest.raises(KeyError, match="valid metrics: " + ", ".join(list_metrics())):
        create_metric("ssim_typo")


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_metric("psnr", higher_is_better=True, implementation="x", description="x")(lambda: None)


def test_directions_are_those_of_the_field():
    assert metric_info("psnr").higher_is_better and metric_info("ssim").higher_is_better
    assert not metric_info("lpips").higher_is_better and not metric_info("lpips_vgg").higher_is_better
