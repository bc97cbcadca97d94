"""The manifest that comes with a submitted model: what it restores and how to feed it.

A manifest is a small JSON object, validated here before anything touches the model file:

    {
      "task": "sr",                      # a task of benchdata.tasks that models can run on
      "scale": 4,                        # sr only: integer 2-8 (other tasks: 1 or absent)
      "color": "y",                      # rgb | gray | y   (what the network's channels are, below)
      "input_range": [0, 1],             # the intensity range the network expects
      "output_range": [0, 1],            # the intensity range the network produces
      "tile_size": 128,                  # input tile side in pixels, or null for whole images
      "tile_overlap": 16,                # pixels shared by neighbouring tiles (even, < tile_size)
      "architecture": "srcnn",           # safetensors only: a registered reference architecture
      "architecture_params": {"scale": 4},
      "mask_input": false,               # inpaint only: the mask as one more input channel
      "kernel_input": false,             # deblur, ONNX only: the blur kernel as a second input "kernel"
      "frames": 14                       # burst_sr only (required there), ONNX only: frames per sample
    }

`color` fixes the network's channel layout, NCHW float32:
- "rgb": 3 channels R, G, B; a gray input is replicated to 3 channels, and the output averaged back.
- "gray": 1 channel; an RGB input is run as a batch of its three channels separately.
- "y": 1 channel, the ITU-R BT.601 luma Y (MATLAB `rgb2ycbcr`); chroma is carried over from the
  input (bicubic-upscaled for SR), as in the SRCNN/VDSR protocol.

A multi-frame task (`burst_sr`: a sample is a folder of frames, one output image) feeds the network
the frames concatenated along the channel axis, frame-major: "rgb" (1, 3·frames, h, w) — frame 0's
R, G, B, then frame 1's, ...; "gray" (1, frames, h, w), or (3, frames, h, w) for RGB frames (each colour
channel a batch item). The output is one image, (1, 3, s·h, s·w) or (N, 1, s·h, s·w), aligned with
frame 0. The "y" mode is refused for it (its chroma would come from one frame).

Ranges map the platform's [0, 1] intensities linearly: x_model = lo + (hi - lo) * x.

Side inputs, for non-blind models (the phase must disclose them; see side_inputs.py):
- `mask_input` (task "inpaint"): the input tensor gets one more channel after the colour channels,
  the mask, 1.0 = missing and 0.0 = known whatever `input_range` is; the output keeps the colour
  channels only. Every item of a batch (gray mode on RGB images) gets the image's mask.
- `kernel_input` (task "deblur", ONNX only): the graph has a second input named "kernel", float32
  (1, 1, kh, kw), fed the image's blur kernel (non-negative, sums to 1), the same for every tile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from benchdata.tasks import list_tasks

TASKS = tuple(t.name for t in list_tasks())
_MULTI_FRAME = tuple(t.name for t in list_tasks() if t.multi_frame)
MAX_FRAMES = 64
_SCALED = tuple(t.name for t in list_tasks() if t.scaled)
# Side inputs a model may take: those its task's methods need (the task table's `method_needs`).
_MASKED = tuple(t.name for t in list_tasks() if t.name in TASKS and "mask" in t.method_needs)
_KERNELED = tuple(t.name for t in list_tasks() if t.name in TASKS and "kernel" in t.method_needs)
COLORS = ("rgb", "gray", "y")
FORMATS = ("onnx", "safetensors")
_KNOWN_KEYS = {
    "format",
    "task",
    "scale",
    "color",
    "input_range",
    "output_range",
    "tile_size",
    "tile_overlap",
    "architecture",
    "architecture_params",
    "mask_input",
    "kernel_input",
    "frames",
}
MAX_TILE = 4096


class ManifestError(ValueError):
    """The manifest is invalid; the message lists every problem found."""


@dataclass(frozen=True)
class Manifest:
    """A validated model manifest (see the module docstring for each field)."""

    task: str
    scale: int = 1
    color: str = "rgb"
    input_range: tuple[float, float] = (0.0, 1.0)
    output_range: tuple[float, float] = (0.0, 1.0)
    tile_size: int | None = None
    tile_overlap: int = 16
    format: str | None = None
    architecture: str | None = None
    architecture_params: Mapping[str, Any] = field(default_factory=dict)
    mask_input: bool = False
    kernel_input: bool = False
    frames: int = 1

    @property
    def channels(self) -> int:
        """Colour channels of the network's input and output tensors."""
        return 3 if self.color == "rgb" else 1

    @property
    def input_channels(self) -> int:
        """Channels of the network's image input: the colour channels (of every frame), plus the mask
        when asked."""
        return self.channels * self.frames + (1 if self.mask_input else 0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_range"] = list(self.input_range)
        d["output_range"] = list(self.output_range)
        d["architecture_params"] = dict(self.architecture_params)
        return d


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _range(name: str, value: Any, problems: list[str]) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(_number(v) for v in value)
        or not value[0] < value[1]
    ):
        problems.append(f"{name} must be [low, high] with finite numbers and low < high, got {value!r}")
        return (0.0, 1.0)
    return (float(value[0]), float(value[1]))


