"""Reads for submissions, their evaluation and scores, with who may see what.

A submission is visible to the members of its team and to the challenge's organizers; reference
baselines to anyone who can see the challenge. Anything else is "not found" (the API answers 404, never
403, so ids of other teams' submissions reveal nothing). Per-image scores of a hidden-ground-truth
phase are for organizers only.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Q, QuerySet, Value, When

from restorebench.accounts.models import TeamMembership
from restorebench.challenges.models import ChallengeOrganizer, Phase
from restorebench.challenges.selectors import user_is_organizer
from restorebench.submissions.models import (
    ACTIVE_JOB_STATUSES,
    EvaluationJob,
    FailureKind,
    ImageScore,
    JobPurpose,
    JobStatus,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    UploadSession,
)

User = AbstractBaseUser | AnonymousUser


def submission_visible_qs(*, user: User) -> QuerySet[Submission]:
    qs = Submission.objects.select_related(
        "team", "phase", "phase__track", "phase__track__challenge", "current_job"
    )
    # A baseline of a public challenge is anyone's; of a private one, its organizers' (whom the
    # second clause below lets see every submission of their challenges). Said so, not as
    # `challenge__in=challenge_list(user)`: that subquery (an OR over the organizers, DISTINCT) cost
    # more to build than the rest of the submission page.
    public_reference = Q(is_reference=True, phase__track__challenge__is_public=True)
    if not user.is_authenticated:
        return qs.filter(public_reference)
    if user.is_superuser:
        return qs
    organizing = ChallengeOrganizer.objects.filter(user=user).values("challenge_id")
    # Subqueries, not joins through the memberships: no row is repeated, so no DISTINCT (which
    # PostgreSQL would apply to every column of every row, JSON included).
    return qs.filter(
        Q(team_id__in=_my_team_ids(user)) | Q(phase__track__challenge_id__in=organizing) | public_reference
    )


def _my_team_ids(user: User) -> QuerySet:
    return TeamMembership.objects.filter(user=user).values("team_id")


def submission_get(*, user: User, submission_id: int) -> Submission | None:
    return submission_visible_qs(user=user).filter(pk=submission_id).first()


def submission_list(
    *, user: User, phase: Phase | None = None, mine_only: bool = True
) -> QuerySet[Submission]:
    """The user's teams' submissions (or, with mine_only=False, all those the user may see)."""
    if mine_only:
        if not user.is_authenticated:
            return Submission.objects.none()
        # A team's members may see all its submissions: no visibility test to add (its OR of
        # subqueries kept PostgreSQL from using the team index).
        qs = Submission.objects.select_related(
            "team", "phase", "phase__track", "phase__track__challenge", "current_job"
        ).filter(team_id__in=_my_team_ids(user))
    else:
        qs = submission_visible_qs(user=user)
    if phase is not None:
        qs = qs.filter(phase=phase)
    return qs.order_by("-created_at", "-id")


def submission_can_see_image_scores(
    *, user: User, submission: Submission, organizer: bool | None = None
) -> bool:
    """`organizer`: whether `user` organizes the submission's challenge, when the caller knows it."""
    if not submission.phase.hidden_ground_truth:
        return True
    if organizer is None:
        organizer = user_is_organizer(user=user, challenge=submission.phase.track.challenge_id)
    return organizer


def submission_image_scores(*, submission: Submission) -> QuerySet[ImageScore]:
    """Per-image rows of the submission's current result (empty until scored)."""
    if submission.current_job_id is None:
        return ImageScore.objects.none()
    return ImageScore.objects.filter(job_id=submission.current_job_id).order_by("image_name", "metric")


def submission_image_table(*, submission: Submission) -> list[dict]:
    """Per-image scores pivoted to one dict per image: {"image": name, metric: value, ...}."""
    table: dict[str, dict] = {}
    for name, metric, value in submission_image_scores(submission=submission).values_list(
        "image_name", "metric", "value"
    ):
        table.setdefault(name, {"image": name})[metric] = value
    return list(table.values())


def submission_active_job(*, submission: Submission) -> EvaluationJob | None:
    return submission.jobs.filter(status__in=ACTIVE_JOB_STATUSES).first()


