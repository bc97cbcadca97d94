"""Whether a team may submit to a phase now: the refusals, and the checks that need no upload (team,
track entry, phase window, limits, declared size) and the one that needs only the upload's
fingerprint (the same content submitted twice).

The views call `submission_admission_check` before a request's body is read, so a request that cannot
succeed costs no disk; the services call the same checks again before and under the team-row lock.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from restorebench.accounts.models import Team, TrackEntry
from restorebench.challenges.models import Phase
from restorebench.submissions.models import Submission, UploadSession, UploadStatus

# A multipart body carries the file plus boundaries and the form's small fields (the manifest, the
# description): a body this much over the file limit is still worth reading, the file itself is held
# to the limit byte for byte while it streams.
MULTIPART_ALLOWANCE_BYTES = 1024**2


class SubmissionRefused(ValidationError):
    """The submission was not accepted; the message says why (and nothing was stored)."""


class SubmissionLimitReached(SubmissionRefused):
    """The team used up the phase's per-day or total submissions."""


class UploadTooLarge(SubmissionRefused):
    """The declared size (Content-Length, or an upload session's total) is over the phase's limit."""


class UploadConflict(SubmissionRefused):
    """The upload session is not in a state that allows this (already completing, complete, aborted)."""


def team_for(*, user: AbstractBaseUser, phase: Phase) -> Team:
    team = Team.objects.filter(challenge_id=phase.track.challenge_id, memberships__user=user).first()
    if team is None:
        raise SubmissionRefused("you are not in a team of this challenge: create or join a team first")
    if not TrackEntry.objects.filter(team=team, track_id=phase.track_id).exists():
        raise SubmissionRefused(
            f"your team has not entered track {phase.track.title!r}: enter the track first"
        )
    return team


def check_window(*, phase: Phase, now: dt.datetime) -> None:
    if now < phase.starts_at:
        raise SubmissionRefused(
            f"phase {phase.title!r} has not started: it opens at {phase.starts_at.isoformat()}"
        )
    if now >= phase.ends_at:
        raise SubmissionRefused(f"phase {phase.title!r} is closed: it ended at {phase.ends_at.isoformat()}")


def submission_limits_used(*, team: Team, phase: Phase, now: dt.datetime) -> tuple[int, int]:
    """(submissions counted today (UTC), counted in total) for the team in the phase."""
    counted = Submission.objects.filter(team=team, phase=phase, counts_toward_limits=True)
    day_start = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return counted.filter(created_at__gte=day_start).count(), counted.count()


def check_limits(*, team: Team, phase: Phase, now: dt.datetime, pending: int = 0) -> None:
    """Refuse when the team's counted submissions plus `pending` (its open upload sessions, each a
    submission to come) leave no room under the phase's limits."""
    today, total = submission_limits_used(team=team, phase=phase, now=now)
    if phase.max_submissions_total is not None and total + pending >= phase.max_submissions_total:
        raise SubmissionLimitReached(
            f"submission limit reached: your team has used all {phase.max_submissions_total} "
            "submissions of this phase" + (f" ({pending} of them in open uploads)" if pending else "")
        )
    if phase.max_submissions_per_day is not None and today + pending >= phase.max_submissions_per_day:
        raise SubmissionLimitReached(
            f"daily submission limit reached: {phase.max_submissions_per_day} per day (UTC)"
            + (f" ({pending} of them in open uploads)" if pending else "")
            + "; try again tomorrow"
        )


def check_open(*, team: Team, phase: Phase) -> None:
    """The phase accepts this team's submission now: its window, then the team's limits."""
    now = timezone.now()
    check_window(phase=phase, now=now)
    check_limits(team=team, phase=phase, now=now)


def check_runtime(runtime_per_mp: float | None) -> None:
    if runtime_per_mp is not None and not (runtime_per_mp >= 0):
        raise SubmissionRefused({"runtime_per_mp": "must be a non-negative number of seconds per megapixel"})


def check_size(*, declared: int, limit: int) -> None:
    if declared > limit:
        raise UploadTooLarge(f"upload too large: {declared:,} bytes, the phase's limit is {limit:,} bytes")


def check_not_duplicate(*, team: Team, phase: Phase, fingerprint: str) -> None:
    """Refuse content the team already submitted to this phase (the same zip, or the same model file
    with the same manifest): it would be scored the same and use up an attempt for nothing. A
    submission the platform failed or an organizer cancelled does not count, so it may be sent again."""
    earlier = (
        Submission.objects.filter(
            team=team, phase=phase, content_fingerprint=fingerprint, counts_toward_limits=True
        )
        .values_list("pk", flat=True)
        .first()
    )
    if earlier is not None:
        raise SubmissionRefused(
            f"your team already submitted this content to this phase (submission #{earlier}); "
            "it would score the same: change something before submitting again"
        )


def open_upload_sessions(*, team: Team):
    """The team's chunked uploads that are still receiving data or being completed (any phase)."""
    return UploadSession.objects.filter(team=team, status__in=[UploadStatus.OPEN, UploadStatus.COMPLETING])


def check_upload_room(*, team: Team, phase: Phase, now: dt.datetime) -> None:
    """A new upload session fits: under the per-team cap of open sessions, and under the phase's limits
    with every open session of this phase counted as the submission it will become."""
    sessions = open_upload_sessions(team=team)
    cap = settings.RESTOREBENCH_MAX_OPEN_UPLOADS_PER_TEAM
    if sessions.count() >= cap:
        raise SubmissionLimitReached(
            f"your team has {cap} uploads open, the most allowed: finish or abort one "
            "(POST /api/uploads/<id>/abort/) before starting another"
        )
    check_limits(team=team, phase=phase, now=now, pending=sessions.filter(phase=phase).count())


def submission_admission_check(
    *, phase: Phase, user: AbstractBaseUser, content_length: int | None, max_bytes: int
) -> Team:
    """What can be refused before a submission's body is read: the team and its entry, the phase's
    window and limits, and a `content_length` over `max_bytes` (plus room for the form's fields)."""
    team = team_for(user=user, phase=phase)
    check_open(team=team, phase=phase)
    if content_length is not None and content_length > max_bytes + MULTIPART_ALLOWANCE_BYTES:
        raise UploadTooLarge(
            f"upload too large: the request is {content_length:,} bytes, "
            f"the phase accepts files of at most {max_bytes:,} bytes"
        )
    return team
