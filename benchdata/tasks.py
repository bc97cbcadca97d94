"""The task table: every restoration task the platform hosts, defined once.

Every package reads this table (the site, the evaluator, the model runner, the degradations, the
reference methods); nothing else lists tasks. It is plain data: importable without Django, torch or
numpy, so the lowest layer can hold it and every layer above can read it.

A task says:
- `name` (the one spelling, used in bundles, the database, manifests and command lines) and `label`;
- `disclosures`: what a track of the task may disclose to methods (context fields: sigma, kernel,
  scale, mask, quality); `requires`: the subset every track discloses, so every method may rely on it;
  `method_needs`: what a method of the task needs unless it says otherwise at registration (a
  non-blind deblurring method needs the kernel; a blind track does not disclose it);
- the geometry of an output: `geometry` "same" (the input's size) or "scale" (`scale` times the
  input), and `input` "image" (one file per sample) or "frames" (a sample is a folder of frames,
  restored into one output image);
- `degradation_keys` / `degradation_defaults`: the fields of a synthetic degradation spec
  (`benchdata.degradations.DegradationSpec`) besides `task`, and their defaults; None when the task
  has no synthetic degradation (its data are pairs the organizer brings);
- `scoring`: the field's scoring conventions (`evaluator.spec.ScoringSpec.for_task`), and named
  variants (`sr-ntire`: the NTIRE challenge's conventions for `sr`);
- `example`: a small degradation spec for tests and docs (None for tasks without a synthetic one);
- `reference_input`: (height, width) of the model input at which a track of the task counts a model
  submission's FLOPs and activations unless the track declares its own (`efficiency: {input_size}`
  in a bundle): the image the model receives, so for a scaled task (`sr`, `burst_sr`) the
  low-resolution input (256 × 256 by default, as NTIRE's efficiency challenges count them).

Add a task with `register_task(TaskInfo(...))` at the bottom of this module, then its degradation
(benchdata/degradations) and methods (reference_methods); `tests/test_task_contract.py` names anything
still missing. docs/tasks.md walks through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

DISCLOSURES = ("sigma", "kernel", "scale", "mask", "quality")
GEOMETRIES = ("same", "scale")
INPUTS = ("image", "frames")
COLOR_SPACES = ("rgb", "y")
# The model input (height, width) at which efficiency is counted unless a task or track says otherwise:
# NTIRE's efficient SR challenges count FLOPs on a 256 × 256 low-resolution input.
REFERENCE_INPUT = (256, 256)
# The sides a track's reference input may have (FLOPs are counted by running the model at that size).
REFERENCE_INPUT_BOUNDS = (8, 4096)
# Old spellings, kept only to say what they became.
RENAMED = MappingProxyType({"super_resolution": "sr"})


class TaskError(ValueError):
    """An unknown task name, or a task table entry that contradicts itself."""


@dataclass(frozen=True)
class ScoringDefaults:
    """A task's scoring conventions (docs/metrics.md gives their sources).

    shave: pixels removed from every border: an integer, "scale" (the SR literature) or "scale+6"
    (the NTIRE 2017 SR challenge).
    """

    metrics: tuple[str, ...]
    ranking_metric: str
    color_space: str = "rgb"
    shave: int | str = 0
    source: str = ""

    def spec_fields(self, scale: int | None) -> dict[str, Any]:
        """The `ScoringSpec` fields these conventions give for `scale` (None for tasks without one)."""
        if isinstance(self.shave, int):
            shave = self.shave
        elif scale is None:
            raise TaskError(f"shave {self.shave!r} needs a scale")
        else:
            shave = scale + (6 if self.shave == "scale+6" else 0)
        return {
            "metrics": tuple(self.metrics),
            "ranking_metric": self.ranking_metric,
            "color_space": self.color_space,
            "shave": shave,
        }


@dataclass(frozen=True)
class TaskInfo:
    """One task; see the module docstring for what each field means."""

    name: str
    label: str
    summary: str
    disclosures: tuple[str, ...]
    geometry: str
    scoring: ScoringDefaults
    requires: tuple[str, ...] = ()
    method_needs: tuple[str, ...] = ()
    input: str = "image"
    default_scale: int | None = None
    degradation_keys: tuple[str, ...] | None = None
    degradation_defaults: Mapping[str, Any] = field(default_factory=dict)
    scoring_variants: Mapping[str, ScoringDefaults] = field(default_factory=dict)
    example: Mapping[str, Any] | None = None
    reference_input: tuple[int, int] = REFERENCE_INPUT

    @property
    def synthetic(self) -> bool:
        """Whether data can be synthesised (a degradation exists) rather than only brought as pairs."""
        return self.degradation_keys is not None

    @property
    def multi_frame(self) -> bool:
        """Whether a sample is several input files (a folder of frames) restored into one output."""
        return self.input == "frames"

    @property
    def scaled(self) -> bool:
        """Whether an output is `scale` times its input (and the track needs a scale)."""
        return self.geometry == "scale"

    def output_size(self, height: int, width: int, scale: int | None = None) -> tuple[int, int]:
        """Height and width of the output for an input (or each input frame) of `height` × `width`."""
        if not self.scaled:
            return height, width
        scale = scale or self.default_scale
        if scale is None:
            raise TaskError(f"task {self.name!r} needs a scale")
        return height * scale, width * scale

    def example_spec(self) -> dict[str, Any] | None:
        """The example degradation spec with its task, as `DegradationSpec.from_dict` takes it."""
        return None if self.example is None else {"task": self.name, **dict(self.example)}


_TASKS: dict[str, TaskInfo] = {}


def _check(info: TaskInfo) -> None:
    problems = []
    if not info.name or not info.name.replace("_", "").isalnum() or info.name != info.name.lower():
        problems.append("name must be lower-case letters, digits and '_'")
    for name in (*info.disclosures, *info.requires, *info.method_needs):
        if name not in DISCLOSURES:
            problems.append(f"unknown disclosure {name!r} (valid: {', '.join(DISCLOSURES)})")
    for name in (*info.requires, *info.method_needs):
        if name not in info.disclosures:
            problems.append(f"{name!r} is required or needed but not among the disclosures")
    if info.geometry not in GEOMETRIES:
        problems.append(f"geometry must be one of {', '.join(GEOMETRIES)}")
    if info.input not in INPUTS:
        problems.append(f"input must be one of {', '.join(INPUTS)}")
    low, high = REFERENCE_INPUT_BOUNDS
    if len(info.reference_input) != 2 or not all(
        isinstance(v, int) and low <= v <= high for v in info.reference_input
    ):
        problems.append(f"reference_input must be (height, width), each an integer in [{low}, {high}]")
    if info.scaled and "scale" not in info.requires:
        problems.append("a scaled task must require the scale disclosure")
    for defaults in (info.scoring, *info.scoring_variants.values()):
        if defaults.ranking_metric not in defaults.metrics:
            problems.append(f"ranking metric {defaults.ranking_metric!r} is not among {defaults.metrics}")
        if defaults.color_space not in COLOR_SPACES:
            problems.append(f"colour space must be one of {', '.join(COLOR_SPACES)}")
        if not isinstance(defaults.shave, int) and (
            defaults.shave not in ("scale", "scale+6") or not info.scaled
        ):
            problems.append(f"shave {defaults.shave!r}: an integer, or 'scale' / 'scale+6' for a scaled task")
    if info.degradation_keys is None:
        if info.degradation_defaults or info.example is not None:
            problems.append("a task without a synthetic degradation has no degradation defaults or example")
    else:
        unknown = set(info.degradation_defaults) - set(info.degradation_keys)
        unknown |= set(info.example or {}) - set(info.degradation_keys)
        if unknown:
            problems.append(
                f"defaults or example name fields that are not degradation keys: {sorted(unknown)}"
            )
        if info.example is None:
            problems.append("a task with a synthetic degradation needs an example")
    if problems:
        raise TaskError(f"task {info.name!r}: " + "; ".join(problems))


def register_task(info: TaskInfo) -> TaskInfo:
    """Add `info` to the table; a duplicate name or a self-contradicting entry is refused."""
    if info.name in _TASKS or info.name in RENAMED:
        raise TaskError(f"task {info.name!r} is already registered")
    _check(info)
    _TASKS[info.name] = info
    return info


def get_task(name: str) -> TaskInfo:
    """The task called `name`; an unknown name raises TaskError listing the valid ones."""
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        pass
    if isinstance(name, str) and name in RENAMED:
        raise TaskError(f"task {name!r} is now spelled {RENAMED[name]!r}")
    raise TaskError(f"unknown task {name!r}; valid tasks: {', '.join(_TASKS)}")


def list_tasks() -> list[TaskInfo]:
    """Every registered task, in registration order."""
    return list(_TASKS.values())


def task_names() -> tuple[str, ...]:
    """The names of every registered task, in registration order (for choices and messages)."""
    return tuple(_TASKS)


def scoring_presets() -> dict[str, tuple[str, ScoringDefaults]]:
    """Every scoring preset name (`evaluator --task`): each task's own, and `<task>-<variant>`."""
    presets: dict[str, tuple[str, ScoringDefaults]] = {}
    for info in _TASKS.values():
        presets[info.name] = (info.name, info.scoring)
        for variant, defaults in info.scoring_variants.items():
            presets[f"{info.name}-{variant}"] = (info.name, defaults)
    return presets


