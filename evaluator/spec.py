"""`ScoringSpec`: how a track scores submissions (metrics, colour space, border shave, policy, limits).

A spec is plain data: it round-trips through `to_dict()` / `from_dict()` (JSON), so tracks store it in
the database and workers receive it in queue messages. `ScoringSpec.for_task()` gives the field's
conventions per task, read from the task table (`benchdata.tasks`); `docs/metrics.md` lists them with
their sources.

Units: images are compared on a [0, 1] scale (8-bit files divided by 255, 16-bit files by 65535);
`data_range` is the peak signal on that scale (1.0 = full scale, i.e. L = 255 for 8-bit data).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from benchdata.tasks import get_task, scoring_presets
from evaluator.errors import SpecError

COLOR_SPACES = ("rgb", "y")
POLICIES = ("reject", "partial")


@dataclass(frozen=True)
class ScoringSpec:
    """The options that fix every number a track reports.

    metrics: metric names from `evaluator.metrics.list_metrics()`, in report order.
    color_space: "rgb" (all channels) or "y" (luma of ITU-R BT.601 YCbCr as MATLAB's `rgb2ycbcr`);
        applies to PSNR and SSIM. LPIPS always sees RGB.
    shave: pixels removed from every border before any metric (SR convention: shave = scale).
    data_range: peak value on the [0, 1] scale (PSNR's peak, SSIM's L).
    ranking_metric: the metric leaderboards sort by (must be in `metrics`).
    scale: SR upscaling factor; when set, ground truth is modcropped to a multiple of it and sizes are
        explained in terms of the low-resolution input. None for other tasks.
    policy: "reject" (any file problem rejects the whole submission) or "partial" (score what is valid,
        report the rest).
    max_pixels: largest image (width × height) decoded; larger headers are refused before decoding.
    max_file_bytes / max_total_bytes / max_files: limits on each file, the whole (uncompressed)
        submission, and the number of entries.
    batch_size: image pairs per metric batch (same-size pairs only).
    workers: decoding threads (None = number of CPU cores).
    device: "auto" (CUDA when present), "cpu" or "cuda".
    ground_truth: False for a phase whose test set has no ground truth (real-world inputs judged by
        no-reference metrics only): the folder given in its place holds the phase's *inputs*, which name
        the expected images and fix their sizes (input size × `scale`).
    """

    metrics: tuple[str, ...] = ("psnr", "ssim")
    color_space: str = "rgb"
    shave: int = 0
    data_range: float = 1.0
    ranking_metric: str = "psnr"
    scale: int | None = None
    policy: str = "reject"
    max_pixels: int = 40_000_000
    max_file_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 8 * 1024 * 1024 * 1024
    max_files: int = 10_000
    batch_size: int = 4
    workers: int | None = None
    device: str = "auto"
    ground_truth: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.metrics, str):
            object.__setattr__(
                self, "metrics", tuple(m.strip() for m in self.metrics.split(",") if m.strip())
            )
        else:
            object.__setattr__(self, "metrics", tuple(self.metrics))
        self.validate()

    def validate(self) -> None:
        """Raise `SpecError` naming the offending field when the spec is inconsistent."""
        from evaluator.metrics import list_metrics

        known = list_metrics()
        if not self.metrics:
            raise SpecError("spec.metrics is empty: name at least one metric")
        for name in self.metrics:
            if name not in known:
                raise SpecError(f"spec.metrics: unknown metric {name!r}; valid: {', '.join(known)}")
        if len(set(self.metrics)) != len(self.metrics):
            raise SpecError(f"spec.metrics lists a metric twice: {list(self.metrics)}")
        if self.ranking_metric not in self.metrics:
            raise SpecError(
                f"spec.ranking_metric {self.ranking_metric!r} is not among spec.metrics {list(self.metrics)}"
            )
        if self.color_space not in COLOR_SPACES:
            raise SpecError(f"spec.color_space must be one of {COLOR_SPACES}, got {self.color_space!r}")
        if self.policy not in POLICIES:
            raise SpecError(f"spec.policy must be one of {POLICIES}, got {self.policy!r}")
        if not isinstance(self.shave, int) or isinstance(self.shave, bool) or self.shave < 0:
            raise SpecError(f"spec.shave must be a non-negative integer, got {self.shave!r}")
        if self.scale is not None and (
            not isinstance(self.scale, int) or isinstance(self.scale, bool) or self.scale < 1
        ):
            raise SpecError(f"spec.scale must be a positive integer or None, got {self.scale!r}")
        if not isinstance(self.data_range, int | float) or not self.data_range > 0:
            raise SpecError(f"spec.data_range must be a positive number, got {self.data_range!r}")
        for name in ("max_pixels", "max_file_bytes", "max_total_bytes", "max_files", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SpecError(f"spec.{name} must be a positive integer, got {value!r}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise SpecError(f"spec.workers must be a positive integer or None, got {self.workers!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise SpecError(f"spec.device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if not isinstance(self.ground_truth, bool):
            raise SpecError(f"spec.ground_truth must be true or false, got {self.ground_truth!r}")
        if not self.ground_truth:
            from evaluator.metrics import metric_info

            paired = [m for m in self.metrics if metric_info(m).needs_reference]
            if paired:
                raise SpecError(
                    f"spec.metrics {paired} need ground truth, but spec.ground_truth is false: "
                    "a phase without ground truth can use only no-reference metrics (niqe, brisque, piqe)"
                )

    @property
    def higher_is_better(self) -> bool:
        """Whether the ranking metric sorts descending."""
        from evaluator.metrics import metric_info

        return metric_info(self.ranking_metric).higher_is_better

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict that `from_dict()` turns back into an equal spec."""
        data = dataclasses.asdict(self)
        data["metrics"] = list(self.metrics)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoringSpec:
        """Build a spec from plain data; unknown keys raise `SpecError` (typos must not pass silently).

        A dict with a "task" key starts from `for_task(task, scale=...)` and applies the other keys.
        """
        if not isinstance(data, dict):
            raise SpecError(f"a scoring spec must be a dict, got {type(data).__name__}")
        data = dict(data)
        names = {f.name for f in dataclasses.fields(cls)}
        task = data.pop("task", None)
        unknown = sorted(set(data) - names)
        if unknown:
            raise SpecError(f"unknown scoring spec keys {unknown}; valid keys: {sorted(names | {'task'})}")
        if task is not None:
            scale = data.pop("scale", None)
            return cls.for_task(task, scale=scale, **data)
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - dataclass signature errors
            raise SpecError(str(exc)) from exc

    @classmethod
    def for_task(cls, task: str, scale: int | None = None, **overrides: Any) -> ScoringSpec:
        """The field's conventions for `task` (the task table's scoring defaults, sources in
        docs/metrics.md), with `overrides` applied.

        `task` is a task name (`sr`, `denoise`, ...) or a named variant of one (`sr-ntire`: RGB,
        shave = 6 + scale). Tasks whose output is `scale` times the input (`sr`, `burst_sr`) need
        `scale` unless the task has a default one.
        """
        presets = scoring_presets()
        if task not in presets:
            raise SpecError(f"unknown task {task!r}; valid tasks: {', '.join(presets)}")
        name, defaults = presets[task]
        info = get_task(name)
        if info.scaled:
            scale = scale if scale is not None else info.default_scale
            if scale is None:
                raise SpecError(f"task {task!r} needs a scale (e.g. for_task('{task}', scale=4))")
            if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
                raise SpecError(f"spec.scale must be a positive integer, got {scale!r}")
        base: dict[str, Any] = defaults.spec_fields(scale if info.scaled else None)
        if scale is not None:
            base["scale"] = scale
        base.update(overrides)
        try:
            return cls(**base)
        except TypeError as exc:
            raise SpecError(str(exc)) from exc
