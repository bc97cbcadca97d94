"""The team's choice of its leaderboard entry, and the organizers' actions on submissions: cancel,
disqualify, requalify, rescore a phase (each audited)."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from restorebench.accounts.models import Team
from restorebench.challenges.models import Phase
from restorebench.challenges.services import audit_log_record
from restorebench.submissions import jobs
from restorebench.submissions.models import (
    ACTIVE_JOB_STATUSES,
    EvaluationJob,
    JobPurpose,
    JobStatus,
    Rescore,
    Submission,
    SubmissionStatus,
)
from restorebench.submissions.services.admission import SubmissionRefused


@transaction.atomic
def submission_choose(*, submission: Submission, user: AbstractBaseUser) -> Submission:
    """Make `submission` the one that represents its team on the phase's leaderboard."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if (
        submission.is_reference
        or submission.team is None
        or not submission.team.memberships.filter(user=user).exists()
    ):
        raise SubmissionRefused("only a member of the submitting team can choose this submission")
    if submission.status != SubmissionStatus.SCORED:
        raise SubmissionRefused(f"only a scored submission can be chosen; this one is {submission.status}")
    if submission.disqualified:
        raise SubmissionRefused("a disqualified submission cannot be chosen")
    Team.objects.select_for_update().get(pk=submission.team_id)
    Submission.objects.filter(team=submission.team, phase=submission.phase, is_chosen=True).exclude(
        pk=submission.pk
    ).update(is_chosen=False, updated_at=timezone.now())
    submission.is_chosen = True
    submission.save(update_fields=["is_chosen", "updated_at"])
    return submission


@transaction.atomic
def submission_disqualify(
    *, submission: Submission, actor: AbstractBaseUser | None, reason: str
) -> Submission:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a disqualification needs a reason"})
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    submission.disqualified = True
    submission.disqualified_reason = reason
    submission.is_chosen = False
    submission.save(update_fields=["disqualified", "disqualified_reason", "is_chosen", "updated_at"])
    audit_log_record(
        challenge=submission.phase.track.challenge,
        actor=actor,
        action="submission.disqualify",
        target=f"submission:{submission.pk}",
        details={"reason": reason, "team": submission.team_id},
    )
    return submission


@transaction.atomic
def submission_requalify(
    *, submission: Submission, actor: AbstractBaseUser | None, reason: str = ""
) -> Submission:
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    submission.disqualified = False
    submission.disqualified_reason = ""
    submission.save(update_fields=["disqualified", "disqualified_reason", "updated_at"])
    audit_log_record(
        challenge=submission.phase.track.challenge,
        actor=actor,
        action="submission.requalify",
        target=f"submission:{submission.pk}",
        details={"reason": reason},
    )
    return submission


@transaction.atomic
def submission_cancel(*, submission: Submission, actor: AbstractBaseUser | None, reason: str) -> Submission:
    """Stop a submission's evaluation (an organizer or the platform); it no longer counts toward limits."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if submission.status not in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
        raise SubmissionRefused(
            f"only a queued or running submission can be cancelled; this one is {submission.status}"
        )
    EvaluationJob.objects.filter(submission=submission, status__in=ACTIVE_JOB_STATUSES).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), error_message=reason
    )
    submission.status = SubmissionStatus.CANCELLED
    submission.counts_toward_limits = False
    submission.failure_reason = reason
    submission.save(update_fields=["status", "counts_toward_limits", "failure_reason", "updated_at"])
    audit_log_record(
        challenge=submission.phase.track.challenge,
        actor=actor,
        action="submission.cancel",
        target=f"submission:{submission.pk}",
        details={"reason": reason},
    )
    return submission


@transaction.atomic
def phase_rescore(*, phase: Phase, actor: AbstractBaseUser | None, reason: str = "") -> Rescore:
    """Score every scored submission of the phase again (e.g. after a metric fix). The leaderboard as it
    stands is kept in the `Rescore`, so `leaderboards.selectors.rescore_changes` can show what moved."""
    from restorebench.leaderboards.selectors import leaderboard_snapshot

    rescore = Rescore.objects.create(
        phase=phase, requested_by=actor, reason=reason, before=leaderboard_snapshot(phase=phase)
    )
    submissions = (
        Submission.objects.select_for_update()
        .filter(phase=phase, status=SubmissionStatus.SCORED)
        .exclude(jobs__status__in=ACTIVE_JOB_STATUSES)
    )
    count = 0
    for submission in submissions:
        jobs.evaluation_job_create(submission=submission, purpose=JobPurpose.RESCORE, rescore=rescore)
        count += 1
    audit_log_record(
        challenge=phase.track.challenge,
        actor=actor,
        action="phase.rescore",
        target=f"phase:{phase.pk}",
        details={"reason": reason, "submissions": count, "rescore": rescore.pk},
    )
    return rescore
