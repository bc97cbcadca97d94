"""Reads the pages need that compose the platform's selectors (no rule of visibility is decided here
that the platform's selectors do not already decide)."""

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from restorebench.accounts.models import Team
from restorebench.accounts.selectors import team_for_user, team_tracks
from restorebench.challenges.models import Challenge, Phase, Track
from restorebench.challenges.selectors import phase_is_open, phase_list, track_list, user_is_organizer
from restorebench.submissions.models import Submission

User = AbstractBaseUser | AnonymousUser


def phase_state(*, phase: Phase, now: dt.datetime | None = None) -> str:
    """'open', 'upcoming' or 'closed'."""
    now = now or timezone.now()
    if phase_is_open(phase=phase, now=now):
        return "open"
    return "upcoming" if now < phase.starts_at else "closed"


@dataclass
class PhaseView:
    phase: Phase
    state: str


@dataclass
class TrackView:
    track: Track
    entered: bool
    phases: list[PhaseView] = field(default_factory=list)


@dataclass
class ChallengeView:
    challenge: Challenge
    team: Team | None
    is_organizer: bool
    tracks: list[TrackView] = field(default_factory=list)


def track_view(*, track: Track, team: Team | None, now: dt.datetime | None = None) -> TrackView:
    now = now or timezone.now()
    entered = team is not None and team_tracks(team=team).filter(pk=track.pk).exists()
    phases = [PhaseView(phase=p, state=phase_state(phase=p, now=now)) for p in phase_list(track=track)]
    return TrackView(track=track, entered=entered, phases=phases)


def challenge_view(*, challenge: Challenge, user: User) -> ChallengeView:
    """A challenge with its tracks and phases (and their state now), the user's team and role."""
    team = team_for_user(user=user, challenge=challenge)
    now = timezone.now()
    view = ChallengeView(
        challenge=challenge, team=team, is_organizer=user_is_organizer(user=user, challenge=challenge)
    )
    view.tracks = [track_view(track=t, team=team, now=now) for t in track_list(challenge=challenge)]
    return view


def team_by_join_code(*, challenge: Challenge, join_code: str) -> Team | None:
    """The challenge's team with this join code (codes are unique and secret: knowing one is the
    permission to join)."""
    if not join_code:
        return None
    return Team.objects.filter(challenge=challenge, join_code=join_code.strip()).first()


def submission_scores_for_viewer(*, user: User, submission: Submission) -> dict | None:
    """The aggregate scores as the viewer may see them: participants of a hidden-ground-truth phase
    get them rounded to the phase's `score_decimals`, as the leaderboard shows them."""
    phase = submission.phase
    if submission.scores is None or not phase.hidden_ground_truth:
        return submission.scores
    if user_is_organizer(user=user, challenge=phase.track.challenge_id):
        return submission.scores
    return {
        metric: round(value, phase.score_decimals) if isinstance(value, float) else value
        for metric, value in submission.scores.items()
    }
