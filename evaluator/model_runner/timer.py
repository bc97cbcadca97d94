"""Timing a model call on the device it runs on, as NTIRE's efficiency tracks time it: warm-up calls
(not timed), then N timed calls, reported as their median and mean in seconds.

The clock follows the device (`clock_for`):
- "perf_counter" (CPU): `time.perf_counter()` around the call, which returns when its work is done.
- "cuda_events" (a CUDA device, through torch): after `torch.cuda.synchronize()` (no earlier queued
  work is counted), a `torch.cuda.Event(enable_timing=True)` is recorded on the current stream before
  and after the call; the end event is synchronised, then `elapsed_time` (milliseconds) is read. This is
  the GPU's time on that stream. Work the call queues on another stream is not ordered with the events:
  onnxruntime's CUDA provider must run on torch's current stream (`ort_cuda_provider()` gives it that
  stream as `user_compute_stream`); its `run()` with host (numpy) outputs also waits for its outputs
  before it returns, so host time and event time both cover the whole run.

The CUDA path is not verified on a GPU: none was lent while it was written (see
tests/evaluator/test_timer_cuda.py, which runs only where CUDA is present).

Only the standard library is imported at module level (torch only for "cuda_events"), so the sandboxed
model runner's child can load this file as a sibling, without the evaluator package.
"""

# No `from __future__ import annotations`: loaded by path (not in sys.modules), a dataclass with string
# annotations could not be built.
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CLOCKS = ("perf_counter", "cuda_events")


def clock_for(device: str) -> str:
    """The clock for `device` ("cpu", "cuda", "cuda:1", "torch:cuda", ...): CUDA events on a CUDA
    device, else the host's performance counter."""
    return "cuda_events" if "cuda" in device.lower() else "perf_counter"


def _perf_counter_call(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _cuda_events_call(fn: Callable[[], Any]) -> tuple[Any, float]:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("the cuda_events clock needs a CUDA device, and torch sees none")
    torch.cuda.synchronize()  # nothing queued earlier is counted
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    result = fn()
    end.record()
    end.synchronize()
    return result, start.elapsed_time(end) / 1000.0


def time_call(fn: Callable[[], Any], clock: str) -> tuple[Any, float]:
    """(what `fn` returns, the seconds its call took on `clock`, one of CLOCKS)."""
    if clock == "perf_counter":
        return _perf_counter_call(fn)
    if clock == "cuda_events":
        return _cuda_events_call(fn)
    raise ValueError(f"unknown clock {clock!r}; valid: {', '.join(CLOCKS)}")


@dataclass(frozen=True)
class RepeatTimes:
    """The timed calls of `time_repeats`, in seconds, and how they were taken."""

    times_s: tuple[float, ...]
    warmup: int
    clock: str

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def mean_s(self) -> float:
        return statistics.fmean(self.times_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_s": self.median_s,
            "mean_s": self.mean_s,
            "repeats": len(self.times_s),
            "warmup": self.warmup,
            "clock": self.clock,
            "cuda_events": self.clock == "cuda_events",
        }


def time_repeats(
    fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1, clock: str = "perf_counter"
) -> RepeatTimes:
    """`warmup` untimed calls of `fn`, then `repeats` timed ones on `clock`."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be 0 or more, got {warmup}")
    if clock not in CLOCKS:
        raise ValueError(f"unknown clock {clock!r}; valid: {', '.join(CLOCKS)}")
    for _ in range(warmup):
        fn()
    return RepeatTimes(tuple(time_call(fn, clock)[1] for _ in range(repeats)), warmup, clock)


def device_name(device: str) -> str:
    """The device in words: the GPU's name for a CUDA device, else the CPU's model name (what the
    sandbox records too; `platform.processor()` is empty on most Linux hosts)."""
    if clock_for(device) == "cuda_events":
        import torch

        index = (
            int(device.split(":")[1]) if device.count(":") == 1 and device.split(":")[1].isdigit() else None
        )
        return torch.cuda.get_device_name(index)
    from evaluator.model_runner.efficiency import cpu_name

    return cpu_name()


def ort_cuda_provider() -> tuple[str, dict[str, str]]:
    """onnxruntime's CUDA provider running on torch's current stream, so CUDA events recorded there
    bracket its kernels (see the module docstring)."""
    import torch

    return ("CUDAExecutionProvider", {"user_compute_stream": str(torch.cuda.current_stream().cuda_stream)})
