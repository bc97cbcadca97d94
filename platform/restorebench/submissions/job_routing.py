"""Where a job goes and how it gets there: the queue for a submission, and sending "look at job N" to
the broker (the row stays the source of truth; the reaper resends what did not arrive)."""

import logging

from django.conf import settings
from django.utils import timezone

from restorebench.submissions.models import (
    EvaluationJob,
    JobStatus,
    Submission,
    SubmissionKind,
)

log = logging.getLogger("restorebench.submissions.jobs")

TASK_NAME = "restorebench.submissions.tasks.evaluate_submission"


def queue_for(compute: str) -> str:
    return settings.RESTOREBENCH_QUEUES.get(compute, settings.RESTOREBENCH_QUEUES["cpu"])


def queue_for_submission(submission: Submission) -> str:
    """Image jobs go to the track's queue; model jobs to the GPU queue when the settings say GPU
    workers consume it (RESTOREBENCH_GPU_WORKERS), otherwise to the track's queue too."""
    if submission.kind == SubmissionKind.MODEL and settings.RESTOREBENCH_GPU_WORKERS:
        return queue_for("gpu")
    return queue_for(submission.phase.track.compute)


def evaluation_job_enqueue(*, job_id: int, countdown: float | None = None) -> bool:
    """Send the job's task to its queue. If the broker is unreachable the job stays `pending` and the
    reaper sends it later; returns whether the message was sent."""
    from restorebench.celery_app import app

    job = EvaluationJob.objects.filter(pk=job_id).values("queue", "status").first()
    if job is None or job["status"] != JobStatus.PENDING:
        return False
    try:
        # A fresh connection per message: a pooled one may be dead after a broker restart, and sending
        # is rare enough (one per submission) for the handshake not to matter.
        with app.connection_for_write() as conn:
            app.send_task(
                TASK_NAME,
                args=[job_id],
                queue=job["queue"],
                countdown=countdown,
                connection=conn,
                retry=True,
                retry_policy={
                    "max_retries": 1,
                    "interval_start": 0.2,
                    "interval_step": 0.5,
                    "interval_max": 1,
                },
            )
    except Exception as error:  # any transport error: the row stays pending, the reaper retries
        log.warning(
            "could not send evaluation job %s to the broker (%s); the reaper will retry", job_id, error
        )
        return False
    EvaluationJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.QUEUED, enqueued_at=timezone.now()
    )
    return True
