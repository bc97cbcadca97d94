"""RestoreBench's scoring engine: exact PSNR / SSIM / LPIPS for restored images, with no Django.

Public entry points: `score()` (library), `python -m evaluator` (CLI), and
`evaluator.jobs.run_scoring_job()` (the plain function the platform's Celery task calls).
`ScoringSpec` configures a track's scoring, `ScoreResult` is what comes back; the metric table is in
`evaluator.metrics` (`create_metric`, `list_metrics`).

Names are imported lazily, so `import evaluator.<submodule>` (e.g. the model runner) does not pull in
torch until a metric is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EvaluatorError": "evaluator.errors",
    "SpecError": "evaluator.errors",
    "SubmissionError": "evaluator.errors",
    "SubmissionRejected": "evaluator.errors",
    "UnreadableSubmission": "evaluator.errors",
    "WeightsNotInstalled": "evaluator.errors",
    "ImageScore": "evaluator.result",
    "Problem": "evaluator.result",
    "ScoreResult": "evaluator.result",
    "ScoringSpec": "evaluator.spec",
    "score": "evaluator.scoring",
    "create_metric": "evaluator.metrics",
    "list_metrics": "evaluator.metrics",
    "metric_info": "evaluator.metrics",
    "register_metric": "evaluator.metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evaluator' has no attribute {name!r}")
