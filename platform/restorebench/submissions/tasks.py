"""Celery tasks: each looks up ids and calls a service; the job row holds the state, not the broker.

`evaluate_submission` is acknowledged late (after it returns), so a worker that dies mid-job leaves
the message to be redelivered; `jobs.evaluation_job_claim` then takes the job over, and its results
are still written once. Messages are JSON (settings refuse pickle).
"""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError

from restorebench.submissions import jobs, scratch_cleanup, upload_cleanup

logger = logging.getLogger(__name__)


# A database that is briefly unavailable or locked (SQLite under concurrent writers, a PostgreSQL
# failover) is the platform's problem: the task is sent again with backoff instead of the job waiting
# in "queued" for the reaper. The job row's claim makes a repeated run harmless.
@shared_task(
    name=jobs.TASK_NAME,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=8,
)
def evaluate_submission(self, job_id: int) -> str:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return jobs.evaluation_job_run(
        job_id=int(job_id), worker=self.request.hostname or "worker", redelivered=redelivered
    )


@shared_task(name="restorebench.submissions.tasks.reap_evaluation_jobs", ignore_result=True)
def reap_evaluation_jobs() -> dict:
    return jobs.evaluation_jobs_reap().as_dict()


@shared_task(name="restorebench.submissions.tasks.cleanup_uploads", ignore_result=True)
def cleanup_uploads() -> dict:
    return {**upload_cleanup.upload_sessions_cleanup().as_dict(), **scratch_cleanup.model_scratch_cleanup()}


@worker_ready.connect
def sweep_model_scratch_on_worker_start(**_kwargs: object) -> None:
    """A worker killed mid-run left its model runs' scratch folders: the next one to start sweeps them."""
    try:
        scratch_cleanup.model_scratch_cleanup()
    except Exception:  # a worker must start even when the sweep fails (e.g. the database is down)
        logger.exception("model scratch cleanup at worker start failed")
