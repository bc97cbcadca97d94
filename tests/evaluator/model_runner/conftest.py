"""Tiny ONNX models, built with the onnx helper API, that behave well or badly in one precise way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

OPSET = 17


def _save(graph: onnx.GraphProto, path: Path, opset: int = OPSET, extra_opsets: tuple = ()) -> Path:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), *extra_opsets],
        producer_name="restorebench-tests",
    )
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _io(channels: int = 1):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", channels, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", channels, "H2", "W2"])
    return x, y


def _const(name: str, value) -> onnx.TensorProto:  # noqa: ANN001
    return numpy_helper.from_array(np.asarray(value), name)


class Models:
    """Builders; each returns the path of a fresh .onnx file in the test's tmp folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def affine(self, a: float, b: float, channels: int = 1, name: str = "affine") -> Path:
        """y = a·x + b, elementwise."""
        x, y = _io(channels)
        nodes = [
            helper.make_node("Mul", ["input", "a"], ["ax"]),
            helper.make_node("Add", ["ax", "b"], ["output"]),
        ]
        inits = [_const("a", np.float32(a)), _const("b", np.float32(b))]
        return _save(helper.make_graph(nodes, name, [x], [y], inits), self.folder / f"{name}.onnx")

    def box_blur(self, fixed_hw: tuple[int, int] | None = None) -> Path:
        """3×3 mean filter with zero padding (one channel)."""
        shape = ["N", 1, *(fixed_hw or ("H", "W"))]
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)
        y = helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)
        w = _const("w", np.full((1, 1, 3, 3), 1 / 9, dtype=np.float32))
        node = helper.make_node("Conv", ["input", "w"], ["output"], pads=[1, 1, 1, 1])
        return _save(helper.make_graph([node], "blur", [x], [y], [w]), self.folder / "blur.onnx")

    def nearest_upscale(self, scale: int, channels: int = 3) -> Path:
        x, y = _io(channels)
        scales = _const("scales", np.array([1, 1, scale, scale], dtype=np.float32))
        node = helper.make_node("Resize", ["input", "", "scales"], ["output"], mode="nearest")
        return _save(helper.make_graph([node], "up", [x], [y], [scales]), self.folder / f"up{scale}.onnx")

    def half_size(self) -> Path:
        """Wrong shape for denoising: keeps every other pixel."""
        x, y = _io(1)
        node = helper.make_node("MaxPool", ["input"], ["output"], kernel_shape=[2, 2], strides=[2, 2])
        return _save(helper.make_graph([node], "half", [x], [y]), self.folder / "half.onnx")

    def nan_model(self) -> Path:
        """sqrt(-x - 1): NaN everywhere."""
        x, y = _io(1)
        nodes = [
            helper.make_node("Neg", ["input"], ["n"]),
            helper.make_node("Sub", ["n", "one"], ["m"]),
            helper.make_node("Sqrt", ["m"], ["output"]),
        ]
        return _save(
            helper.make_graph(nodes, "nan", [x], [y], [_const("one", np.float32(1))]),
            self.folder / "nan.onnx",
        )

    def custom_op(self) -> Path:
        x, y = _io(1)
        node = helper.make_node("Sharpen", ["input"], ["output"], domain="com.example.evil")
        return _save(
            helper.make_graph([node], "custom", [x], [y]),
            self.folder / "custom.onnx",
            extra_opsets=(helper.make_opsetid("com.example.evil", 1),),
        )

    def external_data(self) -> Path:
        path = self.affine(1.0, 0.0, name="ext")
        model = onnx.load(str(path))
        onnx.save(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="weights.bin",
            size_threshold=0,
        )
        return path

    def loop(self, iterations: int, name: str = "loop") -> Path:
        """Adds 0 to the image `iterations` times in an ONNX Loop: as slow as we like."""
        x, y = _io(1)
        body = helper.make_graph(
            [
                helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                helper.make_node("Add", ["v_in", "zero"], ["v_out"]),
            ],
            "body",
            [
                helper.make_tensor_value_info("i", TensorProto.INT64, []),
                helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None),
            ],
            [
                helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None),
            ],
            [_const("zero", np.float32(0))],
        )
        node = helper.make_node("Loop", ["M", "cond", "input"], ["output"], body=body)
        inits = [_const("M", np.int64(iterations)), _const("cond", np.bool_(True))]
        return _save(helper.make_graph([node], name, [x], [y], inits), self.folder / f"{name}.onnx")

    def huge_allocation(self) -> Path:
        """Tiles the image 2^22 times along channels (4 GiB for a 16×16 image) before averaging it back."""
        x, y = _io(1)
        nodes = [
            helper.make_node("Tile", ["input", "shape"], ["big"]),
            helper.make_node("ReduceMean", ["big"], ["output"], axes=[1], keepdims=1),
        ]
        return _save(
            helper.make_graph(
                nodes, "huge", [x], [y], [_const("shape", np.array([1, 2**22, 1, 1], np.int64))]
            ),
            self.folder / "huge.onnx",
            opset=13,
        )

    def fixed_reshape(self, side: int) -> Path:
        """Works only on side×side images (reshapes to a fixed shape), so it fails on the first other size."""
        x, y = _io(1)
        node = helper.make_node("Reshape", ["input", "shape"], ["output"])
        shape = _const("shape", np.array([1, 1, side, side], np.int64))
        return _save(helper.make_graph([node], "reshape", [x], [y], [shape]), self.folder / "reshape.onnx")

    def masked_fill(self, channels: int, fill: float, fixed_hw: tuple[int, int] | None = None) -> Path:
        """Inpainting net with the mask as input channel `channels`: y = x·(1 − m) + fill·m."""
        hw = list(fixed_hw or ("H", "W"))
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", channels + 1, *hw])
        y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", channels, *hw])
        nodes = [
            helper.make_node("Slice", ["input", "zero", "c", "axis"], ["image"]),
            helper.make_node("Slice", ["input", "c", "c1", "axis"], ["mask"]),
            helper.make_node("Sub", ["one", "mask"], ["known"]),
            helper.make_node("Mul", ["image", "known"], ["kept"]),
            helper.make_node("Mul", ["mask", "fill"], ["filled"]),
            helper.make_node("Add", ["kept", "filled"], ["output"]),
        ]
        inits = [
            _const("zero", np.array([0], np.int64)),
            _const("c", np.array([channels], np.int64)),
            _const("c1", np.array([channels + 1], np.int64)),
            _const("axis", np.array([1], np.int64)),
            _const("one", np.float32(1)),
            _const("fill", np.float32(fill)),
        ]
        name = f"fill{channels}" + ("_fixed" if fixed_hw else "")
        return _save(helper.make_graph(nodes, name, [x], [y], inits), self.folder / f"{name}.onnx")

    def kernel_conv(self, kernel_name: str = "kernel", kernel_shape: list | None = None) -> Path:
        """Non-blind deblurring stand-in (one channel): correlates the image with its "kernel" input
        (zero padding, same size). `kernel_shape` is the declared shape of that input."""
        x, y = _io(1)
        k = helper.make_tensor_value_info(kernel_name, TensorProto.FLOAT, kernel_shape or [1, 1, "kh", "kw"])
        node = helper.make_node("Conv", ["input", kernel_name], ["output"], auto_pad="SAME_UPPER")
        return _save(helper.make_graph([node], "kconv", [x, k], [y]), self.folder / "kconv.onnx")

    def kernel_peak(self, channels: int = 3) -> Path:
        """Outputs the largest tap of its "kernel" input everywhere: y = 0·x + max(kernel)."""
        x, y = _io(channels)
        k = helper.make_tensor_value_info("kernel", TensorProto.FLOAT, [1, 1, "kh", "kw"])
        nodes = [
            helper.make_node("ReduceMax", ["kernel"], ["peak"], keepdims=1),
            helper.make_node("Mul", ["input", "zero"], ["blank"]),
            helper.make_node("Add", ["blank", "peak"], ["output"]),
        ]
        inits = [_const("zero", np.float32(0))]
        return _save(helper.make_graph(nodes, "kpeak", [x, k], [y], inits), self.folder / "kpeak.onnx")


