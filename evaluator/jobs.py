"""The plain function the platform's Celery task calls: JSON in, JSON out, no Django.

`run_scoring_job` raises `SubmissionError` (a subclass) when the participant's submission is at fault —
its message is meant to be shown to the participant, and `.problems` lists the files. Any other exception
is a platform error (bad spec, missing weights, bad ground truth, a bug) and must not be blamed on the
participant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaluator.scoring import score
from evaluator.spec import ScoringSpec


def run_scoring_job(
    pred_path: str, gt_dir: str, spec: dict[str, Any], progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Score `pred_path` (folder or .zip) against `gt_dir` with `spec` (a `ScoringSpec.to_dict()`).

    Returns `ScoreResult.to_dict()` (JSON-serialisable).
    """
    return score(pred_path, gt_dir, ScoringSpec.from_dict(spec), progress=progress).to_dict()
