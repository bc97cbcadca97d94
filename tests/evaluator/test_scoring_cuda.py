"""On a CUDA device `score()` gives the CPU's numbers, so a GPU worker and a CPU worker agree.

PSNR and SSIM are float64 on both devices (equal to 1e-9); LPIPS is float32 (equal to 1e-5).
These run only where CUDA is present (the lent GPU machine); CI has none.
"""

import pytest
import torch

from evaluator import ScoringSpec, score
from evaluator.weights import lpips_provisioned

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _by_name(result) -> dict[str, dict[str, float]]:
    return {row.name: row.scores for row in result.rows}


@pytest.mark.parametrize("color_space, shave", [("rgb", 0), ("y", 4)])
def test_psnr_and_ssim_on_cuda_equal_the_cpu_numbers(make_pairs, color_space, shave):
    pred, gt, _ = make_pairs(5, h=72, w=80)
    options = dict(metrics=("psnr", "ssim"), color_space=color_space, shave=shave, batch_size=3)
    on_cpu = _by_name(score(pred, gt, ScoringSpec(**options, device="cpu")))
    on_gpu = _by_name(score(pred, gt, ScoringSpec(**options, device="cuda")))
    assert on_gpu.keys() == on_cpu.keys() and len(on_gpu) == 5
    for name, scores in on_cpu.items():
        assert on_gpu[name]["psnr"] == pytest.approx(scores["psnr"], abs=1e-9)
        assert on_gpu[name]["ssim"] == pytest.approx(scores["ssim"], abs=1e-9)


def test_lpips_on_cuda_equals_the_cpu_numbers(make_pairs):
    assert lpips_provisioned(), "LPIPS weights are not provisioned: run `python -m evaluator provision-lpips`"
    pred, gt, _ = make_pairs(3, h=64, w=64)
    on_cpu = _by_name(score(pred, gt, ScoringSpec(metrics=("lpips",), ranking_metric="lpips", device="cpu")))
    on_gpu = _by_name(score(pred, gt, ScoringSpec(metrics=("lpips",), ranking_metric="lpips", device="cuda")))
    for name, scores in on_cpu.items():
        assert scores["lpips"] > 0
        assert on_gpu[name]["lpips"] == pytest.approx(scores["lpips"], abs=1e-5)


def test_auto_device_picks_cuda_and_says_so_in_the_record(make_pairs):
    pred, gt, _ = make_pairs(2)
    result = score(pred, gt, ScoringSpec(metrics=("psnr",), device="auto"))
    assert result.record["device"].startswith("cuda")
