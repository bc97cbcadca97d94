"""Reads for teams and memberships."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from restorebench.accounts.models import Team, TrackEntry
from restorebench.challenges.models import Challenge, Track


def team_for_user(*, user: AbstractBaseUser | AnonymousUser, challenge: Challenge | int) -> Team | None:
    """The user's team in the challenge, or None."""
    if not user.is_authenticated:
        return None
    challenge_id = challenge if isinstance(challenge, int) else challenge.pk
    return Team.objects.filter(challenge_id=challenge_id, memberships__user=user).first()


def team_list(*, challenge: Challenge) -> QuerySet[Team]:
    return challenge.teams.all()


def team_members(*, team: Team) -> QuerySet:
    return team.memberships.select_related("user").order_by("joined_at")


def team_has_entered(*, team: Team, track: Track) -> bool:
    return TrackEntry.objects.filter(team=team, track=track).exists()


def team_tracks(*, team: Team) -> QuerySet[Track]:
    return Track.objects.filter(entries__team=team)
