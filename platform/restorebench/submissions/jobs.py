"""The evaluation job's state machine: claim, finish, fail, reap, and what a worker does for one message.

Beside it: `job_routing` (queues, creating a job, sending it to the broker), `job_heartbeat` (liveness
while a job runs), `job_results` (reading a scorer's output), `model_jobs` (a model run in the
sandbox); every data path comes from `restorebench.storage`, re-checked when the job reads it.

The job row is the source of truth; broker messages only say "look at job N". Every write a worker
makes is conditional on its claim: claiming increments `attempts`, and heartbeats, progress and results
are accepted only while the job is still `running` with that same attempt number. So when a task is
delivered twice (a worker died and the broker redelivered it, or the reaper sent it again) at most one
run's results are stored, in the one transaction that marks the job done, and `ImageScore`'s unique
constraint backs that up.

A model submission's job calls `RESTOREBENCH_MODEL_FUNCTION` (`evaluator.model_runner.run_model_job`)
instead of the scoring function: the model runs in the evaluator's sandbox on the phase's inputs, its
outputs are scored like an uploaded zip, and the run report (runtime per image, parameters, peak
memory) is stored with the scores. A model at fault (`run.ok` false: refused format, wrong output
shape, out of memory or time, ...) is the participant's error, with the sandbox's reason.

Errors: `evaluator.errors.SubmissionError` (the submission's fault) fails the job at once with the
evaluator's message for the participant. Anything else is the platform's fault: the job is retried
with exponential backoff up to `max_attempts`, and if it still fails the submission is marked failed
by the platform, does not count toward the team's limits, and shows up for organizers.
"""

import datetime as dt
import logging
import shutil
import time
import traceback
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from restorebench import storage
from restorebench.challenges.selectors import phase_scoring_spec
from restorebench.challenges.track_efficiency import track_reference_input
from restorebench.challenges.track_specs import has_ground_truth
from restorebench.submissions.job_heartbeat import (
    JobAbandoned,
    JobHeartbeat,
    evaluation_job_heartbeat,  # noqa: F401 (re-export)
)
from restorebench.submissions.job_results import model_numbers, parse_scoring_result
from restorebench.submissions.job_routing import (  # noqa: F401 (re-exported: callers use jobs.X)
    TASK_NAME,
    evaluation_job_enqueue,
    queue_for,
    queue_for_submission,
)
from restorebench.submissions.model_jobs import model_failure_message, run_model
from restorebench.submissions.models import (
    ACTIVE_JOB_STATUSES,
    EvaluationJob,
    FailureKind,
    ImageScore,
    JobPurpose,
    JobStatus,
    Rescore,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)

log = logging.getLogger(__name__)


PLATFORM_FAILURE_MESSAGE = (
    "The platform could not score this submission (an internal error, not a problem with your files). "
    "The organizers have been notified; it does not count toward your submission limits."
)


def _participant_errors() -> tuple[type[BaseException], ...]:
    from evaluator.errors import SubmissionError

    return (SubmissionError,)


def evaluation_job_create(
    *, submission: Submission, purpose: str = JobPurpose.SUBMISSION, rescore: Rescore | None = None
) -> EvaluationJob:
    """Create a pending job; it is sent to the broker once the surrounding transaction commits."""
    job = EvaluationJob.objects.create(
        submission=submission,
        purpose=purpose,
        rescore=rescore,
        queue=queue_for_submission(submission),
        max_attempts=settings.RESTOREBENCH_JOB_MAX_ATTEMPTS,
    )
    transaction.on_commit(lambda: evaluation_job_enqueue(job_id=job.pk))
    return job


@dataclass(frozen=True)
class Claim:
    job_id: int
    token: int  # the attempt number this worker holds
    # Whose data this job reads: every path is built from this and re-checked when read.
    phase: storage.PhaseKey
    archive_path: str  # as the submission records it, relative to the storage folder
    spec: dict
    kind: str = SubmissionKind.IMAGES
    # Model submissions: the manifest and the queue (a GPU queue lets the sandbox use the GPU).
    manifest: dict | None = None
    queue: str = ""
    # (height, width) at which the sandbox counts a model's FLOPs: the track's reference input.
    reference_input: tuple[int, int] | None = None


