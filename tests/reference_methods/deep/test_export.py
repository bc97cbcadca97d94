"""Exported ONNX models compute what the PyTorch models compute, and run in the submission sandbox."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from evaluator.model_runner import run_model_submission
from evaluator.model_runner.formats import inspect_onnx
from reference_methods.deep.archs import create_arch
from reference_methods.deep.export import (
    SUBMISSIONS,
    Submission,
    export_module,
    export_submission,
    manifest_for,
)
from reference_methods.deep.inference import load_network, run_network

CASES = [
    ("srcnn", {"scale": 3}, None),
    ("vdsr", {"scale": 2}, None),
    ("espcn", {"scale": 4}, None),
    ("srresnet", {"scale": 4}, None),
    ("dncnn", {}, None),
    ("rrdbnet", {"scale": 4}, None),
    ("ipt", {"task": "sr2"}, 40),
    ("ipt", {"task": "denoise25"}, 40),
]


def _random_net(name, params):
    torch.manual_seed(0)
    net = create_arch(name, **params)
    # TransformerEncoder clones its first layer: perturb every weight so no two tensors are equal
    # (the exporter would de-duplicate them). Non-trivial batch-norm statistics, so the export must
    # carry them.
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


@pytest.mark.parametrize(("name", "params", "fixed"), CASES)
def test_onnx_export_matches_pytorch_on_other_sizes_and_batches(tmp_path, name, params, fixed):
    net = _random_net(name, params)
    path = export_module(net, tmp_path / f"{name}.onnx", fixed_size=fixed)
    info = inspect_onnx(path, channels=1)  # passes the submission checks: standard ops, no external data
    # The exporter folds batch norm into the convolutions, adds small constants (bicubic taps) and
    # keeps only what the forward pass uses (IPT: one task's head and tail): the ONNX parameter count
    # stays within 1% of the PyTorch parameters that receive a gradient.
    net(torch.rand(1, 1, fixed or 16, fixed or 16)).sum().backward()
    torch_params = sum(p.numel() for p in net.parameters() if p.grad is not None)
    assert abs(info.parameters - torch_params) <= 0.01 * torch_params
    x = torch.rand(3, 1, fixed or 17, fixed or 26)  # not the export example's size or batch
    with torch.no_grad():
        expected = net(x).numpy()
    got = ort.InferenceSession(str(path)).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_every_submission_entry_names_a_task_and_scale():
    assert set(SUBMISSIONS) >= {
        "srcnn_x3",
        "vdsr_x4",
        "espcn_x2",
        "srresnet_x4",
        "srgan_x4",
        "esrgan_x4",
        "dncnn_s25",
        "ipt_denoise25",
        "ipt_x4",
    }
    for sub in SUBMISSIONS.values():
        assert (sub.task == "sr") == (sub.scale > 1)


def test_exported_sr_model_runs_in_the_sandbox_and_matches_pytorch(tmp_path):
    # A sigmoid keeps the untrained network's outputs inside the declared [0, 1] range.
    net = torch.nn.Sequential(_random_net("espcn", {"scale": 2}), torch.nn.Sigmoid()).eval()
    path = export_module(net, tmp_path / "espcn.onnx")
    manifest = manifest_for(Submission("espcn_x2", "sr", 2), None)
    assert manifest == {"format": "onnx", "task": "sr", "color": "y", "scale": 2}
    inputs = tmp_path / "in"
    inputs.mkdir()
    gray = np.random.default_rng(0).integers(0, 256, (20, 18), dtype=np.uint8)
    Image.fromarray(gray).save(inputs / "g.png")
    report = run_model_submission(path, manifest, inputs, tmp_path / "out")
    assert report.ok, report.error
    with torch.no_grad():
        y = net(torch.from_numpy(gray / 255.0).float()[None, None])[0, 0].numpy()
    expected = np.floor(np.clip(y, 0, 1) * 255 + 0.5)
    got = np.asarray(Image.open(tmp_path / "out" / "g.png"), dtype=np.float64)
    assert got.shape == (40, 36)
    assert np.abs(got - expected).max() <= 1
    json.dumps(report.to_dict())


def test_fixed_size_ipt_runs_tiled_in_the_sandbox_like_the_in_process_tiling(tmp_path):
    net = torch.nn.Sequential(_random_net("ipt", {"task": "denoise25"}), torch.nn.Sigmoid()).eval()
    path = export_module(net, tmp_path / "ipt.onnx", fixed_size=40)
    manifest = manifest_for(Submission("ipt", "denoise", 1, {"task": "denoise25"}), 40)
    assert (manifest["tile_size"], manifest["tile_overlap"]) == (40, 8)
    inputs = tmp_path / "in"
    inputs.mkdir()
    gray = np.random.default_rng(1).integers(0, 256, (70, 90), dtype=np.uint8)
    Image.fromarray(gray).save(inputs / "n.png")
    report = run_model_submission(path, manifest, inputs, tmp_path / "out")
    assert report.ok, report.error
    got = np.asarray(Image.open(tmp_path / "out" / "n.png"), dtype=np.float64)
    x = torch.from_numpy(gray / 255.0).float()[None, None]
    expected = run_network(net, x, scale=1, fixed=40, overlap=8)[0, 0].numpy()
    assert got.shape == (70, 90)
    assert np.abs(got - np.floor(expected * 255 + 0.5)).max() <= 1


@pytest.mark.parametrize(("entry", "scale"), [("srresnet_x2", 2), ("esrgan_x4", 4)])
def test_exported_reference_submission_is_the_trained_network_clamped_to_its_declared_range(
    tmp_path, entry, scale
):
    path, manifest = export_submission(entry, tmp_path)
    assert manifest == {"format": "onnx", "task": "sr", "color": "y", "scale": scale}
    assert json.loads((tmp_path / f"{entry}.manifest.json").read_text()) == manifest
    # A hard black/white checkerboard: unclamped, the network overshoots at its edges.
    x = np.kron(np.indices((4, 4)).sum(0) % 2, np.ones((6, 6))).astype(np.float32)[None, None]
    got = ort.InferenceSession(str(path)).run(None, {"input": x})[0]
    with torch.no_grad():
        raw = load_network(entry)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, np.clip(raw, 0, 1), atol=2e-5)
    assert got.min() >= 0 and got.max() <= 1