def submission_progress(*, submission: Submission) -> dict:
    """Status as a participant sees it: state, progress of the running job, and the failure reason."""
    # The active job, else the latest: one query.
    active = Case(When(status__in=ACTIVE_JOB_STATUSES, then=Value(0)), default=Value(1))
    job = submission.jobs.order_by(active, *EvaluationJob._meta.ordering).first()
    progress = None
    if job is not None and job.status == JobStatus.RUNNING and job.progress_total:
        progress = {"done": job.progress_done, "total": job.progress_total}
    retrying = bool(
        job and job.status in (JobStatus.PENDING, JobStatus.QUEUED) and job.error_kind == FailureKind.PLATFORM
    )
    return {
        "status": submission.status,
        "progress": progress,
        "attempts": job.attempts if job else 0,
        "retrying_after_platform_error": retrying,
        "failure_kind": submission.failure_kind,
        "failure_reason": submission.failure_reason,
        "problems": submission_problem_list(submission=submission),
    }


def submission_scores_for_viewer(*, user: User, submission: Submission) -> dict | None:
    """The aggregate scores as the viewer may see them: participants of a hidden-ground-truth phase
    get them rounded to the phase's `score_decimals`, as the leaderboard shows them."""
    phase = submission.phase
    if submission.scores is None or not phase.hidden_ground_truth:
        return submission.scores
    if user.is_authenticated and user_is_organizer(user=user, challenge=phase.track.challenge_id):
        return submission.scores
    return {
        metric: round(value, phase.score_decimals) if isinstance(value, float) else value
        for metric, value in submission.scores.items()
    }


def _problem(raw: object) -> dict:
    """One stored problem as {name, code, message, severity} (evaluator.result.Problem.to_dict())."""
    if not isinstance(raw, dict):
        return {"name": "", "code": "", "message": str(raw), "severity": "error"}
    return {
        "name": str(raw.get("name") or ""),
        "code": str(raw.get("code") or ""),
        "message": str(raw.get("message") or ""),
        "severity": "warning" if raw.get("severity") == "warning" else "error",
    }


def submission_problem_list(*, submission: Submission) -> list[dict]:
    """The per-file problems the evaluator reported for the result the participant sees: the failed
    job's for a failed submission, the job in force for a scored one (files skipped or ignored).
    Errors first, then by file name."""
    if submission.status == SubmissionStatus.FAILED:
        job = submission.jobs.filter(status=JobStatus.FAILED, purpose=JobPurpose.SUBMISSION).first()
    elif submission.status == SubmissionStatus.SCORED:
        job = submission.current_job
    else:
        job = None
    stored = (job.problems if job is not None else None) or []
    problems = [_problem(raw) for raw in stored]
    return sorted(problems, key=lambda p: (p["severity"] != "error", p["name"], p["code"]))


def submission_model_summary(*, submission: Submission) -> dict | None:
    """A model submission's format, manifest and factsheet numbers (runtime per image, mean and
    median, parameters, FLOPs and activations at the track's reference input with the efficiency
    record — device, library versions, uncounted operators —, peak memory, per-image runtimes of the
    run in force or, failing that, the latest run) and that run's sandbox isolation record; None for
    a zip of images."""
    if submission.kind != SubmissionKind.MODEL:
        return None
    job = submission.current_job or submission.jobs.exclude(model_run__isnull=True).first()
    run = (job.model_run if job is not None else None) or {}
    return {
        "format": submission.model_format,
        "manifest": submission.model_manifest,
        "parameters": submission.model_parameters,
        "seconds_per_image": submission.model_seconds_per_image,
        "peak_memory_bytes": submission.model_peak_memory_bytes,
        "seconds_per_image_median": submission.model_seconds_per_image_median,
        # Counted in the sandbox at the track's reference input (None: incomplete, see `efficiency`).
        "flops": submission.model_flops,
        "activations": submission.model_activations,
        "efficiency": submission.model_profile,
        "provider": run.get("provider"),
        "error_kind": run.get("error_kind"),
        # Which isolation the sandbox had, layer by layer ("none" only where the site allows a weaker one).
        "isolation": (run.get("sandbox") or {}).get("isolation"),
        "image_seconds": {item["name"]: item["seconds"] for item in run.get("images") or []},
    }


def evaluation_problem_list(*, challenge_id: int) -> QuerySet[EvaluationJob]:
    """Jobs that hit platform errors (failed, or waiting for a retry): what organizers must look at."""
    return (
        EvaluationJob.objects.select_related("submission", "submission__team", "submission__phase")
        .filter(submission__phase__track__challenge_id=challenge_id, error_kind=FailureKind.PLATFORM)
        .order_by("-created_at")
    )


def upload_session_get(*, user: User, session_id: str) -> UploadSession | None:
    if not user.is_authenticated:
        return None
    return UploadSession.objects.select_related("phase").filter(pk=session_id, user=user).first()
