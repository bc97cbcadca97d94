"""Writes for evaluation jobs: create, send to the broker, claim, heartbeat, finish, fail, reap.

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
import math
import shutil
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

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
from restorebench.submissions.scratch_cleanup import model_job_scratch_dir

log = logging.getLogger(__name__)

TASK_NAME = "restorebench.submissions.tasks.evaluate_submission"
PLATFORM_FAILURE_MESSAGE = (
    "The platform could not score this submission (an internal error, not a problem with your files). "
    "The organizers have been notified; it does not count toward your submission limits."
)


class JobAbandoned(Exception):
    """Raised inside a running job when it is no longer this worker's (cancelled or taken over)."""


def _participant_errors() -> tuple[type[BaseException], ...]:
    from evaluator.errors import SubmissionError

    return (SubmissionError,)


def queue_for(compute: str) -> str:
    return settings.RESTOREBENCH_QUEUES.get(compute, settings.RESTOREBENCH_QUEUES["cpu"])


def queue_for_submission(submission: Submission) -> str:
    """Image jobs go to the track's queue; model jobs to the GPU queue when the settings say GPU
    workers consume it (RESTOREBENCH_GPU_WORKERS), otherwise to the track's queue too."""
    if submission.kind == SubmissionKind.MODEL and settings.RESTOREBENCH_GPU_WORKERS:
        return queue_for("gpu")
    return queue_for(submission.phase.track.compute)


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


@dataclass(frozen=True)
class Claim:
    job_id: int
    token: int  # the attempt number this worker holds
    archive: Path
    ground_truth: Path
    spec: dict
    kind: str = SubmissionKind.IMAGES
    # Model submissions: the manifest, the phase's inputs (relative to the storage folder) and the
    # queue (a GPU queue lets the sandbox use the GPU).
    manifest: dict | None = None
    inputs: str = ""
    queue: str = ""


def _folder_inside(root_setting: str, relative: str, field: str, root_name: str) -> Path:
    """`relative` (not empty) resolved under the folder named by the setting `root_setting`; a path that
    escapes it (.., a symlink out) raises `FileNotFoundError` naming the phase field."""
    root = Path(getattr(settings, root_setting)).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise FileNotFoundError(f"{field} {relative!r} is outside the {root_name}")
    return path


def model_inputs_dir(relative: str) -> Path:
    """The folder of inputs (PNG or float .npy) a model runs on: the phase's participant inputs (a
    track-data folder keeps them in `inputs/`, with `masks/` and `kernels/` beside them)."""
    if not relative:
        raise FileNotFoundError("the phase has no inputs_dir set: a model submission has nothing to run on")
    path = _folder_inside("RESTOREBENCH_STORAGE_DIR", relative, "inputs_dir", "storage directory")
    if (path / "inputs").is_dir():
        path = path / "inputs"
    if not path.is_dir():
        raise FileNotFoundError(f"inputs folder {path} does not exist")
    return path


def _resolve_hidden(relative: str) -> Path:
    if not relative:
        raise FileNotFoundError("the phase has no ground_truth_dir set")
    path = _folder_inside("RESTOREBENCH_HIDDEN_DIR", relative, "ground_truth_dir", "hidden data directory")
    if not path.is_dir():
        raise FileNotFoundError(f"ground truth folder {path} does not exist")
    return path