def evaluation_job_claim(*, job_id: int, worker: str, redelivered: bool = False) -> Claim | None:
    """Take the job for this worker, or return None when there is nothing to do (finished, cancelled, or
    running elsewhere with a fresh heartbeat). A redelivered message, or a stale heartbeat, means the
    previous worker is gone: its claim is taken over. A job out of attempts is failed here."""
    now = timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.RESTOREBENCH_HEARTBEAT_TIMEOUT_S)
    with transaction.atomic():
        job = (
            # Only the job and its submission: locking the joined phase and track rows too would
            # block every insert into the phase (its foreign-key check) and, with the per-team write
            # counter the submission's update bumps, let a concurrent submit deadlock against us.
            EvaluationJob.objects.select_for_update(of=("self", "submission"))
            .select_related("submission", "submission__phase", "submission__phase__track")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.status not in ACTIVE_JOB_STATUSES:
            return None
        if (
            job.status == JobStatus.RUNNING
            and not redelivered
            and job.heartbeat_at
            and job.heartbeat_at > stale_before
        ):
            return None
        if job.attempts >= job.max_attempts:
            _job_fail_locked(
                job=job,
                kind=FailureKind.PLATFORM,
                message=f"gave up after {job.attempts} attempts; last: {job.error_message or 'worker lost'}",
                now=now,
            )
            return None
        if job.status == JobStatus.RUNNING:
            log.warning("job %s: taking over from %s (attempt %s)", job.pk, job.worker, job.attempts)
        job.attempts += 1
        job.status = JobStatus.RUNNING
        job.worker = worker[:200]
        job.started_at = job.heartbeat_at = now
        job.progress_done = job.progress_total = 0
        job.save(
            update_fields=[
                "attempts",
                "status",
                "worker",
                "started_at",
                "heartbeat_at",
                "progress_done",
                "progress_total",
            ]
        )
        submission = job.submission
        if job.purpose == JobPurpose.SUBMISSION and submission.status in (SubmissionStatus.QUEUED,):
            Submission.objects.filter(pk=submission.pk).update(
                status=SubmissionStatus.RUNNING, updated_at=now
            )
        phase = submission.phase
        return Claim(
            job.pk,
            job.attempts,
            storage.phase_key(phase),
            submission.archive_path,
            phase_scoring_spec(phase=phase),
            kind=submission.kind,
            manifest=submission.model_manifest,
            queue=job.queue,
            reference_input=track_reference_input(phase.track),
        )


def evaluation_job_complete(*, job_id: int, token: int, result: dict, model_run: dict | None = None) -> bool:
    """Store the results (and a model submission's run report) and mark the job done, once. Returns
    False (and stores nothing) when this claim no longer holds the job."""
    aggregates, rows, problems, record = parse_scoring_result(result)
    numbers = model_numbers(model_run) if model_run is not None else {}
    now = timezone.now()
    with transaction.atomic():
        job = EvaluationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.RUNNING or job.attempts != token:
            return False
        ImageScore.objects.bulk_create(
            ImageScore(job=job, image_name=name[:255], metric=metric, value=value)
            for name, metric, value in rows
        )
        job.status = JobStatus.DONE
        job.finished_at = job.heartbeat_at = now
        job.aggregates = aggregates
        job.problems = problems
        job.scoring_record = record
        job.model_run = model_run
        # A model job's progress counts each image twice: inference, then scoring.
        steps = len({r[0] for r in rows}) * (2 if model_run is not None else 1)
        job.progress_done = job.progress_total = max(job.progress_total, steps)
        job.error_kind, job.error_message = "", ""
        job.save()
        submission = Submission.objects.select_for_update().get(pk=job.submission_id)
        if submission.status != SubmissionStatus.CANCELLED:
            submission.status = SubmissionStatus.SCORED
            submission.failure_kind = ""
            submission.failure_reason = ""
            submission.scores = job.aggregates
            submission.current_job = job
            submission.scored_at = now
            for name, value in numbers.items():
                setattr(submission, name, value)
            submission.save(
                update_fields=[
                    "status",
                    "failure_kind",
                    "failure_reason",
                    "scores",
                    "current_job",
                    "scored_at",
                    "updated_at",
                    *numbers,
                ]
            )
    return True


def _job_fail_locked(*, job: EvaluationJob, kind: str, message: str, now: dt.datetime) -> None:
    job.status = JobStatus.FAILED
    job.error_kind = kind
    job.error_message = message
    job.finished_at = now
    job.save(update_fields=["status", "error_kind", "error_message", "finished_at"])
    if job.purpose != JobPurpose.SUBMISSION:
        return  # a failed rescore leaves the submission's standing scores; the rescore report shows it
    submission = Submission.objects.select_for_update().get(pk=job.submission_id)
    if submission.status in (SubmissionStatus.CANCELLED, SubmissionStatus.SCORED):
        return
    submission.status = SubmissionStatus.FAILED
    submission.failure_kind = kind
    if kind == FailureKind.PARTICIPANT:
        submission.failure_reason = message
    else:
        submission.failure_reason = PLATFORM_FAILURE_MESSAGE
        submission.counts_toward_limits = False
    submission.save(
        update_fields=["status", "failure_kind", "failure_reason", "counts_toward_limits", "updated_at"]
    )


def evaluation_job_fail(
    *,
    job_id: int,
    token: int,
    kind: str,
    message: str,
    model_run: dict | None = None,
    problems: list[dict] | None = None,
) -> str:
    """Record a failure of this claim. Participant errors are final; platform errors are retried with
    exponential backoff until `max_attempts`. `model_run` is a failed model run's report, kept on the
    job for organizers. Returns the job's new status ('' if no longer ours)."""
    now = timezone.now()
    with transaction.atomic():
        job = EvaluationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.RUNNING or job.attempts != token:
            return ""
        if model_run is not None:
            job.model_run = model_run
            job.save(update_fields=["model_run"])
        if problems:  # the evaluator's per-file list, shown to the participant with the reason
            job.problems = problems
            job.save(update_fields=["problems"])
        if kind == FailureKind.PLATFORM and job.attempts < job.max_attempts:
            delay = settings.RESTOREBENCH_RETRY_BACKOFF_S * 2 ** (job.attempts - 1)
            job.status = JobStatus.PENDING
            job.error_kind = FailureKind.PLATFORM
            job.error_message = message
            job.not_before = now + dt.timedelta(seconds=delay)
            job.worker = ""
            job.save(update_fields=["status", "error_kind", "error_message", "not_before", "worker"])
            Submission.objects.filter(pk=job.submission_id, status=SubmissionStatus.RUNNING).update(
                status=SubmissionStatus.QUEUED, updated_at=now
            )
            transaction.on_commit(lambda: evaluation_job_enqueue(job_id=job_id, countdown=delay))
            return JobStatus.PENDING
        _job_fail_locked(job=job, kind=kind, message=message, now=now)
        return JobStatus.FAILED


# Waits between tries to store a finished job's results while the database is away (a restart or a
# failover takes seconds): the results are only in memory, and losing them means scoring again.
_STORE_RETRY_WAITS_S = (0.5, 1, 2, 4, 8, 15)


def _store_results(*, job_id: int, token: int, result: dict, model_run: dict | None) -> bool:
    for wait in (*_STORE_RETRY_WAITS_S, None):
        try:
            return evaluation_job_complete(job_id=job_id, token=token, result=result, model_run=model_run)
        except (OperationalError, InterfaceError) as error:
            if wait is None:
                raise
            # Safe to repeat: the write is one transaction, guarded by the claim's token.
            log.warning("job %s: database unavailable while storing results (%s)", job_id, error)
            connection.close()
            time.sleep(wait)
    raise AssertionError("unreachable")


def evaluation_job_run(*, job_id: int, worker: str, redelivered: bool = False) -> str:
    """Everything a worker does for one task message. Returns the job's resulting status, or '' when
    the message needed no work."""
    claim = evaluation_job_claim(job_id=job_id, worker=worker, redelivered=redelivered)
    if claim is None:
        return ""
    participant_errors = _participant_errors()
    heartbeat = JobHeartbeat(
        job_id=job_id,
        token=claim.token,
        every_s=settings.RESTOREBENCH_HEARTBEAT_EVERY_S,
        time_limit_s=settings.RESTOREBENCH_JOB_TIME_LIMIT_S,
        # A hung scorer would otherwise heartbeat forever: give the claim up as a platform error
        # (retried, then failed at the attempt cap).
        on_time_limit=lambda message: evaluation_job_fail(
            job_id=job_id, token=claim.token, kind=FailureKind.PLATFORM, message=message
        ),
    )
    heartbeat.start()
    model_run = None
    try:
        # Both re-checked here, on every run: confined to the submission's own phase area.
        archive = storage.submission_archive_for_reading(claim.phase, claim.archive_path)
        ground_truth = storage.phase_scored_against_for_reading(
            claim.phase, ground_truth=has_ground_truth(claim.spec)
        )
        if claim.kind == SubmissionKind.MODEL:
            model_run, result = run_model(
                claim=claim, archive=archive, ground_truth=ground_truth, heartbeat=heartbeat
            )
            if not model_run.get("ok"):
                heartbeat.stop()
                return evaluation_job_fail(
                    job_id=job_id,
                    token=claim.token,
                    kind=FailureKind.PARTICIPANT,
                    message=model_failure_message(model_run),
                    model_run=model_run,
                )
        else:
            score = import_string(settings.RESTOREBENCH_SCORING_FUNCTION)
            result = score(str(archive), str(ground_truth), claim.spec, heartbeat.progress)
    except JobAbandoned:
        return ""
    except participant_errors as error:
        heartbeat.stop()
        return evaluation_job_fail(
            job_id=job_id,
            token=claim.token,
            kind=FailureKind.PARTICIPANT,
            message=str(error),
            problems=[p.to_dict() for p in getattr(error, "problems", [])],
        )
    except Exception as error:
        heartbeat.stop()
        log.exception("evaluation job %s failed (platform error)", job_id)
        message = f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}"
        return evaluation_job_fail(
            job_id=job_id, token=claim.token, kind=FailureKind.PLATFORM, message=message
        )
    finally:
        heartbeat.stop()
    try:
        stored = _store_results(job_id=job_id, token=claim.token, result=result, model_run=model_run)
    except Exception as error:  # e.g. a malformed result: the platform's fault, retried
        log.exception("evaluation job %s: storing results failed", job_id)
        message = f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}"
        return evaluation_job_fail(
            job_id=job_id, token=claim.token, kind=FailureKind.PLATFORM, message=message
        )
    if stored:
        _previews_after_scoring(job_id)
    return JobStatus.DONE if stored else ""


