"""Submissions, chunked upload sessions, evaluation jobs, per-image scores and rescoring runs.

The `EvaluationJob` row, not the broker, is the source of truth for where a job is: the Celery task
claims it, heartbeats it and finishes it, and the reaper requeues jobs whose worker vanished or that
never reached the broker. Scores are written once per job: `ImageScore` is unique per (job, image,
metric) and results are stored in the same transaction that marks the job done.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from restorebench.accounts.models import Team
from restorebench.challenges.models import Phase


class SubmissionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SCORED = "scored", "Scored"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class SubmissionKind(models.TextChoices):
    IMAGES = "images", "Restored images (zip)"
    # A model file (ONNX, or safetensors for a registered reference architecture) plus its manifest:
    # the worker runs it in the evaluator's sandbox on the phase's inputs, then scores the outputs.
    MODEL = "model", "Model"


class ModelFormat(models.TextChoices):
    NONE = "", "Not a model"
    ONNX = "onnx", "ONNX"
    SAFETENSORS = "safetensors", "safetensors"


class FailureKind(models.TextChoices):
    NONE = "", "None"
    # The submission itself is at fault (missing images, wrong size...): the participant must act.
    PARTICIPANT = "participant", "Problem in the submission"
    # The platform failed (worker lost, bug, storage): never counts against the team's limits.
    PLATFORM = "platform", "Platform error"


class Submission(models.Model):
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="submissions")
    # Reference baselines belong to no team.
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="submissions"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    is_reference = models.BooleanField(default=False)
    method_name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    runtime_per_mp = models.FloatField(null=True, blank=True, help_text="Seconds per megapixel, as reported.")

    kind = models.CharField(max_length=8, choices=SubmissionKind.choices, default=SubmissionKind.IMAGES)
    # The stored upload (the zip, or the model file), relative to RESTOREBENCH_STORAGE_DIR.
    archive_path = models.CharField(max_length=500)
    archive_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    # Hash of the sorted (name, size, CRC-32) list from the zip's directory: equal for the same images
    # zipped twice, which is how identical submissions across teams are found. For a model: the
    # SHA-256 of the model file and its canonical manifest.
    content_fingerprint = models.CharField(max_length=64, db_index=True)
    # Images in the zip; for a model, the images the phase expects it to restore.
    image_count = models.PositiveIntegerField()
    # Model submissions only: the file's format, its validated manifest (evaluator.model_runner's
    # `Manifest.to_dict()`), and the factsheet numbers of the run whose scores are in force.
    model_format = models.CharField(max_length=16, choices=ModelFormat.choices, blank=True, default="")
    model_manifest = models.JSONField(null=True, blank=True)
    model_parameters = models.BigIntegerField(null=True, blank=True)
    model_seconds_per_image = models.FloatField(
        null=True, blank=True, help_text="Mean model runtime per image in the sandbox (tiling included)."
    )
    model_peak_memory_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="Peak resident memory of the sandboxed run (runtime included)."
    )
    model_seconds_per_image_median = models.FloatField(
        null=True, blank=True, help_text="Median model runtime per image in the sandbox."
    )
    # Counted in the sandbox at the track's reference input (evaluator/model_runner/efficiency.py):
    # FLOPs in fvcore's convention (one multiply-add = one FLOP); None when the count is incomplete
    # (an operator it cannot count: listed in model_profile) or failed.
    model_flops = models.BigIntegerField(
        null=True, blank=True, help_text="FLOPs (= multiply-adds) at the track's reference input."
    )
    model_activations = models.BigIntegerField(
        null=True, blank=True, help_text="Elements of every convolution output at the reference input."
    )
    # The run's efficiency record: counts (macs, uncounted and zero-cost operators, input counted, or
    # the counting error), device, threads and library versions (RunReport.profile).
    model_profile = models.JSONField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.QUEUED
    )
    failure_kind = models.CharField(max_length=16, choices=FailureKind.choices, blank=True, default="")
    failure_reason = models.TextField(blank=True)
    # False once the platform failed or cancelled it: such a submission never uses up the team's limits.
    counts_toward_limits = models.BooleanField(default=True)
    # The aggregate scores currently in force (full precision), {metric: value}; copied from the
    # finished job so that a leaderboard is one query.
    scores = models.JSONField(null=True, blank=True)
    current_job = models.ForeignKey(
        "EvaluationJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    is_chosen = models.BooleanField(default=False, help_text="Represents its team on the leaderboard.")
    disqualified = models.BooleanField(default=False)
    disqualified_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Every write sets it (update_fields and .update() calls include it): leaderboards use the
    # newest one in a phase to know whether their cached ranking is still current.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["phase", "status"], name="submission_phase_status"),
            models.Index(fields=["phase", "updated_at"], name="submission_phase_updated"),
            models.Index(fields=["team", "phase", "created_at"], name="submission_team_phase_time"),
            # A phase's references, for the leaderboard's pick of the latest per method: without it
            # that pick scans every submission of the phase (10,000 for the 3 to 60 references).
            models.Index(
                fields=["phase", "method_name", "-created_at"],
                condition=Q(is_reference=True),
                name="submission_phase_references",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_reference=True, team__isnull=True) | Q(is_reference=False, team__isnull=False),
                name="submission_reference_xor_team",
            ),
            models.UniqueConstraint(
                fields=["team", "phase"],
                condition=Q(is_chosen=True),
                name="one_chosen_submission_per_team_phase",
            ),
            models.CheckConstraint(
                condition=Q(is_chosen=False) | Q(status=SubmissionStatus.SCORED),
                name="chosen_submission_is_scored",
            ),
            models.CheckConstraint(
                condition=Q(disqualified=False) | ~Q(disqualified_reason=""),
                name="disqualification_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status=SubmissionStatus.FAILED) | Q(failure_kind=""),
                name="only_failed_has_failure_kind",
            ),
            models.CheckConstraint(
                condition=Q(status__in=SubmissionStatus.values), name="submission_status_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=SubmissionKind.IMAGES, model_format="", model_manifest__isnull=True)
                    & Q(model_parameters__isnull=True, model_seconds_per_image__isnull=True)
                    & Q(model_peak_memory_bytes__isnull=True, model_seconds_per_image_median__isnull=True)
                    & Q(model_flops__isnull=True, model_activations__isnull=True, model_profile__isnull=True)
                )
                | Q(
                    kind=SubmissionKind.MODEL,
                    model_format__in=[ModelFormat.ONNX, ModelFormat.SAFETENSORS],
                    model_manifest__isnull=False,
                ),
                name="submission_model_fields_match_kind",
            ),
        ]

    def __str__(self) -> str:
        who = "reference" if self.is_reference else str(self.team)
        return f"#{self.pk} {who} {self.method_name}".strip()


class UploadStatus(models.TextChoices):
    OPEN = "open", "Receiving chunks"
    # One `complete` call has claimed it and is checking the file; any other call gets 409.
    COMPLETING = "completing", "Being checked and submitted"
    COMPLETE = "complete", "Complete"
    ABORTED = "aborted", "Aborted"


class UploadSession(models.Model):
    """A resumable upload: chunks are appended at `received_bytes` until the declared size is reached,
    then the SHA-256 of the whole file is checked before it becomes a submission. Open sessions count
    against their team's cap and the phase's limits (`services.admission.check_upload_room`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_sessions"
    )
    # The uploader's team when the session opened (null only for rows older than the field).
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="upload_sessions"
    )
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="upload_sessions")
    filename = models.CharField(max_length=255)
    total_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    received_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=UploadStatus.choices, default=UploadStatus.OPEN)
    submission = models.OneToOneField(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="upload_session"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(total_bytes__gt=0), name="upload_total_positive"),
            models.CheckConstraint(
                condition=Q(received_bytes__gte=0) & Q(received_bytes__lte=F("total_bytes")),
                name="upload_received_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"upload {self.id} ({self.received_bytes}/{self.total_bytes} bytes)"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent to a worker"
    QUEUED = "queued", "On the broker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RUNNING)


class JobPurpose(models.TextChoices):
    SUBMISSION = "submission", "First scoring of a submission"
    RESCORE = "rescore", "Rescoring of a phase"


class Rescore(models.Model):
    """An organizer re-scored every scored submission of a phase; `before` is the leaderboard as it was,
    so the changes can be shown once the new jobs finish."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="rescores")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    before = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"rescore of {self.phase} at {self.created_at:%Y-%m-%d %H:%M}"


class EvaluationJob(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="jobs")
    purpose = models.CharField(max_length=16, choices=JobPurpose.choices, default=JobPurpose.SUBMISSION)
    rescore = models.ForeignKey(
        Rescore, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    queue = models.CharField(max_length=32, default="cpu")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker has claimed it.")
    max_attempts = models.PositiveSmallIntegerField(default=3)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # A pending job is not sent before this (backoff after a platform error).
    not_before = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error_kind = models.CharField(max_length=16, choices=FailureKind.choices, blank=True, default="")
    error_message = models.TextField(blank=True)
    # Results, written in the transaction that marks the job done.
    aggregates = models.JSONField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True)
    scoring_record = models.JSONField(null=True, blank=True)
    # Model submissions: the sandboxed run's report (evaluator.model_runner `RunReport.to_dict()`:
    # runtime per image, parameters, peak memory, provider, sandbox state), stored with the results,
    # or with the failure when the model was at fault (it names the error and the image).
    model_run = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]
        constraints = [
            models.UniqueConstraint(
                fields=["submission"],
                condition=Q(status__in=ACTIVE_JOB_STATUSES),
                name="one_active_job_per_submission",
            ),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_status_valid"),
            models.CheckConstraint(condition=Q(attempts__lte=F("max_attempts")), name="job_attempts_capped"),
            models.CheckConstraint(
                condition=Q(status=JobStatus.DONE) | Q(aggregates__isnull=True),
                name="only_done_job_has_results",
            ),
        ]

    def __str__(self) -> str:
        return f"job #{self.pk} for submission #{self.submission_id} ({self.status})"


class ImageScore(models.Model):
    """One metric of one image of one job: per-image scores as queryable rows."""

    job = models.ForeignKey(EvaluationJob, on_delete=models.CASCADE, related_name="image_scores")
    image_name = models.CharField(max_length=255)
    metric = models.CharField(max_length=64)
    value = models.FloatField()

    class Meta:
        ordering = ["job_id", "image_name", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["job", "image_name", "metric"], name="image_score_written_once"),
        ]

    def __str__(self) -> str:
        return f"{self.image_name} {self.metric}={self.value:.4f}"
