"""What a model run may use and what it reports: `RunLimits` (limits and sandbox options, JSON-able),
`RunReport` with one `ImageRun` per restored image, and the errors a caller can get.

`RunReport.sandbox["isolation"]` is the run's isolation record, one short name per layer:
`{"network": "netns", "filesystem": "landlock", "parent_death": "pdeathsig", "user": "nobody"}`
(`"none"` for a layer the host refused, when `allow_weak_sandbox` let the run go ahead anyway).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunLimits:
    """Resource limits and sandbox options of one model run.

    wall_seconds: whole run, start-up included; the process group is killed when exceeded.
    cpu_seconds: RLIMIT_CPU of the child (default: wall_seconds × threads).
    memory_bytes: resident-memory ceiling (watched by the parent) and, for CPU inference, the
        address-space limit (plus the runtime's fixed virtual reservation).
    open_files: RLIMIT_NOFILE. threads: intra-op threads of the runtime.
    file_bytes: RLIMIT_FSIZE (default: the largest expected output file plus 1 MiB for logs).
    max_input_pixels: the largest input image (width × height) a run takes, PNG or `.npy`.
    range_tolerance: how far outside the declared output range, as a fraction of its span, values may
        go before the run is refused (values inside the tolerance are clipped). Trained networks
        overshoot at sharp edges as bicubic interpolation does, so the default (25%) only catches a
        wrongly declared range (0-255 against 0-1, or -1..1 against 0..1).
    isolate_network, restrict_filesystem, drop_privileges: the sandbox's layers (all on by default).
    allow_weak_sandbox: run even when a layer is off or the host refuses it (the isolation record
        says which); otherwise such a run raises SandboxUnavailableError before the model is opened.
    """

    wall_seconds: float = 600.0
    cpu_seconds: float | None = None
    memory_bytes: int = 4 << 30
    open_files: int = 128
    threads: int = max(1, min(4, os.cpu_count() or 1))
    file_bytes: int | None = None
    max_model_bytes: int = 1 << 30
    max_input_pixels: int = 40_000_000
    range_tolerance: float = 0.25
    use_gpu: bool = True
    isolate_network: bool = True
    restrict_filesystem: bool = True
    drop_privileges: bool = True
    allow_weak_sandbox: bool = False
    poll_seconds: float = 0.01

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RunLimits:
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown run limit(s) {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(cls.__dataclass_fields__)}"
            )
        return cls(**data)


@dataclass
class ImageRun:
    """One restored image: its output file name (`<id>.png`, as the ground truth is named, whether the
    input was `<id>.png` or `<id>.npy`), the model's runtime on it and the output's shape."""

    name: str
    seconds: float
    output_shape: tuple[int, ...]


@dataclass
class RunReport:
    """What happened: success or the reason of failure, plus the measurements NTIRE factsheets ask for.

    peak_memory_bytes: the child's resident-set high-water mark (VmHWM, runtime included), or the
        largest resident set the parent observed when the child died before reporting it.
    seconds_per_image: mean model runtime per image (tiling included, decoding and encoding not),
        after one untimed warm-up run on the first image; seconds_per_image_median: their median.
    runtime_clock: how each image's runtime was taken (timer.py): "cuda_events" (torch on a GPU) or
        "perf_counter" (the CPU, and onnxruntime on any device: its run returns with host outputs).
    profile: what the child measured of the model's efficiency (efficiency.py): "counts" (params,
        flops = macs in fvcore's convention, activations, zero_cost_ops, uncounted_ops, the input
        counted, or "error"), "device", "threads" and "libraries" (name -> version).
    sandbox: what the sandbox applied; its "isolation" entry is the isolation record.
    """

    ok: bool
    error_kind: str | None = None
    error: str | None = None
    failed_image: str | None = None
    format: str | None = None
    parameters: int | None = None
    model_bytes: int | None = None
    provider: str | None = None
    runtime_clock: str | None = None
    images: list[ImageRun] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_bytes: int | None = None
    exit_status: str | None = None
    sandbox: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None

    @property
    def seconds_per_image(self) -> float | None:
        return sum(i.seconds for i in self.images) / len(self.images) if self.images else None

    @property
    def seconds_per_image_median(self) -> float | None:
        return statistics.median(i.seconds for i in self.images) if self.images else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds_per_image"] = self.seconds_per_image
        d["seconds_per_image_median"] = self.seconds_per_image_median
        return d

    def raise_for_error(self) -> None:
        if not self.ok:
            raise ModelRunError(self.error_kind or "error", self.error or "the model run failed")


class ModelRunError(RuntimeError):
    """Raised by `RunReport.raise_for_error()`; `kind` is the report's error_kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class SandboxUnavailableError(RuntimeError):
    """The host cannot give the model the sandbox it must have: the operator's problem, never the
    participant's. `isolation` is the record of what could be set up."""

    def __init__(self, message: str, isolation: Mapping[str, str]) -> None:
        super().__init__(message)
        self.isolation = dict(isolation)
