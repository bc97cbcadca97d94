"""The degradation specification: a validated, JSON-serialisable description of y = Hx + n.

`DegradationSpec.from_dict` turns a plain dict (a challenge's config, a command line) into a frozen
spec, rejecting anything wrong with an error naming the field; `to_dict` gives back the complete
canonical dict (every default filled in), which is what track manifests record.

Fields (σ on the 0-255 scale; see docs/data.md for the full table):

- task: a task of the table (`benchdata.tasks`) that has a synthetic degradation: "denoise" | "deblur" |
  "sr" | "inpaint" | "jpeg" | "burst_sr". Which fields a task takes, and their defaults, are the table's.
- sigma: AWGN standard deviation, >= 0 (> 0 for denoise). Default 0.
- clip, quantize: clip the result to [0, 1]; round it to the 8-bit grid (k / 255; needs clip).
  Defaults: denoise and deblur False / False (the classic tables' unclipped float noise);
  sr and inpaint True / True (the SR protocol's LR is uint8; an inpainting input is a normal image).
- kernel (deblur; sr with model "blur_decimate"): {"type": "gaussian", "size": odd, "sigma": > 0} |
  {"type": "motion", "size": odd >= 3, "intensity": [0, 1]} (random, from the seed) |
  {"type": "file", "path": ".npy or .png"} | {"type": "array", "values": [[...]]}. Explicit and .npy
  kernels must sum to 1 unless "normalize": true; PNG kernels are always normalised.
- boundary: convolution boundary, "symmetric" (default) | "reflect" | "edge" | "wrap".
- scale (sr): 2, 3 or 4. model (sr): "bicubic" (MATLAB imresize, default) | "blur_decimate".
- mask (inpaint): {"type": "boxes" | "brush" | "pixels", "coverage": [0, 1), ...options} |
  {"type": "file", "path": "mask.png"}. fill (inpaint): value of missing pixels, [0, 1], default 0.
- quality (jpeg): JPEG quality 1-100 (baseline JPEG, 4:2:0 chroma; see degradations/jpeg.py).
- frames, scale, sigma, max_shift, max_rotation (burst_sr): frames per burst (2-64, default 14),
  downsampling factor (2, 3 or 4; default 4), noise, the largest shift in high-resolution pixels
  (default 24) and rotation in degrees (default 1) of a frame (see degradations/burst.py).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchdata.degradations.convolution import BOUNDARY_MODES
from benchdata.degradations.kernels import load_kernel, validate_kernel
from benchdata.degradations.masks import MASK_KINDS
from benchdata.resize import SUPPORTED_SR_SCALES
from benchdata.tasks import TaskError, get_task, list_tasks

# The tasks whose data can be synthesised, as the task table lists them.
TASKS = tuple(t.name for t in list_tasks() if t.synthetic)
SR_MODELS = ("bicubic", "blur_decimate")
KERNEL_TYPES = ("gaussian", "motion", "file", "array")
MASK_TYPES = MASK_KINDS + ("file",)

# The SR blur-then-decimate default: 7x7 Gaussian, sigma 1.6 (the "BD" model of Zhang et al.,
# "Residual Dense Network for Image Super-Resolution", CVPR 2018).
DEFAULT_BD_KERNEL = {"type": "gaussian", "size": 7, "sigma": 1.6}

MAX_BURST_FRAMES = 64
_MASK_OPTIONS = {
    "boxes": {"min_size": float, "max_size": float},
    "brush": {"max_vertices": int, "max_length": float, "max_width": float},
    "pixels": {},
}


class SpecError(ValueError):
    """A degradation spec field is missing, unknown, or out of range."""


def _number(value: Any, name: str, *, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "an integer" if integer else "a number"
        raise SpecError(f"{name} must be {kind}, got {value!r}")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise SpecError(f"{name} must be an integer, got {value!r}")
        return int(value)
    if not math.isfinite(value):
        raise SpecError(f"{name} must be finite, got {value!r}")
    return float(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{name} must be true or false, got {value!r}")
    return value


def _reject_unknown(data: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        valid = ", ".join(sorted(allowed))
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {valid}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class KernelSpec:
    """One blur kernel: built from parameters, drawn from the seed (motion), or loaded."""

    type: str
    size: int | None = None
    sigma: float | None = None
    intensity: float | None = None
    path: str | None = None
    normalize: bool = False
    # Taps of "file" and "array" kernels, as nested tuples so the spec stays hashable and comparable.
    values: tuple[tuple[float, ...], ...] | None = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> KernelSpec:
        if not isinstance(data, dict):
            example = "{'type': 'gaussian', 'size': 7, 'sigma': 1.6}"
            raise SpecError(f"kernel must be an object like {example}, got {data!r}")
        kind = data.get("type")
        if kind not in KERNEL_TYPES:
            raise SpecError(f"kernel.type must be one of {', '.join(KERNEL_TYPES)}, got {kind!r}")
        if kind == "gaussian":
            _reject_unknown(data, {"type", "size", "sigma"}, "kernel (gaussian)")
            size = _odd_size(data.get("size"), "kernel.size", minimum=1)
            sigma = _number(data.get("sigma"), "kernel.sigma")
            if sigma <= 0:
                raise SpecError(f"kernel.sigma must be > 0, got {sigma}")
            return cls(type=kind, size=size, sigma=sigma)
        if kind == "motion":
            _reject_unknown(data, {"type", "size", "intensity"}, "kernel (motion)")
            size = _odd_size(data.get("size", 21), "kernel.size", minimum=3)
            intensity = _number(data.get("intensity", 0.5), "kernel.intensity")
            if not 0 <= intensity <= 1:
                raise SpecError(f"kernel.intensity must be in [0, 1], got {intensity}")
            return cls(type=kind, size=size, intensity=intensity)
        if kind == "file":
            _reject_unknown(data, {"type", "path", "normalize", "sha256"}, "kernel (file)")
            path = data.get("path")
            if not isinstance(path, str) or not path:
                raise SpecError(f"kernel.path must be a file path, got {path!r}")
            normalize = _bool(data.get("normalize", False), "kernel.normalize")
            values = load_kernel(path, normalize=normalize)
            expected = data.get("sha256")
            if expected is not None and expected != _sha256(Path(path)):
                raise SpecError(f"kernel file {path}: sha256 differs from the spec's {expected}")
            return cls(type=kind, path=path, normalize=normalize, values=_as_tuples(values))
        _reject_unknown(data, {"type", "values", "normalize"}, "kernel (array)")
        normalize = _bool(data.get("normalize", False), "kernel.normalize")
        try:
            values = np.asarray(data.get("values"), dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise SpecError(f"kernel.values must be a 2-D list of numbers ({error})") from error
        if normalize and values.ndim == 2 and values.sum() > 0:
            values = values / values.sum()
        try:
            values = validate_kernel(values, "kernel.values")
        except ValueError as error:
            raise SpecError(str(error)) from error
        return cls(type=kind, normalize=normalize, values=_as_tuples(values))

    @property
    def is_random(self) -> bool:
        """True for kernels drawn from the seed (motion): each image gets its own."""
        return self.type == "motion"

    def fixed_array(self) -> np.ndarray:
        """The taps of a non-random kernel, float64 (h, w)."""
        from benchdata.degradations.kernels import gaussian_kernel

        if self.type == "gaussian":
            return gaussian_kernel(self.size, self.sigma)
        if self.values is None:
            raise ValueError(f"a {self.type} kernel has no fixed taps; it is drawn per image from the seed")
        return np.array(self.values, dtype=np.float64)

    def to_dict(self) -> dict:
        if self.type == "gaussian":
            return {"type": "gaussian", "size": self.size, "sigma": self.sigma}
        if self.type == "motion":
            return {"type": "motion", "size": self.size, "intensity": self.intensity}
        if self.type == "file":
            digest = _sha256(Path(self.path))
            return {"type": "file", "path": self.path, "normalize": self.normalize, "sha256": digest}
        return {"type": "array", "values": [list(row) for row in self.values], "normalize": False}


def _as_tuples(array: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in array)


def _odd_size(value: Any, name: str, minimum: int) -> int:
    size = _number(value, name, integer=True)
    if size < minimum or size % 2 == 0:
        raise SpecError(f"{name} must be an odd integer >= {minimum}, got {size}")
    return size


@dataclass(frozen=True)
class MaskSpec:
    """An inpainting mask: generated from the seed at a coverage, or loaded from a PNG file."""

    type: str
    coverage: float | None = None
    options: tuple[tuple[str, float], ...] = ()
    path: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> MaskSpec:
        if not isinstance(data, dict):
            example = "{'type': 'boxes', 'coverage': 0.25}"
            raise SpecError(f"mask must be an object like {example}, got {data!r}")
        kind = data.get("type")
        if kind not in MASK_TYPES:
            raise SpecError(f"mask.type must be one of {', '.join(MASK_TYPES)}, got {kind!r}")
        if kind == "file":
            _reject_unknown(data, {"type", "path", "sha256"}, "mask (file)")
            path = data.get("path")
            if not isinstance(path, str) or not Path(path).is_file():
                raise SpecError(f"mask.path must name an existing PNG file, got {path!r}")
            from benchdata.image_files import read_mask

            read_mask(path)  # fail now, not per image, on a malformed mask
            expected = data.get("sha256")
            if expected is not None and expected != _sha256(Path(path)):
                raise SpecError(f"mask file {path}: sha256 differs from the spec's {expected}")
            return cls(type=kind, path=path)
        option_types = _MASK_OPTIONS[kind]
        _reject_unknown(data, {"type", "coverage"} | set(option_types), f"mask ({kind})")
        if "coverage" not in data:
            raise SpecError(f"mask.coverage is required for {kind} masks (a fraction in [0, 1))")
        coverage = _number(data["coverage"], "mask.coverage")
        if not 0 <= coverage < 1:
            raise SpecError(f"mask.coverage must be in [0, 1), got {coverage}")
        options = []
        for name, kind_type in option_types.items():
            if name in data:
                options.append((name, _number(data[name], f"mask.{name}", integer=kind_type is int)))
        return cls(type=kind, coverage=coverage, options=tuple(options))

    def to_dict(self) -> dict:
        if self.type == "file":
            return {"type": "file", "path": self.path, "sha256": _sha256(Path(self.path))}
        return {"type": self.type, "coverage": self.coverage, **dict(self.options)}


@dataclass(frozen=True)
class DegradationSpec:
    """A validated degradation; build it with `DegradationSpec.from_dict`."""

    task: str
    sigma: float = 0.0
    clip: bool = False
    quantize: bool = False
    kernel: KernelSpec | None = None
    boundary: str = "symmetric"
    scale: int | None = None
    model: str | None = None
    mask: MaskSpec | None = None
    fill: float | None = None
    quality: int | None = None
    frames: int | None = None
    max_shift: float | None = None
    max_rotation: float | None = None

    @classmethod
    def from_dict(cls, data: Any) -> DegradationSpec:
        if isinstance(data, DegradationSpec):
            return data
        if not isinstance(data, dict):
            example = "{'task': 'denoise', 'sigma': 25}"
            raise SpecError(f"a degradation spec must be a dict like {example}, got {data!r}")
        task = data.get("task")
        try:
            info = get_task(task)
        except TaskError as error:
            raise SpecError(str(error)) from None
        if not info.synthetic:
            raise SpecError(f"task {task!r} has no synthetic degradation: its data are the organizer's pairs")
        _reject_unknown(data, {"task", *info.degradation_keys}, f"{task} spec")
        data = {**info.degradation_defaults, **data}
        if task == "jpeg":
            return cls._jpeg(data)
        if task == "burst_sr":
            return cls._burst(data)

        sigma = _number(data.get("sigma", 0.0), "sigma")
        if sigma < 0:
            raise SpecError(f"sigma must be >= 0 (0-255 scale), got {sigma}")
        if task == "denoise" and sigma == 0:
            raise SpecError("sigma must be > 0 for a denoise track (0-255 scale, e.g. 15, 25, 50)")
        clip = _bool(data["clip"], "clip")
        quantize = _bool(data["quantize"], "quantize")
        if quantize and not clip:
            raise SpecError("quantize=true needs clip=true (8-bit values cannot leave [0, 1])")

        fields: dict[str, Any] = {"task": task, "sigma": sigma, "clip": clip, "quantize": quantize}
        if task in ("deblur", "sr"):
            boundary = data["boundary"]
            if boundary not in BOUNDARY_MODES:
                raise SpecError(f"boundary must be one of {', '.join(BOUNDARY_MODES)}, got {boundary!r}")
            fields["boundary"] = boundary
        if task == "deblur":
            if "kernel" not in data:
                raise SpecError("deblur needs a kernel, e.g. {'type': 'gaussian', 'size': 15, 'sigma': 2}")
            fields["kernel"] = KernelSpec.from_dict(data["kernel"])
        if task == "sr":
            if "scale" not in data:
                raise SpecError(f"sr needs a scale, one of {SUPPORTED_SR_SCALES}")
            scale = _number(data["scale"], "scale", integer=True)
            if scale not in SUPPORTED_SR_SCALES:
                raise SpecError(f"scale must be one of {SUPPORTED_SR_SCALES}, got {scale}")
            model = data["model"]
            if model not in SR_MODELS:
                raise SpecError(f"model must be one of {', '.join(SR_MODELS)}, got {model!r}")
            fields.update(scale=scale, model=model)
            if model == "blur_decimate":
                fields["kernel"] = KernelSpec.from_dict(data.get("kernel", DEFAULT_BD_KERNEL))
            elif "kernel" in data:
                raise SpecError("kernel is only used by the sr model 'blur_decimate' (bicubic has its own)")
        if task == "inpaint":
            if "mask" not in data:
                raise SpecError("inpaint needs a mask, e.g. {'type': 'boxes', 'coverage': 0.25}")
            fields["mask"] = MaskSpec.from_dict(data["mask"])
            fill = _number(data["fill"], "fill")
            if not 0 <= fill <= 1:
                raise SpecError(f"fill must be in [0, 1], got {fill}")
            fields["fill"] = fill
        return cls(**fields)

    @classmethod
    def _jpeg(cls, data: dict) -> DegradationSpec:
        if "quality" not in data:
            raise SpecError("jpeg needs a quality, an integer from 1 to 100 (e.g. 10, 20, 30, 40)")
        quality = _number(data["quality"], "quality", integer=True)
        if not 1 <= quality <= 100:
            raise SpecError(f"quality must be an integer from 1 to 100, got {quality}")
        # The decoded JPEG is an 8-bit image: clipped and on the 8-bit grid by construction.
        return cls(task="jpeg", quality=quality, clip=True, quantize=True)

    @classmethod
    def _burst(cls, data: dict) -> DegradationSpec:
        frames = _number(data["frames"], "frames", integer=True)
        if not 2 <= frames <= MAX_BURST_FRAMES:
            raise SpecError(f"frames must be an integer from 2 to {MAX_BURST_FRAMES}, got {frames}")
        scale = _number(data["scale"], "scale", integer=True)
        if scale not in SUPPORTED_SR_SCALES:
            raise SpecError(f"scale must be one of {SUPPORTED_SR_SCALES}, got {scale}")
        sigma = _number(data.get("sigma", 0.0), "sigma")
        if sigma < 0:
            raise SpecError(f"sigma must be >= 0 (0-255 scale), got {sigma}")
        max_shift = _number(data["max_shift"], "max_shift")
        if not 0 <= max_shift <= 64:
            raise SpecError(f"max_shift must be in [0, 64] high-resolution pixels, got {max_shift}")
        max_rotation = _number(data["max_rotation"], "max_rotation")
        if not 0 <= max_rotation <= 10:
            raise SpecError(f"max_rotation must be in [0, 10] degrees, got {max_rotation}")
        return cls(
            task="burst_sr",
            sigma=sigma,
            clip=True,
            quantize=True,
            scale=scale,
            frames=frames,
            max_shift=max_shift,
            max_rotation=max_rotation,
        )

    def to_dict(self) -> dict:
        """The complete canonical dict (defaults filled in); `from_dict(to_dict())` gives an equal spec.

        Its fields are the task's degradation keys (`benchdata.tasks`), in the table's order.
        """
        out: dict[str, Any] = {"task": self.task}
        for key in get_task(self.task).degradation_keys:
            value = getattr(self, key)
            if isinstance(value, KernelSpec | MaskSpec):
                value = value.to_dict()
            if value is not None:
                out[key] = value
        return out