def evaluation_job_claim(*, job_id: int, worker: str, redelivered: bool = False) -> Claim | None:
    """Take the job for this worker, or return None when there is nothing to do (finished, cancelled, or
    running elsewhere with a fresh heartbeat). A redelivered message, or a stale heartbeat, means the
    previous worker is gone: its claim is taken over. A job out of attempts is failed here."""
    now = timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.RESTOREBENCH_HEARTBEAT_TIMEOUT_S)
    with transaction.atomic():
        job = (
            EvaluationJob.objects.select_for_update()
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
        archive = Path(settings.RESTOREBENCH_STORAGE_DIR) / submission.archive_path
        return Claim(
            job.pk,
            job.attempts,
            archive,
            Path(phase.ground_truth_dir),
            dict(phase.track.scoring_spec),
            kind=submission.kind,
            manifest=submission.model_manifest,
            inputs=phase.inputs_dir,
            queue=job.queue,
        )


def evaluation_job_heartbeat(*, job_id: int, token: int, done: int, total: int) -> bool:
    """Record liveness and progress; False when the job is no longer held by this claim."""
    updated = EvaluationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=token).update(
        heartbeat_at=timezone.now(), progress_done=max(0, int(done)), progress_total=max(0, int(total))
    )
    return updated == 1


def _number(value: Any, where: str) -> float:
    # The evaluator writes non-finite scores as "inf" / "-inf" / "nan" (JSON has no such numbers).
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError as error:
        raise TypeError(f"{where}: expected a number, got {value!r}") from error


def _json_number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


ParsedResult = tuple[dict[str, float | str], list[tuple[str, str, float]], list, dict]


def parse_scoring_result(result: dict) -> ParsedResult:
    """Split `evaluator.jobs.run_scoring_job`'s JSON (`ScoreResult.to_dict()`) into (aggregates as
    JSON-storable numbers, per-image (name, metric, value) rows, problems, scoring record)."""
    if not isinstance(result, dict):
        raise TypeError(f"scoring function returned {type(result).__name__}, expected a dict")
    aggregates = {
        str(metric): _json_number(_number(value, f"aggregates[{metric!r}]"))
        for metric, value in (result.get("aggregates") or {}).items()
    }
    rows: list[tuple[str, str, float]] = []
    for item in result.get("rows") or []:
        name = str(item["name"])
        for metric, value in (item.get("scores") or {}).items():
            rows.append((name, str(metric), _number(value, f"rows[{name!r}][{metric!r}]")))
    return aggregates, rows, list(result.get("problems") or []), dict(result.get("record") or {})


def _model_numbers(run: dict) -> dict[str, Any]:
    """The factsheet numbers of a model run report, checked to be what they claim."""
    if not isinstance(run, dict):
        raise TypeError(f"model run report is {type(run).__name__}, expected a dict")
    seconds = run.get("seconds_per_image")
    params, peak = run.get("parameters"), run.get("peak_memory_bytes")
    return {
        "model_seconds_per_image": None if seconds is None else _number(seconds, "run.seconds_per_image"),
        "model_parameters": None if params is None else int(_number(params, "run.parameters")),
        "model_peak_memory_bytes": None if peak is None else int(_number(peak, "run.peak_memory_bytes")),
    }


def evaluation_job_complete(*, job_id: int, token: int, result: dict, model_run: dict | None = None) -> bool:
    """Store the results (and a model submission's run report) and mark the job done, once. Returns
    False (and stores nothing) when this claim no longer holds the job."""
    aggregates, rows, problems, record = parse_scoring_result(result)
    model_numbers = _model_numbers(model_run) if model_run is not None else {}
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
            for name, value in model_numbers.items():
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
                    *model_numbers,
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