def _previews_after_scoring(job_id: int) -> None:
    """Web copies for the comparison viewer, made here on the worker once the scores are stored; a
    failure only costs the pictures, never the result."""
    from restorebench.submissions.previews import previews_make
    from restorebench.submissions.scratch_cleanup import model_job_scratch_dir

    job = EvaluationJob.objects.select_related("submission", "submission__phase").get(pk=job_id)
    outputs = model_job_scratch_dir(job_id=job_id, token=job.attempts)  # a model run's kept outputs
    try:
        previews_make(submission=job.submission, outputs=outputs / "outputs")
    except Exception:
        log.exception("job %s: previews not made", job_id)
    finally:
        shutil.rmtree(outputs, ignore_errors=True)


@dataclass
class ReapReport:
    requeued_lost: int = 0
    sent_pending: int = 0
    resent_queued: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def evaluation_jobs_reap(*, now: dt.datetime | None = None) -> ReapReport:
    """Find jobs the pipeline lost and put them back: running jobs whose heartbeat went stale (worker
    gone) are requeued, or failed once out of attempts; pending jobs that never reached the broker (it
    was down) are sent; queued jobs that sat too long are sent again. Safe to run concurrently."""
    now = now or timezone.now()
    report = ReapReport()
    to_send: list[int] = []
    stale_before = now - dt.timedelta(seconds=settings.RESTOREBENCH_HEARTBEAT_TIMEOUT_S)
    pending_before = now - dt.timedelta(seconds=settings.RESTOREBENCH_PENDING_GRACE_S)
    queued_before = now - dt.timedelta(seconds=settings.RESTOREBENCH_QUEUED_TIMEOUT_S)
    with transaction.atomic():
        lost = EvaluationJob.objects.select_for_update(skip_locked=True).filter(
            status=JobStatus.RUNNING, heartbeat_at__lt=stale_before
        )
        for job in lost:
            if job.attempts >= job.max_attempts:
                _job_fail_locked(
                    job=job,
                    kind=FailureKind.PLATFORM,
                    message=f"the worker running it was lost {job.attempts} times (last: {job.worker})",
                    now=now,
                )
                report.failed += 1
            else:
                job.status = JobStatus.PENDING
                job.error_kind = FailureKind.PLATFORM
                job.error_message = f"worker {job.worker} stopped sending heartbeats; requeued"
                job.worker = ""
                job.not_before = None
                job.save(update_fields=["status", "error_kind", "error_message", "worker", "not_before"])
                Submission.objects.filter(pk=job.submission_id, status=SubmissionStatus.RUNNING).update(
                    status=SubmissionStatus.QUEUED, updated_at=timezone.now()
                )
                to_send.append(job.pk)
                report.requeued_lost += 1
        pending = (
            EvaluationJob.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.PENDING, created_at__lt=pending_before)
            .exclude(not_before__gt=pending_before)
        )
        for job in pending:
            if job.pk not in to_send:
                to_send.append(job.pk)
                report.sent_pending += 1
        stuck = EvaluationJob.objects.select_for_update(skip_locked=True).filter(
            status=JobStatus.QUEUED, enqueued_at__lt=queued_before
        )
        for job in stuck:
            job.status = JobStatus.PENDING
            job.save(update_fields=["status"])
            to_send.append(job.pk)
            report.resent_queued += 1
    for job_id in to_send:
        evaluation_job_enqueue(job_id=job_id)
    if any(report.as_dict().values()):
        log.info("reaper: %s", report.as_dict())
    return report
