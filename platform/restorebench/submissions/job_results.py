"""Reading what a worker's scoring or model function returned: numbers checked to be numbers,
non-finite values kept as the evaluator's strings, and a model run's factsheet numbers."""

import math
from typing import Any


def _number(value: Any, where: str) -> float:
    # The evaluator writes non-finite scores as "inf" / "-inf" / "nan" (JSON has no such numbers).
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError as error:
        raise TypeError(f"{where}: expected a number, got {value!r}") from error


def _json_number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


ParsedResult = tuple[dict[str, float | str], list[tuple[str, str, float]], list, dict]


def parse_scoring_result(result: dict) -> ParsedResult:
    """Split `evaluator.jobs.run_scoring_job`'s JSON (`ScoreResult.to_dict()`) into (aggregates as
    JSON-storable numbers, per-image (name, metric, value) rows, problems, scoring record)."""
    if not isinstance(result, dict):
        raise TypeError(f"scoring function returned {type(result).__name__}, expected a dict")
    aggregates = {
        str(metric): _json_number(_number(value, f"aggregates[{metric!r}]"))
        for metric, value in (result.get("aggregates") or {}).items()
    }
    rows: list[tuple[str, str, float]] = []
    for item in result.get("rows") or []:
        name = str(item["name"])
        for metric, value in (item.get("scores") or {}).items():
            rows.append((name, str(metric), _number(value, f"rows[{name!r}][{metric!r}]")))
    return aggregates, rows, list(result.get("problems") or []), dict(result.get("record") or {})


def _optional(run: dict, key: str, kind: type = float) -> Any:
    value = run.get(key)
    return None if value is None else kind(_number(value, f"run.{key}"))


def _counts(profile: Any) -> tuple[int | None, int | None]:
    """(flops, activations) of a run's profile: None when counting failed, and FLOPs also None when
    an operator could not be counted (a lower bound must not rank as a measurement)."""
    counts = profile.get("counts") if isinstance(profile, dict) else None
    if not isinstance(counts, dict) or "error" in counts:
        return None, None
    flops, activations = counts.get("flops"), counts.get("activations")
    complete = not counts.get("uncounted_ops")
    return (
        int(_number(flops, "run.profile.counts.flops")) if flops is not None and complete else None,
        int(_number(activations, "run.profile.counts.activations")) if activations is not None else None,
    )


def model_numbers(run: dict) -> dict[str, Any]:
    """The factsheet numbers of a model run report, checked to be what they claim."""
    if not isinstance(run, dict):
        raise TypeError(f"model run report is {type(run).__name__}, expected a dict")
    profile = run.get("profile")
    flops, activations = _counts(profile)
    return {
        "model_seconds_per_image": _optional(run, "seconds_per_image"),
        "model_seconds_per_image_median": _optional(run, "seconds_per_image_median"),
        "model_parameters": _optional(run, "parameters", int),
        "model_peak_memory_bytes": _optional(run, "peak_memory_bytes", int),
        "model_flops": flops,
        "model_activations": activations,
        "model_profile": profile if isinstance(profile, dict) else None,
    }
