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
from restorebench.submissions.selectors import submission_problem_list

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
    # Three queries however many tracks: the tracks, their phases, the ones the team entered.
    tracks = track_list(challenge=challenge).prefetch_related("phases")
    entered = set(team_tracks(team=team).values_list("pk", flat=True)) if team is not None else set()
    view.tracks = [
        TrackView(
            track=t,
            entered=t.pk in entered,
            phases=[PhaseView(phase=p, state=phase_state(phase=p, now=now)) for p in t.phases.all()],
        )
        for t in tracks
    ]
    return view


def team_by_join_code(*, challenge: Challenge, join_code: str) -> Team | None:
    """The challenge's team with this join code (codes are unique and secret: knowing one is the
    permission to join)."""
    if not join_code:
        return None
    return Team.objects.filter(challenge=challenge, join_code=join_code.strip()).first()


# The evaluator's per-file problem codes (evaluator.result.Problem), in the order a participant fixes
# them, with the heading the page shows above each group.
PROBLEM_HEADINGS = {
    "missing": "Missing images",
    "duplicate_name": "Ambiguous file names",
    "wrong_size": "Wrong size",
    "too_small": "Too small",
    "wrong_mode": "Wrong colour mode",
    "unreadable": "Unreadable files",
    "not_an_image": "Not an image",
    "unsupported_format": "Unsupported format",
    "empty_file": "Empty files",
    "too_large": "Too large",
    "extra": "Extra files (ignored)",
}


@dataclass
class ProblemGroup:
    code: str
    heading: str
    problems: list[dict]
    is_error: bool


def submission_problem_groups(*, submission: Submission) -> list[ProblemGroup]:
    """The submission's per-file problems grouped by kind (missing, wrong size, ...), errors first."""
    groups: dict[str, ProblemGroup] = {}
    for problem in submission_problem_list(submission=submission):
        code = problem["code"] if problem["code"] in PROBLEM_HEADINGS else "other"
        group = groups.get(code)
        if group is None:
            heading = PROBLEM_HEADINGS.get(code, "Other problems")
            group = groups[code] = ProblemGroup(code=code, heading=heading, problems=[], is_error=False)
        # The evaluator's messages start with the file name, which the page shows in its own column.
        detail = (
            problem["message"].removeprefix(f"{problem['name']}: ") if problem["name"] else problem["message"]
        )
        group.problems.append({**problem, "detail": detail})
        group.is_error = group.is_error or problem["severity"] == "error"
    order = {code: n for n, code in enumerate(PROBLEM_HEADINGS)}
    return sorted(groups.values(), key=lambda g: (not g.is_error, order.get(g.code, len(order))))


@dataclass
class GettingStarted:
    """The five steps of taking part, with the real commands for one phase of a track."""

    phase: Phase
    restore_options: str  # what the track discloses to methods, as `restore` options
    public_ground_truth: bool
    # A participant can score the phase at home: with its public ground truth, or without ground truth
    # at all (no-reference metrics read the restored images and the inputs only).
    local_scoring: bool


def getting_started(*, track: Track, now: dt.datetime | None = None) -> GettingStarted | None:
    """For the first open phase of `track` (else its first phase); None when it has no phase."""
    phases = list(phase_list(track=track))
    if not phases:
        return None
    phase = next((p for p in phases if phase_is_open(phase=p, now=now)), phases[0])
    spec = track.degradation_spec or {}
    options = []
    for key in ("sigma", "scale"):
        if isinstance(spec.get(key), int | float) and not isinstance(spec.get(key), bool):
            options.append(f"--{key} {spec[key]:g}")
    return GettingStarted(
        phase,
        " ".join(options),
        phase.ground_truth_public,
        phase.ground_truth_public or not track.has_ground_truth,
    )


def phase_megapixels_per_image(*, phase: Phase) -> float | None:
    """Mean megapixels of the phase's expected outputs (from the ground truth's headers), which turns a
    team's reported seconds per megapixel into the site's one runtime unit, seconds per image."""
    from django.core.cache import cache

    from restorebench.submissions.services.storing import expected_sizes

    # Sizes come from the ground truth, or the inputs of a track without it: either may change them.
    installed = max(filter(None, (phase.ground_truth_installed_at, phase.inputs_installed_at)), default=None)
    key = f"restorebench:phase-mp:{phase.pk}:{installed.timestamp() if installed else 0}"
    value = cache.get(key)
    if value is None:
        sizes = list(expected_sizes(phase).values())
        value = sum(h * w for h, w in sizes) / len(sizes) / 1e6 if sizes else 0.0
        cache.set(key, value, 24 * 3600)
    return value or None


def seconds_per_image(*, measured: float | None, reported_per_mp: float | None, megapixels: float | None):
    """(seconds per image, "measured" | "reported") or (None, None): the sandbox's measurement first."""
    if measured is not None:
        return measured, "measured"
    if reported_per_mp is not None and megapixels:
        return reported_per_mp * megapixels, "reported"
    return None, None
