"""Celery tasks: each looks up ids and calls a service; the job row holds the state, not the broker.

`evaluate_submission` is acknowledged late (after it returns), so a worker that dies mid-job leaves
the message to be redelivered; `jobs.evaluation_job_claim` then takes the job over, and its results
are still written once. Messages are JSON (settings refuse pickle).
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from restorebench.submissions import jobs, upload_cleanup


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
    return upload_cleanup.upload_sessions_cleanup().as_dict()
