"""Shared fixtures for evaluator tests: deterministic images written to disk in various formats.

(Tests run with --import-mode=importlib, so helpers are handed out as fixtures, not imported.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _noisy_pair(
    h: int = 40, w: int = 48, channels: int = 3, seed: int = 0, noise: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """(gt, pred) uint8 arrays; pred = gt + bounded integer noise, clipped."""
    r = np.random.Generator(np.random.PCG64(seed))
    shape = (h, w, channels) if channels == 3 else (h, w)
    gt = r.integers(0, 256, shape, dtype=np.int64)
    pred = np.clip(gt + r.integers(-noise, noise + 1, shape), 0, 255)
    return gt.astype(np.uint8), pred.astype(np.uint8)


def _save(arr: np.ndarray, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kwargs)
    return path


@pytest.fixture
def noisy_pair() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return _noisy_pair


@pytest.fixture
def save_image() -> Callable[..., Path]:
    return _save


@pytest.fixture
def make_pairs(tmp_path: Path) -> Callable[..., tuple[Path, Path, dict]]:
    """Write n (gt, pred) PNG pairs into tmp_path/gt and tmp_path/pred; returns (pred_dir, gt_dir, arrays)."""

    def make(n: int = 3, h: int = 40, w: int = 48, channels: int = 3) -> tuple[Path, Path, dict]:
        arrays = {}
        for i in range(n):
            gt, pred = _noisy_pair(h, w, channels, seed=i)
            _save(gt, tmp_path / "gt" / f"img{i:02d}.png")
            _save(pred, tmp_path / "pred" / f"img{i:02d}.png")
            arrays[f"img{i:02d}.png"] = (gt, pred)
        return tmp_path / "pred", tmp_path / "gt", arrays

    return make


@pytest.fixture
def conv_onnx(tmp_path: Path) -> Path:
    """A one-layer 3→8 3×3 convolution as an ONNX file (input (n, 3, h, w)), for runtime tests."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [weight],
    )
    path = tmp_path / "conv.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path
