"""The pyiqa bridge: an operator-enabled pyiqa metric runs from local files only, with pyiqa's direction
and mode, and its record names the implementation, version and weight files."""

import hashlib

import numpy as np
import pytest
import torch

from evaluator.errors import WeightsNotInstalled
from evaluator.metrics import create_metric, metric_info
from evaluator.metrics.pyiqa_bridge import PYIQA_CACHE_ENV, enable_pyiqa_metric
from evaluator.pyiqa_nr_files import write_pyiqa_brisque_file, write_pyiqa_niqe_file


def test_an_enabled_weightless_no_reference_pyiqa_metric_agrees_with_our_independent_piqe(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(PYIQA_CACHE_ENV, str(tmp_path))
    name = enable_pyiqa_metric("piqe")
    assert name == "pyiqa_piqe" and enable_pyiqa_metric("piqe") == name  # idempotent
    info = metric_info(name)
    assert not info.higher_is_better and not info.needs_reference
    g = torch.Generator().manual_seed(0)
    img = torch.rand(1, 3, 64, 80, generator=g, dtype=torch.float64)
    img = torch.nn.functional.avg_pool2d(img, 3, stride=1, padding=1)  # some structure
    ours, theirs = create_metric("piqe")(img, None), create_metric(name, device="cpu")(img, None)
    assert abs(ours.item() - theirs.item()) < 0.05  # independent implementations, float32 vs float64
    record = create_metric(name, device="cpu").record()
    assert record["implementation"].startswith("pyiqa ") and record["weights"] == {}
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing downloaded


def test_an_enabled_full_reference_pyiqa_metric_is_called_with_the_ground_truth(tmp_path, monkeypatch):
    monkeypatch.setenv(PYIQA_CACHE_ENV, str(tmp_path))
    name = enable_pyiqa_metric("psnr")
    assert metric_info(name).needs_reference and metric_info(name).higher_is_better
    g = torch.Generator().manual_seed(1)
    gt = torch.rand(2, 3, 40, 48, generator=g, dtype=torch.float64)
    pred = (gt + 0.05 * torch.randn(gt.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    got = create_metric(name, device="cpu")(pred, gt)
    mse = ((pred.float() - gt.float()) ** 2).double().mean(dim=(1, 2, 3)).numpy()
    assert np.allclose(got.numpy(), 10 * np.log10(1 / (mse + 1e-8)), atol=1e-3)  # pyiqa adds eps = 1e-8


def test_a_pyiqa_metric_whose_weights_are_not_local_is_refused_without_downloading(tmp_path, monkeypatch):
    monkeypatch.setenv(PYIQA_CACHE_ENV, str(tmp_path))
    name = enable_pyiqa_metric("musiq")
    with pytest.raises(WeightsNotInstalled, match="never downloads"):
        create_metric(name, device="cpu")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_an_unknown_pyiqa_metric_is_refused_by_name():
    with pytest.raises(ValueError, match="pyiqa has no metric 'no_such_metric'"):
        enable_pyiqa_metric("no_such_metric")


def test_the_record_of_a_pyiqa_metric_with_local_weights_names_each_files_sha256(tmp_path, monkeypatch):
    # pyiqa's BRISQUE weights, produced locally from LIVE's provisioned allmodel (no download): the record
    # must carry the SHA-256 of the very file pyiqa loaded, and pyiqa then agrees with our BRISQUE.
    monkeypatch.setenv(PYIQA_CACHE_ENV, str(tmp_path))
    weights = write_pyiqa_brisque_file(tmp_path)
    niqe_weights = write_pyiqa_niqe_file(tmp_path)  # read by scipy.io.loadmat, not torch.load
    expected = hashlib.sha256(weights.read_bytes()).hexdigest()
    metric = create_metric(enable_pyiqa_metric("brisque"), device="cpu")
    assert metric.record()["weights"] == {"brisque_svm_weights.pth": expected}
    niqe_record = create_metric(enable_pyiqa_metric("niqe"), device="cpu").record()
    niqe_sha256 = hashlib.sha256(niqe_weights.read_bytes()).hexdigest()
    assert niqe_record["weights"] == {"niqe_modelparameters.mat": niqe_sha256}
    g = torch.Generator().manual_seed(2)
    img = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 64, 80, generator=g, dtype=torch.float64), 3, 1, 1)
    ours, theirs = create_metric("brisque")(img, None).item(), metric(img, None).item()
    assert abs(ours - theirs) < 0.5, (ours, theirs)  # same LIVE model; float32 and resize details differ
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([weights.name, niqe_weights.name])
