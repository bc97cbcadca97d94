"""A model submission's job: run the model in the evaluator's sandbox on the phase's inputs (read
through the confinement check) in a scratch folder, and say what the participant reads if it fails."""

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

from restorebench import storage
from restorebench.submissions.job_heartbeat import JobHeartbeat
from restorebench.submissions.scratch_cleanup import model_job_scratch_dir

if TYPE_CHECKING:
    from restorebench.submissions.jobs import Claim


def model_failure_message(run: dict) -> str:
    """What the participant reads when their model failed in the sandbox."""
    kind = run.get("error_kind") or "error"
    message = run.get("error") or "the model run failed"
    image = run.get("failed_image")
    where = f" on image {image}" if image and image not in message else ""
    return f"Your model failed ({kind}){where}: {message}"


def _scratch_tidy(scratch: Path, *, keep_outputs: bool) -> None:
    """After a run: a successful run's outputs stay for the viewer's previews (made, then removed, once
    the scores are stored; the scratch sweep removes them if that never happens); the rest goes now."""
    if not keep_outputs:
        shutil.rmtree(scratch, ignore_errors=True)
        return
    for child in scratch.iterdir() if scratch.is_dir() else []:
        if child.name != "outputs":
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)


def run_model(
    *, claim: "Claim", archive: Path, ground_truth: Path, heartbeat: JobHeartbeat
) -> tuple[dict, dict | None]:
    """Run the model job in a scratch folder; return (run report, score result or None)."""
    inputs = storage.model_inputs_for_reading(claim.phase)
    limits = dict(settings.RESTOREBENCH_MODEL_RUN_LIMITS)
    limits.setdefault("use_gpu", claim.queue == settings.RESTOREBENCH_QUEUES["gpu"])
    limits.setdefault("allow_weak_sandbox", settings.RESTOREBENCH_SANDBOX_ALLOW_WEAK)
    run_model_job = import_string(settings.RESTOREBENCH_MODEL_FUNCTION)

    def progress(stage: str, done: int, total: int) -> None:
        # Two passes over the images, inference then scoring: one bar from 0 to 2N.
        heartbeat.progress(done + (total if stage == "scoring" else 0), 2 * total)

    scratch = model_job_scratch_dir(job_id=claim.job_id, token=claim.token)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    result = None
    try:
        result = run_model_job(
            str(archive),
            claim.manifest or {},
            str(inputs),
            str(ground_truth),
            claim.spec,
            str(scratch),
            limits,
            progress,
            reference_input=claim.reference_input,
        )
    finally:
        _scratch_tidy(
            scratch, keep_outputs=isinstance(result, dict) and bool((result.get("run") or {}).get("ok"))
        )
    if not isinstance(result, dict) or not isinstance(result.get("run"), dict):
        raise TypeError(f"model function returned {result!r:.200}, expected {{'run': ..., 'score': ...}}")
    run = result["run"]
    if run.get("ok") and not isinstance(result.get("score"), dict):
        raise TypeError("model function returned a successful run without a score")
    return run, result.get("score")