# --- The table ------------------------------------------------------------------------------------
# Noise levels are on the 0-255 scale. Degradation keys are documented in benchdata/degradations/spec.py
# and docs/data.md; scoring conventions and their sources in docs/metrics.md.

_NOISE_KEYS = ("sigma", "clip", "quantize")

register_task(
    TaskInfo(
        name="denoise",
        label="Denoising",
        summary="additive white Gaussian noise of known level sigma",
        disclosures=("sigma",),
        requires=("sigma",),
        geometry="same",
        degradation_keys=_NOISE_KEYS,
        degradation_defaults=MappingProxyType({"clip": False, "quantize": False}),
        scoring=ScoringDefaults(("psnr", "ssim"), "psnr", source="DnCNN (Zhang et al. 2017)"),
        example=MappingProxyType({"sigma": 25}),
    )
)
register_task(
    TaskInfo(
        name="deblur",
        label="Deblurring",
        summary="blur kernel plus noise; the kernel is disclosed (non-blind) or not (blind)",
        disclosures=("sigma", "kernel"),
        method_needs=("kernel",),
        geometry="same",
        degradation_keys=(*_NOISE_KEYS, "kernel", "boundary"),
        degradation_defaults=MappingProxyType({"clip": False, "quantize": False, "boundary": "symmetric"}),
        scoring=ScoringDefaults(("psnr", "ssim", "lpips"), "psnr"),
        example=MappingProxyType({"sigma": 2, "kernel": {"type": "gaussian", "size": 9, "sigma": 1.6}}),
    )
)
register_task(
    TaskInfo(
        name="sr",
        label="Super-resolution",
        summary="bicubic (MATLAB imresize) or blur-and-decimate downsampling by an integer scale",
        disclosures=("scale", "kernel"),
        requires=("scale",),
        geometry="scale",
        degradation_keys=(*_NOISE_KEYS, "scale", "model", "kernel", "boundary"),
        degradation_defaults=MappingProxyType(
            {"clip": True, "quantize": True, "model": "bicubic", "boundary": "symmetric"}
        ),
        scoring=ScoringDefaults(
            ("psnr", "ssim", "lpips"), "psnr", color_space="y", shave="scale", source="SRCNN, VDSR, EDSR"
        ),
        scoring_variants=MappingProxyType(
            {
                "ntire": ScoringDefaults(
                    ("psnr", "ssim", "lpips"), "psnr", shave="scale+6", source="NTIRE 2017 SR challenge"
                )
            }
        ),
        example=MappingProxyType({"scale": 2}),
    )
)
register_task(
    TaskInfo(
        name="inpaint",
        label="Inpainting",
        summary="missing pixels (boxes, brush strokes or scattered pixels) given by a mask",
        disclosures=("mask",),
        method_needs=("mask",),
        geometry="same",
        degradation_keys=(*_NOISE_KEYS, "mask", "fill"),
        degradation_defaults=MappingProxyType({"clip": True, "quantize": True, "fill": 0.0}),
        scoring=ScoringDefaults(("psnr", "ssim", "lpips"), "lpips", source="LaMa (Suvorov et al. 2022)"),
        example=MappingProxyType({"mask": {"type": "pixels", "coverage": 0.5}}),
    )
)
register_task(
    TaskInfo(
        name="jpeg",
        label="JPEG artifact removal",
        summary="baseline JPEG at quality q, 4:2:0 chroma subsampling (Pillow's libjpeg)",
        disclosures=("quality",),
        requires=("quality",),
        geometry="same",
        degradation_keys=("quality",),
        degradation_defaults=MappingProxyType({}),
        scoring=ScoringDefaults(("psnr", "ssim", "lpips"), "psnr", source="ARCNN (Dong et al. 2015)"),
        example=MappingProxyType({"quality": 10}),
    )
)
register_task(
    TaskInfo(
        name="burst_sr",
        label="Burst super-resolution",
        summary="N shifted, slightly rotated, x4 downsampled noisy frames in, one high-resolution image out",
        disclosures=("scale", "sigma"),
        requires=("scale",),
        geometry="scale",
        input="frames",
        default_scale=4,
        degradation_keys=("frames", "scale", "sigma", "max_shift", "max_rotation"),
        degradation_defaults=MappingProxyType(
            {"frames": 14, "scale": 4, "max_shift": 24.0, "max_rotation": 1.0}
        ),
        scoring=ScoringDefaults(
            ("psnr", "ssim", "lpips"), "psnr", source="NTIRE 2021 Burst SR challenge (Bhat et al. 2021)"
        ),
        example=MappingProxyType({"frames": 4, "sigma": 2, "max_shift": 8.0}),
    )
)
register_task(
    TaskInfo(
        name="enhance",
        label="Enhancement (organizer pairs)",
        summary="any same-size restoration whose degraded/clean pairs the organizer brings (real noise, "
        "low light, haze, rain, raindrops, ...)",
        disclosures=(),
        geometry="same",
        scoring=ScoringDefaults(("psnr", "ssim", "lpips"), "psnr"),
    )
)
