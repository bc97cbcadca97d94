"""A track's efficiency settings, validated in one place for the bundle loader, the services (and so
the API) and the admin.

Bundle spelling (docs/platform.md):

    efficiency:
      input_size: [256, 256]    # [height, width] of the model input; for sr tracks the LOW-resolution
                                # input (a single integer means a square)

It is the reference input at which every model submission's FLOPs, activations and parameters are
counted (in the sandbox: evaluator/model_runner/efficiency.py). Left out, it is the task's
(`benchdata.tasks.TaskInfo.reference_input`: 256 × 256 for every task, as NTIRE's efficiency
challenges count). Stored on the track as `{"input_size": [h, w]}`; a track stored before the field
existed has `{}` and counts at its task's size.
"""

from typing import Any

from benchdata.tasks import REFERENCE_INPUT_BOUNDS, get_task

FIELDS = ("input_size",)


class EfficiencyConfigError(ValueError):
    """Problems of an `efficiency` mapping: [(path inside it, message)]."""

    def __init__(self, problems: list[tuple[tuple, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p)) or 'efficiency'}: {m}" for p, m in problems))


def _side(value: Any) -> bool:
    low, high = REFERENCE_INPUT_BOUNDS
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def track_efficiency_validate(raw: Any, *, task: str) -> dict:
    """The stored form of `raw` (bundle spelling; None: the task's default); raises
    `EfficiencyConfigError` naming every problem."""
    default = list(get_task(task).reference_input)
    if raw is None:
        return {"input_size": default}
    if not isinstance(raw, dict):
        raise EfficiencyConfigError([((), f"must be a mapping with {', '.join(FIELDS)}, got {raw!r}")])
    problems = [
        ((key,), f"unknown field; allowed here: {', '.join(FIELDS)}") for key in sorted(set(raw) - {*FIELDS})
    ]
    size = raw.get("input_size", default)
    if _side(size):
        size = [size, size]
    low, high = REFERENCE_INPUT_BOUNDS
    if not (isinstance(size, list | tuple) and len(size) == 2 and all(_side(v) for v in size)):
        problems.append(
            (
                ("input_size",),
                f"must be [height, width] (or one integer for a square), each an integer from {low} to "
                f"{high}, got {size!r}",
            )
        )
    if problems:
        raise EfficiencyConfigError(problems)
    return {"input_size": [int(size[0]), int(size[1])]}


def track_reference_input(track: Any) -> tuple[int, int]:
    """(height, width) at which the track counts its model submissions' FLOPs."""
    size = (track.efficiency or {}).get("input_size")
    return (int(size[0]), int(size[1])) if size else get_task(track.task).reference_input
