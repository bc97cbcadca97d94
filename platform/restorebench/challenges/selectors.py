"""Reads for challenges, tracks, phases, organizers and the audit log, with the visibility rules."""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from restorebench.challenges.models import AuditLogEntry, Challenge, ChallengeOrganizer, Phase, Track

User = AbstractBaseUser | AnonymousUser


def user_is_organizer(*, user: User, challenge: Challenge | int) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    challenge_id = challenge if isinstance(challenge, int) else challenge.pk
    return ChallengeOrganizer.objects.filter(challenge_id=challenge_id, user=user).exists()


def challenge_list(*, user: User) -> QuerySet[Challenge]:
    """Public challenges, plus the private ones the user organizes."""
    qs = Challenge.objects.all()
    if user.is_authenticated and user.is_superuser:
        return qs
    if user.is_authenticated:
        return qs.filter(Q(is_public=True) | Q(organizers__user=user)).distinct()
    return qs.filter(is_public=True)


def challenge_visible(*, user: User, challenge: Challenge) -> bool:
    """What `challenge_list` decides, for one challenge already read: public, or organized by the user
    (a superuser organizes every challenge)."""
    return challenge.is_public or user_is_organizer(user=user, challenge=challenge)


# The gets below read one row by key and decide visibility on it: filtering by `challenge_list`
# instead (a subquery with an OR over the organizers and DISTINCT) cost Django more to build than the
# rest of a leaderboard read, and a public challenge needs no organizer query at all.


def challenge_get(*, user: User, slug: str) -> Challenge | None:
    challenge = Challenge.objects.filter(slug=slug).first()
    return challenge if challenge is not None and challenge_visible(user=user, challenge=challenge) else None


def track_list(*, challenge: Challenge) -> QuerySet[Track]:
    return challenge.tracks.all()


def track_get(*, user: User, track_id: int) -> Track | None:
    track = Track.objects.select_related("challenge").filter(pk=track_id).first()
    return track if track is not None and challenge_visible(user=user, challenge=track.challenge) else None


def phase_list(*, track: Track) -> QuerySet[Phase]:
    return track.phases.all()


def phase_get(*, user: User, phase_id: int) -> Phase | None:
    phase = Phase.objects.select_related("track", "track__challenge").filter(pk=phase_id).first()
    if phase is None or not challenge_visible(user=user, challenge=phase.track.challenge):
        return None
    return phase


def phase_is_open(*, phase: Phase, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return phase.starts_at <= now < phase.ends_at


def phase_scoring_spec(*, phase: Phase) -> dict:
    """The exact scoring spec the workers pass to the evaluator for this phase (the job claim reads it
    here), published so that `python -m evaluator score PRED GT --spec SPEC.json` gives a participant
    the server's numbers (docs/local_scoring.md)."""
    return dict(phase.track.scoring_spec)


def audit_log_list(*, challenge: Challenge) -> QuerySet[AuditLogEntry]:
    return challenge.audit_log.select_related("actor").all()
