"""The runtime timer (evaluator/model_runner/timer.py): the clock follows the device, warm-up calls are
not timed, and the median and mean are those of the timed calls (checked against a scripted clock)."""

import itertools
import platform
from pathlib import Path

import pytest
import torch

from evaluator.model_runner import timer


@pytest.mark.parametrize(
    ("device", "clock"),
    [
        ("cpu", "perf_counter"),
        ("cuda", "cuda_events"),
        ("cuda:1", "cuda_events"),
        ("torch:cuda", "cuda_events"),
    ],
)
def test_the_clock_follows_the_device(device, clock):
    assert timer.clock_for(device) == clock


def test_warm_up_calls_are_not_timed_and_the_median_and_mean_are_the_timed_calls(monkeypatch):
    # A scripted counter: each timed call reads it twice (start, end); the calls take 3, 1, 10, 2, 4 s.
    readings = iter([0, 3, 10, 11, 20, 30, 40, 42, 50, 54])
    monkeypatch.setattr(timer.time, "perf_counter", lambda: next(readings))
    calls = itertools.count()
    timed = timer.time_repeats(lambda: next(calls), repeats=5, warmup=2, clock="perf_counter")
    assert next(calls) == 2 + 5  # every call ran: two warm-ups first, untimed
    assert timed.times_s == (3, 1, 10, 2, 4)
    assert (timed.median_s, timed.mean_s) == (3, 4)
    assert timed.to_dict() == {
        "median_s": 3,
        "mean_s": 4,
        "repeats": 5,
        "warmup": 2,
        "clock": "perf_counter",
        "cuda_events": False,
    }


def test_a_timed_call_returns_what_the_call_returns():
    result, seconds = timer.time_call(lambda: "restored", "perf_counter")
    assert result == "restored" and seconds >= 0


@pytest.mark.parametrize(("kwargs", "words"), [({"repeats": 0}, "repeats"), ({"warmup": -1}, "warmup"),
                                               ({"clock": "sundial"}, "unknown clock")])  # fmt: skip
def test_bad_settings_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        timer.time_repeats(lambda: None, **kwargs)


def test_the_profile_on_the_cpu_says_which_clock_timed_it(conv_onnx):
    from evaluator.profile import profile_runtime

    runtime = profile_runtime(conv_onnx, (1, 3, 16, 16), "cpu", 3)["runtime"]
    assert (runtime["clock"], runtime["cuda_events"], runtime["repeats"], runtime["warmup"]) == (
        "perf_counter",
        False,
        3,
        1,
    )
    assert runtime["median_s"] > 0 and "onnxruntime" in runtime["libraries"]
    # The CPU's model name, as /proc/cpuinfo gives it (not just the architecture)
    model_names = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    assert runtime["device"] == (model_names[0] if model_names else platform.machine())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal where CUDA is absent")
def test_cuda_events_without_a_cuda_device_are_refused_with_a_clear_error():
    with pytest.raises(RuntimeError, match="needs a CUDA device"):
        timer.time_call(lambda: None, "cuda_events")