class _Heartbeat(threading.Thread):
    """Writes the job's heartbeat and progress from a side thread, so a long step of the scoring
    function (one huge image) still shows the worker alive. If the claim is lost, `progress` raises
    JobAbandoned the next time the scorer reports."""

    def __init__(self, *, job_id: int, token: int, every_s: float, time_limit_s: float) -> None:
        super().__init__(name=f"heartbeat-job-{job_id}", daemon=True)
        self.job_id, self.token, self.every_s, self.time_limit_s = job_id, token, every_s, time_limit_s
        self.done = self.total = 0
        self._reported = (-1, -1)
        self._stop_event = threading.Event()
        self.lost = threading.Event()

    def progress(self, done: int, total: int, *args: Any, **kwargs: Any) -> None:
        self.done, self.total = int(done), int(total)
        if self.lost.is_set():
            raise JobAbandoned(f"job {self.job_id} is no longer held by this worker")

    def run(self) -> None:
        started = last = time.monotonic()
        try:
            while not self._stop_event.wait(min(1.0, self.every_s)):
                if time.monotonic() - started > self.time_limit_s:
                    # A hung scorer would otherwise heartbeat forever: give the claim up as a
                    # platform error (retried, then failed at the attempt cap).
                    evaluation_job_fail(
                        job_id=self.job_id, token=self.token, kind=FailureKind.PLATFORM,
                        message=f"exceeded the time limit of {self.time_limit_s:g} s",
                    )  # fmt: skip
                    self.lost.set()
                    return
                changed = (self.done, self.total) != self._reported
                if changed or time.monotonic() - last >= self.every_s:
                    self._reported = (self.done, self.total)
                    last = time.monotonic()
                    if not evaluation_job_heartbeat(
                        job_id=self.job_id, token=self.token, done=self.done, total=self.total
                    ):
                        self.lost.set()
                        return
        except Exception:  # a database hiccup must not kill the job; the reaper judges staleness
            log.exception("heartbeat of job %s failed", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def model_failure_message(run: dict) -> str:
    """What the participant reads when their model failed in the sandbox."""
    kind = run.get("error_kind") or "error"
    message = run.get("error") or "the model run failed"
    image = run.get("failed_image")
    where = f" on image {image}" if image and image not in message else ""
    return f"Your model failed ({kind}){where}: {message}"


def _run_model(claim: Claim, ground_truth: Path, heartbeat: "_Heartbeat") -> tuple[dict, dict | None]:
    """Run the model job in a scratch folder; return (run report, score result or None)."""
    inputs = model_inputs_dir(claim.inputs)
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
    try:
        result = run_model_job(
            str(claim.archive),
            claim.manifest or {},
            str(inputs),
            str(ground_truth),
            claim.spec,
            str(scratch),
            limits,
            progress,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not isinstance(result, dict) or not isinstance(result.get("run"), dict):
        raise TypeError(f"model function returned {result!r:.200}, expected {{'run': ..., 'score': ...}}")
    run = result["run"]
    if run.get("ok") and not isinstance(result.get("score"), dict):
        raise TypeError("model function returned a successful run without a score")
    return run, result.get("score")


def evaluation_job_run(*, job_id: int, worker: str, redelivered: bool = False) -> str:
    """Everything a worker does for one task message. Returns the job's resulting status, or '' when
    the message needed no work."""
    claim = evaluation_job_claim(job_id=job_id, worker=worker, redelivered=redelivered)
    if claim is None:
        return ""
    participant_errors = _participant_errors()
    heartbeat = _Heartbeat(
        job_id=job_id,
        token=claim.token,
        every_s=settings.RESTOREBENCH_HEARTBEAT_EVERY_S,
        time_limit_s=settings.RESTOREBENCH_JOB_TIME_LIMIT_S,
    )
    heartbeat.start()
    model_run = None
    try:
        if not claim.archive.is_file():
            raise FileNotFoundError(f"stored archive {claim.archive} is missing")
        ground_truth = _resolve_hidden(str(claim.ground_truth))
        if claim.kind == SubmissionKind.MODEL:
            model_run, result = _run_model(claim, ground_truth, heartbeat)
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
            result = score(str(claim.archive), str(ground_truth), claim.spec, heartbeat.progress)
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
        stored = evaluation_job_complete(job_id=job_id, token=claim.token, result=result, model_run=model_run)
    except Exception as error:  # e.g. a malformed result: the platform's fault, retried
        log.exception("evaluation job %s: storing results failed", job_id)
        message = f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}"
        return evaluation_job_fail(
            job_id=job_id, token=claim.token, kind=FailureKind.PLATFORM, message=message
        )
    return JobStatus.DONE if stored else ""


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