def parse_manifest(data: Mapping[str, Any] | Manifest) -> Manifest:
    """Validate a manifest given as a plain dict (e.g. parsed JSON); raise ManifestError listing problems."""
    if isinstance(data, Manifest):
        return data
    if not isinstance(data, Mapping):
        raise ManifestError(f"the manifest must be a JSON object, got {type(data).__name__}")
    problems: list[str] = []
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        problems.append(
            f"unknown field(s) {', '.join(unknown)}; valid fields: {', '.join(sorted(_KNOWN_KEYS))}"
        )

    task = data.get("task")
    if task not in TASKS:
        problems.append(f"task must be one of {', '.join(TASKS)}, got {task!r}")

    scale = data.get("scale", 1)
    if not isinstance(scale, int) or isinstance(scale, bool):
        problems.append(f"scale must be an integer, got {scale!r}")
        scale = 1
    elif task in _SCALED and not 2 <= scale <= 8:
        problems.append(f"scale must be an integer from 2 to 8 for task {task!r}, got {scale}")
    elif task not in _SCALED and scale != 1:
        problems.append(f"scale must be 1 (or absent) for task {task!r}, got {scale}")

    color = data.get("color", "rgb")
    if color not in COLORS:
        problems.append(f"color must be one of {', '.join(COLORS)}, got {color!r}")

    input_range = _range("input_range", data.get("input_range", [0, 1]), problems)
    output_range = _range("output_range", data.get("output_range", [0, 1]), problems)

    tile_size = data.get("tile_size")
    overlap = data.get("tile_overlap", 16)
    if tile_size is not None and (
        not isinstance(tile_size, int) or isinstance(tile_size, bool) or not 8 <= tile_size <= MAX_TILE
    ):
        problems.append(f"tile_size must be null or an integer from 8 to {MAX_TILE}, got {tile_size!r}")
        tile_size = None
    if not isinstance(overlap, int) or isinstance(overlap, bool) or overlap < 0 or overlap % 2:
        problems.append(f"tile_overlap must be a non-negative even integer, got {overlap!r}")
        overlap = 0
    elif tile_size is not None and overlap >= tile_size // 2:
        problems.append(f"tile_overlap ({overlap}) must be less than half of tile_size ({tile_size})")

    fmt = data.get("format")
    if fmt is not None and fmt not in FORMATS:
        problems.append(f"format must be one of {', '.join(FORMATS)} (or absent to detect), got {fmt!r}")
    architecture = data.get("architecture")
    arch_params = data.get("architecture_params", {})
    if architecture is not None and (not isinstance(architecture, str) or not architecture):
        problems.append(f"architecture must be a non-empty string, got {architecture!r}")
    if not isinstance(arch_params, Mapping) or not all(
        isinstance(k, str) and (_number(v) or isinstance(v, str | bool)) for k, v in arch_params.items()
    ):
        problems.append("architecture_params must be an object of numbers, strings or booleans")
        arch_params = {}
    if fmt == "safetensors" and architecture is None:
        problems.append("format 'safetensors' needs 'architecture' (a registered reference architecture)")
    if fmt == "onnx" and architecture is not None:
        problems.append("'architecture' applies to safetensors weights only; an ONNX model carries its graph")

    mask_input = data.get("mask_input", False)
    kernel_input = data.get("kernel_input", False)
    safetensors = fmt == "safetensors" or architecture is not None
    if not isinstance(mask_input, bool):
        problems.append(f"mask_input must be true or false, got {mask_input!r}")
        mask_input = False
    elif mask_input and task not in _MASKED:
        problems.append(f"mask_input applies to task(s) {', '.join(_MASKED)} only, not {task!r}")
    elif mask_input and safetensors:
        problems.append("mask_input needs an ONNX model: no registered architecture takes a mask channel")
    if not isinstance(kernel_input, bool):
        problems.append(f"kernel_input must be true or false, got {kernel_input!r}")
        kernel_input = False
    elif kernel_input and task not in _KERNELED:
        problems.append(f"kernel_input applies to task(s) {', '.join(_KERNELED)} only, not {task!r}")
    elif kernel_input and safetensors:
        problems.append(
            "kernel_input needs an ONNX model with a second input named 'kernel'; safetensors "
            "architectures take the image only"
        )

    frames = _frames(data, task, color, safetensors, problems)
    if problems:
        raise ManifestError("invalid model manifest: " + "; ".join(problems))
    return Manifest(
        task=task,
        scale=scale,
        color=color,
        input_range=input_range,
        output_range=output_range,
        tile_size=tile_size,
        tile_overlap=overlap,
        format=fmt,
        architecture=architecture,
        architecture_params=dict(arch_params),
        mask_input=mask_input,
        kernel_input=kernel_input,
        frames=frames,
    )


def _frames(data: Mapping[str, Any], task: Any, color: Any, safetensors: bool, problems: list[str]) -> int:
    """The `frames` field: required (2 to MAX_FRAMES) for a multi-frame task, 1 or absent otherwise."""
    frames = data.get("frames", 1)
    if not isinstance(frames, int) or isinstance(frames, bool):
        problems.append(f"frames must be an integer, got {frames!r}")
        return 1
    if task not in _MULTI_FRAME:
        if frames != 1:
            problems.append(f"frames applies to task(s) {', '.join(_MULTI_FRAME)} only, not {task!r}")
        return 1
    if "frames" not in data or not 2 <= frames <= MAX_FRAMES:
        problems.append(
            f"task {task!r} needs frames, the frames per sample the network takes (2 to {MAX_FRAMES})"
        )
    if color == "y":
        problems.append(f"color 'y' is not available for task {task!r}: use rgb or gray")
    if safetensors:
        problems.append(f"task {task!r} needs an ONNX model: no registered architecture takes a burst")
    return frames