def burst_mean_upscale(folder: Path, frames: int, channels: int, scale: int) -> Path:
    """Burst net: the mean of the `frames` frames (stacked frame-major on the channel axis), upscaled
    by nearest neighbour: input (N, frames·channels, H, W), output (N, channels, s·H, s·W)."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", frames * channels, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", channels, "H2", "W2"])
    nodes, inits = [], [_const("axis", np.array([1], np.int64))]
    for f in range(frames):
        inits += [_const(f"s{f}", np.array([f * channels], np.int64))]
        inits += [_const(f"e{f}", np.array([(f + 1) * channels], np.int64))]
        nodes.append(helper.make_node("Slice", ["input", f"s{f}", f"e{f}", "axis"], [f"frame{f}"]))
    nodes.append(helper.make_node("Sum", [f"frame{f}" for f in range(frames)], ["total"]))
    nodes.append(helper.make_node("Mul", ["total", "inv"], ["mean"]))
    nodes.append(helper.make_node("Resize", ["mean", "", "scales"], ["output"], mode="nearest"))
    inits += [
        _const("inv", np.float32(1.0 / frames)),
        _const("scales", np.array([1, 1, scale, scale], dtype=np.float32)),
    ]
    return _save(helper.make_graph(nodes, "burst", [x], [y], inits), folder / f"burst{frames}.onnx")


@pytest.fixture
def models(tmp_path: Path) -> Models:
    folder = tmp_path / "models"
    folder.mkdir()
    return Models(folder)


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def gray_inputs(tmp_path: Path) -> Path:
    """Three gray 8-bit images of different sizes (the last one larger than a test tile)."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, shape in (("a.png", (16, 16)), ("b.png", (20, 24)), ("c.png", (70, 50))):
        write_png(folder / name, rng.integers(0, 256, shape, dtype=np.uint8))
    return folder


@pytest.fixture
def rgb_inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "rgb_inputs"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, shape in (("x.png", (12, 10, 3)), ("y.png", (9, 17, 3))):
        write_png(folder / name, rng.integers(0, 256, shape, dtype=np.uint8))
    return folder
