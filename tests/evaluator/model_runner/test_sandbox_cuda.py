"""On a CUDA machine the sandbox runs safetensors models on the GPU (and ONNX with the CUDA provider
where onnxruntime has it), with the CPU's outputs.

Runs only where CUDA is present (the lent GPU machine); CI has none.
"""

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from evaluator.model_runner import RunLimits, run_model_submission
from reference_methods.deep.inference import WEIGHTS_DIR

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _inputs(folder, n: int = 2):
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (40, 48), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def _outputs(folder) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p), dtype=np.int64) for p in sorted(folder.glob("*.png"))}


def test_safetensors_submission_runs_on_cuda_with_the_cpu_outputs(tmp_path):
    inputs = _inputs(tmp_path / "in")
    manifest = {"task": "denoise", "color": "gray", "architecture": "dncnn"}
    weights = WEIGHTS_DIR / "dncnn_s25.safetensors"
    on_gpu = run_model_submission(weights, manifest, inputs, tmp_path / "gpu", RunLimits(use_gpu=True))
    on_cpu = run_model_submission(weights, manifest, inputs, tmp_path / "cpu", RunLimits(use_gpu=False))
    assert on_gpu.ok, on_gpu.error
    assert on_cpu.ok, on_cpu.error
    assert on_gpu.provider == "torch:cuda" and on_cpu.provider == "torch:cpu"
    # the GPU run is timed with CUDA events (timer.py), the CPU one with the host counter
    assert (on_gpu.runtime_clock, on_cpu.runtime_clock) == ("cuda_events", "perf_counter")
    # CUDA ran inside the full sandbox (Landlock with the NVIDIA device files opened up).
    assert on_gpu.sandbox["isolation"]["filesystem"] == "landlock"
    assert on_gpu.sandbox["isolation"]["network"] == "netns"
    gpu, cpu = _outputs(tmp_path / "gpu"), _outputs(tmp_path / "cpu")
    assert gpu.keys() == cpu.keys() and len(gpu) == 2
    for name in gpu:
        assert np.abs(gpu[name] - cpu[name]).max() <= 1  # rounding of float32 sums differing in order


def test_onnx_submission_uses_the_cuda_provider_exactly_when_onnxruntime_has_it(tmp_path, models):
    inputs = _inputs(tmp_path / "in")
    manifest = {"task": "denoise", "color": "gray"}
    report = run_model_submission(
        models.box_blur(), manifest, inputs, tmp_path / "out", RunLimits(use_gpu=True)
    )
    assert report.ok, report.error
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    assert report.provider == ("CUDAExecutionProvider" if has_cuda else "CPUExecutionProvider")
