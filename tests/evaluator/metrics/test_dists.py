"""DISTS: the weights are the authors' published ones, and the network equals the reference implementations.

Needs the weights provisioned by scripts/bootstrap.sh (`python -m evaluator provision-dists`).
"""

import io
import sys
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision

from evaluator import ScoringSpec, score
from evaluator import dists_weights as dw
from evaluator.errors import WeightsNotInstalled
from evaluator.metrics import create_metric
from evaluator.weights import ProvisioningError, sha256_file


@pytest.fixture(scope="module", autouse=True)
def _require_weights():
    assert dw.dists_provisioned(), (
        "DISTS weights are not provisioned: run `python -m evaluator provision-dists`"
    )


@pytest.fixture(scope="module")
def metric():
    return create_metric("dists", device="cpu")


def _pair(seed: int, h: int = 64, w: int = 72) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    gt = torch.rand(2, 3, h, w, generator=g, dtype=torch.float64)
    pred = (gt + 0.15 * torch.randn(gt.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return pred, gt


def _fill_stages(model: torch.nn.Module, state: dict) -> None:
    """Copy our trunk into a reference model built as stage1..stage5 around VGG16's layer indices."""
    loaded = 0
    for s in range(1, 6):
        for idx, module in getattr(model, f"stage{s}").named_children():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data.copy_(state[f"features.{idx}.weight"])
                module.bias.data.copy_(state[f"features.{idx}.bias"])
                loaded += 1
    assert loaded == 13


def test_alpha_and_beta_are_the_authors_published_weights_bit_for_bit():
    published = Path(sys.prefix) / "weights.pt"  # where the DISTS-pytorch wheel installs its weights
    assert sha256_file(published) == dw.DISTS_WEIGHTS_SHA256
    # pyiqa downloads the same file under a torch.hub name carrying its SHA-256 prefix.
    from pyiqa.archs import dists_arch

    assert dists_arch.default_model_urls["url"].endswith(f"DISTS_weights-{dw.DISTS_WEIGHTS_SHA256[:8]}.pth")
    ref = torch.load(published, map_location="cpu", weights_only=True)
    ours, _ = dw.load_dists_weights()
    assert torch.equal(ours["alpha"], ref["alpha"]) and torch.equal(ours["beta"], ref["beta"])


def test_provisioned_file_has_the_reference_checksum():
    # The conversion is byte-reproducible, so every host records this SHA-256 for the same weights.
    entry = dw.read_dists_manifest()["files"][dw.DISTS_FILE]
    assert entry["sha256"] == "9d6fb82792336a05d81eaf4a80b8e0f86bf58d032845f7c33418f4a36a84ea46"
    assert entry["source_sha256"] == dw.DISTS_WEIGHTS_SHA256


def test_dists_equals_the_authors_implementation(monkeypatch, metric):
    from DISTS_pytorch import DISTS_pt

    build = torchvision.models.vgg16
    monkeypatch.setattr(DISTS_pt.models, "vgg16", lambda **kw: build(weights=None))  # no download
    ref = DISTS_pt.DISTS(load_weights=True).eval()
    state, _ = dw.load_dists_weights()
    _fill_stages(ref, state)
    pred, gt = _pair(0)
    with torch.no_grad():
        expected = ref(pred.float(), gt.float()).double()
    assert torch.allclose(metric(pred, gt), expected, rtol=1e-6, atol=1e-7)


def test_dists_equals_pyiqa_architecture(monkeypatch, metric):
    from pyiqa.archs import dists_arch

    build = torchvision.models.vgg16
    monkeypatch.setattr(dists_arch.models, "vgg16", lambda **kw: build(weights=None))
    ref = dists_arch.DISTS(pretrained=False).eval()
    state, _ = dw.load_dists_weights()
    _fill_stages(ref, state)
    ref.alpha.data.copy_(state["alpha"])
    ref.beta.data.copy_(state["beta"])
    pred, gt = _pair(1, h=48, w=40)
    with torch.no_grad():
        expected = ref(pred.float(), gt.float()).flatten().double()
    assert torch.allclose(metric(pred, gt), expected, rtol=1e-5, atol=1e-6)


def test_dists_is_zero_for_identical_images_and_symmetric(metric):
    pred, gt = _pair(2)
    assert torch.allclose(metric(gt, gt), torch.zeros(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(metric(pred, gt), metric(gt, pred), atol=1e-7)


def test_dists_grows_with_distortion(metric):
    _, gt = _pair(3)
    g = torch.Generator().manual_seed(9)
    noise = torch.randn(gt.shape, generator=g, dtype=torch.float64)
    scores = [metric((gt + s * noise).clamp(0, 1), gt)[0].item() for s in (0.02, 0.1, 0.3)]
    assert scores == sorted(scores) and scores[0] > 0


def test_gray_input_is_scored_as_three_equal_channels(metric):
    pred, gt = _pair(4)
    gray_p, gray_g = pred[:, :1], gt[:, :1]
    expected = metric(gray_p.expand(-1, 3, -1, -1), gray_g.expand(-1, 3, -1, -1))
    assert torch.equal(metric(gray_p, gray_g), expected)


def test_too_small_images_are_refused_with_the_reason(metric):
    with pytest.raises(ValueError, match="at least 32×32"):
        metric(torch.zeros(1, 3, 20, 64), torch.zeros(1, 3, 20, 64))


def test_scoring_a_submission_with_dists(make_pairs):
    pred, gt, _ = make_pairs(2)
    result = score(pred, gt, ScoringSpec(metrics=("psnr", "dists"), ranking_metric="dists", device="cpu"))
    assert all(0 < r.scores["dists"] < 1 for r in result.rows)
    record = result.record["metrics"]["dists"]
    assert record["higher_is_better"] is False and dw.DISTS_FILE in record["weights"]
    assert any(name.startswith("lpips_vgg") for name in record["weights"])  # the trunk's file is named too


def test_missing_weights_raise_the_install_hint_never_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no pyiqa cache either
    with pytest.raises(WeightsNotInstalled, match="provision-dists"):
        create_metric("dists", device="cpu", weights_root=str(tmp_path))


def test_tampered_weights_fail_the_checksum(tmp_path):
    import shutil

    shutil.copytree(dw.dists_dir().parent, tmp_path / "w")
    target = tmp_path / "w" / "dists" / dw.DISTS_FILE
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(WeightsNotInstalled, match="fail their checksum"):
        create_metric("dists", device="cpu", weights_root=str(tmp_path / "w"))


def _wheel_with(tmp_path: Path, payload: bytes) -> Path:
    wheel = tmp_path / dw.DISTS_WHEEL
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(dw.DISTS_MEMBER, payload)
    return wheel


def _alpha_beta_bytes(**extra) -> bytes:
    buf = io.BytesIO()
    state = {"alpha": torch.rand(1, 1475, 1, 1), "beta": torch.rand(1, 1475, 1, 1), **extra}
    torch.save(state, buf)
    return buf.getvalue()


def _with_lpips(tmp_path: Path) -> Path:
    """A weights root holding a copy of the provisioned LPIPS files (so only DISTS is provisioned)."""
    import shutil

    root = tmp_path / "root"
    shutil.copytree(dw.dists_dir().parent / "lpips", root / "lpips")
    return root


def test_provisioning_from_the_published_wheel_is_reproducible_and_idempotent(tmp_path):
    published = (Path(sys.prefix) / "weights.pt").read_bytes()
    root = _with_lpips(tmp_path)
    manifest = dw.provision_dists(_wheel_with(tmp_path, published), root)
    ours = dw.read_dists_manifest()
    assert manifest["files"][dw.DISTS_FILE]["sha256"] == ours["files"][dw.DISTS_FILE]["sha256"]
    assert dw.dists_provisioned(root)
    before = (root / "dists" / dw.DISTS_FILE).stat().st_mtime_ns
    dw.provision_dists(root=root)  # already there: no download, no rewrite
    assert (root / "dists" / dw.DISTS_FILE).stat().st_mtime_ns == before


def test_provisioning_refuses_other_weights(tmp_path):
    with pytest.raises(ProvisioningError, match="is not the pinned"):
        dw.provision_dists(_wheel_with(tmp_path, _alpha_beta_bytes()), _with_lpips(tmp_path))
    assert not (tmp_path / "root" / "dists" / dw.DISTS_FILE).exists()


def test_provisioning_never_runs_pickled_code(tmp_path, monkeypatch):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    torch.save({"alpha": Evil()}, buf)
    payload = buf.getvalue()
    monkeypatch.setattr(dw, "DISTS_WEIGHTS_SHA256", __import__("hashlib").sha256(payload).hexdigest())
    with pytest.raises(ProvisioningError, match="cannot load as plain tensors"):
        dw.provision_dists(_wheel_with(tmp_path, payload), _with_lpips(tmp_path))


def test_provisioning_checks_keys_and_shapes(tmp_path, monkeypatch):
    payload = _alpha_beta_bytes(gamma=torch.zeros(3))
    monkeypatch.setattr(dw, "DISTS_WEIGHTS_SHA256", __import__("hashlib").sha256(payload).hexdigest())
    with pytest.raises(ProvisioningError, match="exactly the tensors alpha and beta"):
        dw.provision_dists(_wheel_with(tmp_path, payload), _with_lpips(tmp_path))


def test_pyiqa_cache_is_used_when_ours_are_absent(tmp_path, monkeypatch, metric):
    hub = tmp_path / "torch" / "hub"
    (hub / "pyiqa").mkdir(parents=True)
    (hub / "pyiqa" / dw.PYIQA_DISTS_FILE).write_bytes((Path(sys.prefix) / "weights.pt").read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from_cache = create_metric("dists", device="cpu", weights_root=str(_with_lpips(tmp_path)))
    pred, gt = _pair(5)
    assert torch.equal(from_cache(pred, gt), metric(pred, gt))
    assert dw.PYIQA_DISTS_FILE in from_cache.record()["weights"]
    (hub / "pyiqa" / dw.PYIQA_DISTS_FILE).write_bytes(b"tampered")
    with pytest.raises(WeightsNotInstalled, match="fails its checksum"):
        create_metric("dists", device="cpu", weights_root=str(tmp_path / "root"))
