"""Scratch folders that model runs of a killed worker left behind.

Two kinds, each deleted only when no live run owns it:
- the sandbox's own scratch folders (the model and input copies the child works in, in the worker's
  temporary folder): owned by the process named in the folder's name, deleted once that process is
  gone (`evaluator.model_runner.sweep_stale_scratch`);
- the platform's per-attempt work folders `storage/tmp/model-job-<job id>-<attempt>` (the model's
  restored images before scoring): owned by the job row, kept while that job is running that attempt.

Runs when a worker starts (Celery `worker_ready`, see tasks.py) and with the periodic upload cleanup
(`RESTOREBENCH_UPLOAD_CLEANUP_EVERY_S`).
"""

import logging
import re
import shutil
from pathlib import Path

from restorebench import storage
from restorebench.submissions.models import EvaluationJob, JobStatus

logger = logging.getLogger(__name__)

_JOB_FOLDER = re.compile(r"^model-job-(\d+)-(\d+)$")


def model_job_scratch_dir(*, job_id: int, token: int) -> Path:
    """The work folder of one attempt (`token`) of a model job."""
    return storage.scratch_dir() / f"model-job-{job_id}-{token}"


def _job_folder_is_live(job_id: int, token: int) -> bool:
    return EvaluationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=token).exists()


def model_scratch_cleanup() -> dict[str, int]:
    """Delete the scratch folders of model runs that no live run owns; return how many went."""
    from evaluator.model_runner.scratch import sweep_stale_scratch  # the evaluator, on first use

    sandbox = sweep_stale_scratch()
    jobs = 0
    tmp = storage.scratch_dir()
    for folder in sorted(tmp.glob("model-job-*")) if tmp.is_dir() else []:
        match = _JOB_FOLDER.match(folder.name)
        if match is None or folder.is_symlink() or not folder.is_dir():
            continue
        if _job_folder_is_live(int(match.group(1)), int(match.group(2))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        jobs += not folder.exists()
    report = {"sandbox_folders_deleted": len(sandbox), "job_folders_deleted": jobs}
    if sandbox or jobs:
        logger.info("model scratch cleanup: %s", report)
    return report
