"""A track's degradation and scoring specs, validated in one place for the bundle loader, the services
(and so the API) and the admin: the same spec gets the same verdict, with the same message, whichever
way it comes in.

- degradation: `benchdata.degradations.DegradationSpec` for the track's task (its `task` may be left
  out; if given it must be the track's). A task without a synthetic degradation (`enhance`) takes none.
  Absent (None) is allowed unless the caller says the track's data are generated from it.
- scoring: `evaluator.spec.ScoringSpec`; absent (None) means the task's conventions. A scaled task
  takes the degradation's scale when the scoring spec gives none, and the two must agree.
- a track without ground truth (`scoring.ground_truth: false`, docs/platform.md) may name only
  no-reference metrics (the spec refuses the others) and, for now, only single-image tasks: the
  evaluator reads its inputs as the images that name and size the expected outputs.

Problems carry a path inside the track (`("scoring", "metrics")`), which the bundle loader turns into a
line and the services into a field name.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchdata.tasks import get_task


@dataclass(frozen=True)
class SpecProblem:
    path: tuple[str, ...]  # ("degradation", ...) or ("scoring", ...): the deepest field the message names
    message: str


@dataclass(frozen=True)
class TrackSpecs:
    degradation_spec: dict  # DegradationSpec.to_dict(), or {} for none (or not valid)
    scoring_spec: dict  # ScoringSpec.to_dict(), or {} when not valid


class TrackSpecError(ValueError):
    """Every problem of a track's specs; `partial` holds the parts that are valid (the bundle loader
    goes on checking the ranking against a valid scoring spec)."""

    def __init__(self, problems: list[SpecProblem], partial: TrackSpecs) -> None:
        self.problems = problems
        self.partial = partial
        super().__init__("; ".join(p.message for p in problems))


def has_ground_truth(scoring_spec: Mapping | None) -> bool:
    """Whether a stored scoring spec scores against ground truth (False: inputs only, no-reference
    metrics)."""
    return not (isinstance(scoring_spec, Mapping) and scoring_spec.get("ground_truth") is False)


def value_kind(value: Any) -> str:
    """How an error message names a wrong value: its kind, and the value where it is short."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _degradation(task: str, raw: Any, required: bool, problems: list[SpecProblem]) -> dict:
    from benchdata.degradations import DegradationSpec
    from benchdata.degradations.spec import SpecError

    info = get_task(task)
    if not info.synthetic:
        if raw is not None:
            problems.append(
                SpecProblem(
                    ("degradation",),
                    f"a {task} track has no synthetic degradation: its data are organizer pairs",
                )
            )
        return {}
    if raw is None:
        if required:
            example = ", ".join(f"{k}: {v}" for k, v in (info.example or {}).items())
            problems.append(
                SpecProblem(("degradation",), f"is required (e.g. {{{example}}} for a {task} track)")
            )
        return {}
    if not isinstance(raw, dict):
        problems.append(
            SpecProblem(("degradation",), f"must be a mapping of degradation fields, got {value_kind(raw)}")
        )
        return {}
    if "task" in raw and raw["task"] != task:
        problems.append(
            SpecProblem(("degradation", "task"), f"must be {task!r} for a {task} track (or be left out)")
        )
        return {}
    try:
        return DegradationSpec.from_dict({**raw, "task": task}).to_dict()
    except (SpecError, ValueError, OSError) as error:
        # 'kernel.sigma must be ...' names the field at fault: the deepest one is the path.
        named = re.match(r"^([a-z_]+(?:\.[a-z_]+)*)\b", str(error))
        parts = tuple(named.group(1).split(".")) if named else ()
        problems.append(SpecProblem(("degradation", *parts), str(error)))
        return {}


def _scoring(task: str, raw: Any, degradation: dict, problems: list[SpecProblem]) -> dict:
    from evaluator.errors import SpecError
    from evaluator.spec import ScoringSpec

    info = get_task(task)
    if raw is None:
        raw = {"task": task}
    elif not isinstance(raw, dict):
        problems.append(
            SpecProblem(("scoring",), f"must be a mapping of scoring options, got {value_kind(raw)}")
        )
        return {}
    raw = dict(raw)
    scale = degradation.get("scale")
    if info.scaled and "scale" not in raw and scale is not None:
        raw["scale"] = scale
    try:
        spec = ScoringSpec.from_dict(raw)
    except (SpecError, ValueError, TypeError) as error:
        named = re.search(r"spec\.([a-z_]+)", str(error))
        problems.append(SpecProblem(("scoring", *([named.group(1)] if named else [])), str(error)))
        return {}
    if info.scaled and scale is not None and spec.scale not in (None, scale):
        problems.append(
            SpecProblem(("scoring", "scale"), f"is {spec.scale}, but the degradation's scale is {scale}")
        )
    if not spec.ground_truth and info.scaled and spec.scale is None:
        problems.append(
            SpecProblem(
                ("scoring", "scale"),
                f"is required: without ground truth, a {task} output is its input times the scale",
            )
        )
    if not spec.ground_truth and info.multi_frame:
        problems.append(
            SpecProblem(
                ("scoring", "ground_truth"),
                f"a {task} track needs ground truth: scoring without it (ground_truth: false) takes "
                "single-image inputs, whose sizes fix the outputs'",
            )
        )
    return spec.to_dict()


def track_specs_validate(
    *, task: str, degradation: Any, scoring: Any, degradation_required: bool = False
) -> TrackSpecs:
    """Validate a track's specs for `task` (a name from the task table); return them normalised, or raise
    `TrackSpecError` listing every problem. None means absent (see the module docstring);
    `degradation_required`: the track's data are generated from the degradation."""
    problems: list[SpecProblem] = []
    degradation_spec = _degradation(task, degradation, degradation_required, problems)
    scoring_spec = _scoring(task, scoring, degradation_spec, problems)
    specs = TrackSpecs(degradation_spec, scoring_spec)
    if problems:
        raise TrackSpecError(problems, specs)
    return specs
