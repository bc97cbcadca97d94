"""The job-level entry point for model submissions: run the model in the sandbox, then score its outputs.

`run_model_job(model_path, manifest, inputs_dir, gt_dir, spec, work_dir, limits, progress) -> dict` is
what the platform's Celery task calls for a model submission — JSON in, JSON out, no Django — the
counterpart of `evaluator.jobs.run_scoring_job` for image submissions.

Result: {"run": RunReport.to_dict(), "score": ScoreResult.to_dict() or None}. A model at fault gives
`run.ok == False` with `run.error_kind` / `run.error` (for the participant) and no score; leaderboards
can show `run.seconds_per_image` (and its median), `run.parameters`, `run.peak_memory_bytes` and
`run.profile` (FLOPs, activations at the track's reference input, device, library versions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evaluator.model_runner.sandbox import RunLimits, run_model_submission


def run_model_job(
    model_path: str,
    manifest: Mapping[str, Any],
    inputs_dir: str,
    gt_dir: str,
    spec: Mapping[str, Any],
    work_dir: str,
    limits: Mapping[str, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    reference_input: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Run `model_path` on the phase's `inputs_dir`, write outputs to `work_dir/outputs`, and score them
    against `gt_dir` with `spec` (a `ScoringSpec.to_dict()`).

    inputs_dir: the folder of inputs (8-bit PNGs or unclipped float `.npy` arrays, see inputs.py), or a
    track's public folder (inputs in `inputs/`); the masks and kernels a manifest's `mask_input` /
    `kernel_input` asks for are found beside them there (`masks/<id>.png`, `kernels/<id>.npy`; see
    side_inputs.py). Outputs are `<id>.png`, named like the ground truth in `gt_dir`.

    progress(stage, done, total) is called with stage "inference" then "scoring".
    reference_input: (height, width) at which the sandboxed child counts the model's FLOPs (the
    track's; default: the task's), recorded in `run.profile`.
    """
    out_dir = Path(work_dir) / "outputs"
    report = run_model_submission(
        model_path,
        manifest,
        inputs_dir,
        out_dir,
        RunLimits.from_dict(limits),
        progress=(lambda d, t: progress("inference", d, t)) if progress else None,
        reference_input=reference_input,
    )
    result: dict[str, Any] = {"run": report.to_dict(), "score": None}
    if not report.ok:
        return result
    from evaluator.jobs import run_scoring_job  # the scoring engine, imported only when there is output

    result["score"] = run_scoring_job(
        str(out_dir),
        str(gt_dir),
        dict(spec),
        progress=(lambda d, t: progress("scoring", d, t)) if progress else None,
    )
    return result
