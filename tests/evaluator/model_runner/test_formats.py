"""Refused model files never start a process, and the report says exactly why."""

import json
import pickle
import struct

import numpy as np
import pytest
import torch

from evaluator.model_runner import run_model_submission
from evaluator.model_runner.formats import detect_format, inspect_safetensors

DENOISE_GRAY = {"task": "denoise", "color": "gray"}


def _run(model, inputs, tmp_path, manifest=DENOISE_GRAY):
    report = run_model_submission(model, manifest, inputs, tmp_path / "out")
    assert not report.ok
    assert report.images == [] and report.exit_status is None  # nothing was started
    return report


class _Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_random_bytes_are_not_a_model(tmp_path, gray_inputs):
    path = tmp_path / "model.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "invalid_file"
    assert "model.onnx" in report.error


def test_empty_file_is_named(tmp_path, gray_inputs):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    assert "empty" in _run(path, gray_inputs, tmp_path).error


def test_protobuf_like_garbage_is_not_a_valid_onnx_model(tmp_path, gray_inputs):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07" + b"\xff" * 50)
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "invalid_file" and "not a valid ONNX model" in report.error


def test_pickle_is_refused_with_the_reason(tmp_path, gray_inputs):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "refused_format"
    assert "pickle" in report.error and "execute arbitrary code" in report.error


def test_legacy_torch_save_is_refused_as_a_pickle(tmp_path, gray_inputs):
    path = tmp_path / "legacy.pt"
    torch.save(_Tiny().state_dict(), path, _use_new_zipfile_serialization=False)
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "refused_format" and "pickle" in report.error


def test_torch_save_zip_archive_is_refused(tmp_path, gray_inputs):
    path = tmp_path / "weights.pt"
    torch.save(_Tiny().state_dict(), path)
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "refused_format" and "torch.save archive" in report.error


def test_torchscript_archive_is_refused(tmp_path, gray_inputs):
    path = tmp_path / "scripted.pt"
    torch.jit.script(_Tiny()).save(str(path))
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "refused_format"
    assert "TorchScript" in report.error and "ONNX" in report.error


def test_torch_export_archive_is_refused(tmp_path, gray_inputs):
    path = tmp_path / "exported.pt2"
    program = torch.export.export(_Tiny(), (torch.zeros(1, 1, 8, 8),))
    torch.export.save(program, str(path))
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "refused_format" and "torch.export" in report.error


def test_npy_array_is_not_a_model(tmp_path, gray_inputs):
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros(4))
    assert _run(path, gray_inputs, tmp_path).error_kind == "invalid_file"


def test_onnx_with_custom_op_domain_is_refused(tmp_path, models, gray_inputs):
    report = _run(models.custom_op(), gray_inputs, tmp_path)
    assert report.error_kind == "custom_op"
    assert "com.example.evil" in report.error


def test_onnx_with_external_data_is_refused(tmp_path, models, gray_inputs):
    path = models.external_data()
    assert (path.parent / "weights.bin").exists()
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "external_data"
    assert "external data" in report.error


def test_onnx_with_wrong_channel_count_for_color_mode_is_refused(tmp_path, models, gray_inputs):
    report = _run(models.box_blur(), gray_inputs, tmp_path, {"task": "denoise", "color": "rgb"})
    assert report.error_kind == "interface" and "1 channels" in report.error and "needs 3" in report.error


def test_manifest_format_must_match_the_file(tmp_path, models, gray_inputs):
    report = _run(
        models.box_blur(),
        gray_inputs,
        tmp_path,
        {**DENOISE_GRAY, "format": "safetensors", "architecture": "srcnn"},
    )
    assert report.error_kind == "manifest" and "is onnx" in report.error


def test_invalid_manifest_is_reported_before_the_model_is_read(tmp_path, models, gray_inputs):
    report = _run(models.box_blur(), gray_inputs, tmp_path, {"task": "denoise", "scale": 4})
    assert report.error_kind == "manifest" and "scale must be 1" in report.error


def _safetensors(path, tensors: dict[str, np.ndarray], corrupt_offsets: bool = False):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = array.astype("<f4").tobytes()
        end = offset + len(data) + (4 if corrupt_offsets else 0)
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, end]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
    return path


def test_safetensors_is_detected_and_its_parameters_counted(tmp_path):
    path = _safetensors(tmp_path / "w.safetensors", {"a.weight": np.ones((4, 1, 3, 3)), "a.bias": np.ones(4)})
    assert detect_format(path) == "safetensors"
    assert inspect_safetensors(path).parameters == 4 * 9 + 4


def test_safetensors_weights_need_an_architecture(tmp_path, gray_inputs):
    path = _safetensors(tmp_path / "w.safetensors", {"a": np.ones(3)})
    report = _run(path, gray_inputs, tmp_path)
    assert report.error_kind == "manifest" and "architecture" in report.error


def test_safetensors_with_inconsistent_offsets_is_invalid(tmp_path, gray_inputs):
    path = _safetensors(tmp_path / "w.safetensors", {"a": np.ones(3)}, corrupt_offsets=True)
    report = _run(path, gray_inputs, tmp_path, {**DENOISE_GRAY, "architecture": "dncnn"})
    assert report.error_kind == "invalid_file" and "data offsets" in report.error


@pytest.mark.parametrize("size", [0, 3])
def test_tiny_files_do_not_crash_detection(tmp_path, size):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00" * size)
    with pytest.raises(ValueError, match="x.bin"):
        detect_format(path)
