"""Helpers for the platform's model-submission tests: tiny ONNX models built with the ONNX helper API
(an RGB 1x1 convolution that is the identity, and models that misbehave in one precise way), and
participant inputs for an `Arena` phase, so a model has something to run on."""

import io
import json
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from rb_test_helpers import Arena, png_bytes

OPSET = 17
# What a model submission of the test tracks (denoising, RGB) declares.
MANIFEST = {"task": "denoise", "color": "rgb", "input_range": [0, 1], "output_range": [0, 1]}
IDENTITY_PARAMETERS = 3 * 3 + 3  # the 1x1 convolution's weights and biases


def _model_bytes(graph: onnx.GraphProto, extra_opsets: tuple = ()) -> bytes:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), *extra_opsets],
        producer_name="restorebench-tests",
    )
    model.ir_version = 8
    return model.SerializeToString()


def _io(channels: int = 3):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", channels, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", channels, "H2", "W2"])
    return x, y


def identity_conv_onnx() -> bytes:
    """One 3->3 1x1 convolution with the identity matrix as weights and zero bias: output = input."""
    x, y = _io(3)
    w = numpy_helper.from_array(np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1), "w")
    b = numpy_helper.from_array(np.zeros(3, dtype=np.float32), "b")
    node = helper.make_node("Conv", ["input", "w", "b"], ["output"])
    return _model_bytes(helper.make_graph([node], "identity", [x], [y], [w, b]))


def half_size_onnx() -> bytes:
    """Passes every static check but restores to the wrong shape (keeps every other pixel)."""
    x, y = _io(3)
    node = helper.make_node("MaxPool", ["input"], ["output"], kernel_shape=[2, 2], strides=[2, 2])
    return _model_bytes(helper.make_graph([node], "half", [x], [y]))


def custom_op_onnx() -> bytes:
    x, y = _io(3)
    node = helper.make_node("Sharpen", ["input"], ["output"], domain="com.example.evil")
    return _model_bytes(
        helper.make_graph([node], "custom", [x], [y]),
        extra_opsets=(helper.make_opsetid("com.example.evil", 1),),
    )


def external_data_onnx(folder: Path) -> bytes:
    """An identity model whose weights live in a separate file (only the .onnx is uploaded)."""
    model = onnx.load_from_string(identity_conv_onnx())
    path = folder / "external.onnx"
    onnx.save(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    return path.read_bytes()


def torchscript_bytes() -> bytes:
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, still common
        torch.jit.save(torch.jit.script(torch.nn.Conv2d(3, 3, 1)), buffer)
    return buffer.getvalue()


def pickle_bytes() -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0]}, protocol=4)


def give_inputs(arena: Arena, storage_dir: Path, *, noise: int = 8, seed: int = 7) -> dict[str, np.ndarray]:
    """Install noisy versions of the arena's ground truth as the phase's participant inputs (a
    track-data folder: `inputs/<name>.png` plus a manifest, built in a scratch folder under
    `storage_dir` and installed into the phase's own area); return them."""
    from restorebench.challenges.phase_data import phase_data_install

    inputs = arena.restored(noise=noise, seed=seed)
    storage_dir.mkdir(parents=True, exist_ok=True)  # the first test of a run may come before any upload
    with tempfile.TemporaryDirectory(dir=storage_dir) as source:
        folder = Path(source)
        (folder / "inputs").mkdir()
        for name, array in inputs.items():
            (folder / "inputs" / name).write_bytes(png_bytes(array))
        (folder / "manifest.json").write_text(json.dumps({"items": sorted(inputs)}))
        phase_data_install(phase=arena.phase, inputs_src=folder, ground_truth_src=None, actor=None)
    arena.phase.refresh_from_db()
    return inputs


def manifest_json(**changes) -> str:
    return json.dumps({**MANIFEST, **changes})
