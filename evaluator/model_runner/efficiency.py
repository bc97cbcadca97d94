"""What the sandboxed child measures of a submitted model's efficiency (loaded by child.py by path).

Everything here runs inside the sandbox, after the child has confined itself: counting FLOPs opens
and shape-infers the participant's graph, and where static inference cannot tell a shape it runs the
model (evaluator/profile.py), so the worker itself never does either.

The counts (evaluator/profile.py: params, macs = flops in fvcore's convention, activations, operators
it could not count) are taken at the track's reference input: batch 1, the channels the manifest
feeds the network for one image (3 for `rgb`, 1 for `gray`/`y`, times `frames`, plus 1 for a
`mask_input`), and the track's (height, width) — for a scaled task the low-resolution input. A model
with a fixed input size is counted at that size and multiplied by the number of tiles the runner runs
to cover the reference input (tiling.py). A safetensors architecture is exported to ONNX inside the
sandbox (reference_methods/deep/export.py) and counted the same way.

Arrays: NCHW float32.
"""

from __future__ import annotations

import glob
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def reference_shape(manifest: dict, hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """(1, C, H, W): the network input for one reference-size image under `manifest`."""
    channels = (3 if manifest["color"] == "rgb" else 1) * int(manifest.get("frames", 1))
    channels += 1 if manifest.get("mask_input") else 0
    return (1, channels, int(hw[0]), int(hw[1]))


def tiles_for(hw: tuple[int, int], fixed_hw: tuple[int, int], overlap: int, tile_spans: Callable) -> int:
    """How many fixed-size tiles the runner runs to cover an `hw` input (tiling.run_tiled)."""
    rows = tile_spans(hw[0], fixed_hw[0], overlap if hw[0] > fixed_hw[0] else 0)
    cols = tile_spans(hw[1], fixed_hw[1], overlap if hw[1] > fixed_hw[1] else 0)
    return len(rows) * len(cols)


def _scaled(counts: dict, tiles: int) -> dict:
    """Counts of one fixed-size tile, times the tiles that cover the reference input."""
    out = dict(counts)
    for key in ("macs", "flops", "activations"):
        out[key] = counts[key] * tiles
    out["tiles"] = tiles
    return out


def _record(
    counts_fn: Callable[[], dict], shape: tuple[int, ...], counted: tuple[int, ...], tiles: int
) -> dict:
    """Run the count; an error is recorded (the run goes on, scored as usual), never a zero."""
    try:
        counts = counts_fn()
    except Exception as exc:  # noqa: BLE001 - any failure of the participant's graph
        return {"input": list(shape), "error": f"{type(exc).__name__}: {exc}"[:500]}
    if tiles > 1 or tuple(counted) != tuple(shape):
        counts = _scaled(counts, tiles)
    counts["input"], counts["counted_input"] = list(shape), list(counted)
    return counts


def count_onnx(
    profile: Any,
    model: bytes,
    manifest: dict,
    hw: tuple[int, int],
    fixed_hw: tuple[int, int] | None,
    kernel_shape: tuple[int, ...] | None,
    tile_spans: Callable,
) -> dict:
    """The counts of an ONNX model (its file's bytes) at the reference input `hw`."""
    shape = reference_shape(manifest, hw)
    counted, tiles = shape, 1
    if fixed_hw is not None:
        counted = (*shape[:2], *fixed_hw)
        tiles = tiles_for(hw, fixed_hw, int(manifest.get("tile_overlap") or 0), tile_spans)
    others = {"kernel": tuple(kernel_shape)} if kernel_shape is not None else None
    return _record(lambda: profile.profile_counts(model, counted, others), shape, counted, tiles)


def count_torch(
    profile: Any,
    export: Callable,
    net: Any,
    manifest: dict,
    hw: tuple[int, int],
    scratch: Path,
    tile_spans: Callable,
) -> dict:
    """The counts of a torch architecture at the reference input `hw`: exported to ONNX in the scratch
    folder (on the CPU: call it before the network moves to a GPU), counted, the file removed."""
    shape = reference_shape(manifest, hw)
    fixed = getattr(net, "size", None)  # architectures with a fixed input size (IPT)
    counted, tiles = shape, 1
    if isinstance(fixed, int):
        counted = (*shape[:2], fixed, fixed)
        tiles = tiles_for(hw, (fixed, fixed), int(manifest.get("tile_overlap") or 0), tile_spans)
    path = scratch / "profile.onnx"

    def counts() -> dict:
        try:
            export(net, path, fixed_size=fixed if isinstance(fixed, int) else None, channels=shape[1])
            return profile.profile_counts(path.read_bytes(), counted)
        finally:
            path.unlink(missing_ok=True)

    return _record(counts, shape, counted, tiles)


def cpu_name() -> str:
    """The CPU's model name (read before the sandbox closes /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nvidia_gpu_name() -> str | None:
    """The first NVIDIA GPU's model, from the driver's /proc files (no CUDA library needed)."""
    for path in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("Model:"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            continue
    return None


def libraries(backend: str) -> dict[str, str]:
    """Versions of what ran the model (only modules the child has imported)."""
    names = (
        ("numpy", "onnxruntime", "onnx") if backend == "onnx" else ("numpy", "torch", "safetensors", "onnx")
    )
    out = {"python": platform.python_version()}
    for name in names:
        module = sys.modules.get(name)
        if module is not None:
            out[name] = str(getattr(module, "__version__", "?"))
    return out
