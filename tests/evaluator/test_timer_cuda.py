"""CUDA events time GPU work (evaluator/model_runner/timer.py). These run only where CUDA is present:
none was lent while the timer was written, so the CUDA path is not verified on a GPU yet."""

import pytest
import torch

from evaluator.model_runner import timer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_cuda_events_count_queued_kernels_that_the_host_clock_would_miss():
    a = torch.randn(2048, 2048, device="cuda")
    torch.cuda.synchronize()
    _, queued = timer.time_call(lambda: a @ a, "perf_counter")  # returns before the kernel is done
    results = [timer.time_call(lambda: a @ a, "cuda_events")[1] for _ in range(3)]
    # 2·2048³ FLOPs take well over a microsecond on any GPU; the events see them.
    assert min(results) > 1e-5 and all(r > 0 for r in results)
    assert timer.time_repeats(lambda: a @ a, repeats=3, clock="cuda_events").to_dict()["cuda_events"]
    assert queued >= 0


def test_the_profile_of_an_onnx_model_on_cuda_is_timed_with_cuda_events(conv_onnx):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDA provider here")
    from evaluator.profile import profile_runtime

    report = profile_runtime(conv_onnx, (1, 3, 64, 64), "cuda", 3)
    runtime = report["runtime"]
    assert runtime["clock"] == "cuda_events" and runtime["cuda_events"] is True
    assert runtime["device"] == torch.cuda.get_device_name() and runtime["median_s"] > 0
    assert "torch" in runtime["libraries"]
