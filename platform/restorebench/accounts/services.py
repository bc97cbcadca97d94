"""Writes for users, teams, team membership, track entry and API tokens."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from restorebench.accounts.models import Team, TeamMembership, TrackEntry
from restorebench.challenges.models import Challenge, Track


def user_signup_problems(*, username: str, password: str, email: str = "") -> dict[str, list[str]]:
    """Everything wrong with a sign-up at once (name and password), so a person fixes it in one go."""
    User = get_user_model()
    problems: dict[str, list[str]] = {}
    if not username:
        problems["username"] = ["is required"]
    elif User.objects.filter(username__iexact=username).exists():
        problems["username"] = [f"{username!r} is taken"]
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as error:
        problems["password"] = list(error.messages)
    return problems


def user_create(*, username: str, password: str, email: str = "") -> AbstractBaseUser:
    problems = user_signup_problems(username=username, password=password, email=email)
    if problems:
        raise ValidationError(problems)
    user = get_user_model()(username=username, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def token_get_or_create(*, user: AbstractBaseUser) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


def _check_not_in_team(*, user: AbstractBaseUser, challenge: Challenge) -> None:
    existing = TeamMembership.objects.filter(user=user, challenge=challenge).select_related("team").first()
    if existing is not None:
        raise ValidationError(
            {
                "team": f"you are already in team {existing.team.name!r} of this challenge "
                "(one team per challenge)"
            }
        )


@transaction.atomic
def team_create(*, challenge: Challenge, name: str, user: AbstractBaseUser) -> Team:
    """Create a team in `challenge` with `user` as its first member."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "is required"})
    _check_not_in_team(user=user, challenge=challenge)
    if Team.objects.filter(challenge=challenge, name__iexact=name).exists():
        raise ValidationError({"name": f"a team named {name!r} already exists in this challenge"})
    team = Team.objects.create(
        challenge=challenge, name=name, created_by=user, join_code=secrets.token_urlsafe(16)
    )
    _membership_create(team=team, user=user)
    return team


def _membership_create(*, team: Team, user: AbstractBaseUser) -> TeamMembership:
    # The unique constraint is the real guard: two concurrent joins cannot both succeed.
    try:
        with transaction.atomic():
            return TeamMembership.objects.create(team=team, user=user, challenge_id=team.challenge_id)
    except IntegrityError as error:
        raise ValidationError(
            {"team": "you are already in a team of this challenge (one team per challenge)"}
        ) from error


@transaction.atomic
def team_join(*, team: Team, user: AbstractBaseUser, join_code: str) -> TeamMembership:
    # compare_digest refuses str with non-ASCII characters (TypeError): compare the UTF-8 bytes.
    given = (join_code or "").encode("utf-8", "surrogatepass")
    if not secrets.compare_digest(team.join_code.encode("utf-8"), given):
        raise ValidationError({"join_code": "does not match this team's code"})
    _check_not_in_team(user=user, challenge=team.challenge)
    return _membership_create(team=team, user=user)


@transaction.atomic
def track_enter(*, team: Team, track: Track) -> TrackEntry:
    """Enter `team` into `track` (idempotent); only entered tracks accept the team's submissions."""
    if track.challenge_id != team.challenge_id:
        raise ValidationError({"track": f"track {track.slug!r} belongs to another challenge"})
    entry, _ = TrackEntry.objects.get_or_create(team=team, track=track)
    return entry
