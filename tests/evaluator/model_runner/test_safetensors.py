"""safetensors weights of a registered architecture run in the sandbox (PyTorch in the child)."""

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from evaluator.model_runner import run_model_submission
from reference_methods.deep.archs import create_arch

MANIFEST = {
    "task": "sr",
    "scale": 2,
    "color": "y",
    "architecture": "espcn",
    "architecture_params": {"scale": 2},
}


def _weights(tmp_path):
    torch.manual_seed(0)
    net = create_arch("espcn", scale=2).eval()
    with torch.no_grad():
        net.conv3.bias.fill_(0.5)  # outputs around mid-gray, inside the declared range
        net.conv3.weight.mul_(0.1)
    path = tmp_path / "espcn.safetensors"
    save_file(net.state_dict(), str(path))
    return net, path


def test_safetensors_weights_round_trip_through_the_registered_architecture(tmp_path, gray_inputs):
    net, path = _weights(tmp_path)
    report = run_model_submission(path, MANIFEST, gray_inputs, tmp_path / "out")
    assert report.ok, report.error
    assert (
        report.format == "safetensors"
        and report.provider == "torch:cpu"
        and report.runtime_clock == "perf_counter"
    )
    assert report.parameters == sum(p.numel() for p in net.parameters())
    for src in sorted(gray_inputs.iterdir()):
        x = torch.from_numpy(np.asarray(Image.open(src), dtype=np.float32) / 255.0)[None, None]
        with torch.no_grad():
            expected = np.floor(np.clip(net(x)[0, 0].numpy(), 0, 1) * 255 + 0.5)
        got = np.asarray(Image.open(tmp_path / "out" / src.name), dtype=np.float64)
        assert got.shape == expected.shape and np.abs(got - expected).max() <= 1


def test_weights_for_another_architecture_are_refused_with_the_mismatching_keys(tmp_path, gray_inputs):
    _, path = _weights(tmp_path)
    report = run_model_submission(path, {**MANIFEST, "architecture": "srcnn"}, gray_inputs, tmp_path / "out")
    assert report.error_kind == "weights"
    assert "do not fit architecture 'srcnn'" in report.error and "conv1.weight" in report.error
