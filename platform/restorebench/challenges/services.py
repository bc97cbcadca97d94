"""Writes for challenges, tracks, phases, organizers and the audit log.

Every function is keyword-only and validates its input, raising `django.core.exceptions.ValidationError`
with a message naming the field. Organizer actions that change how a challenge is judged (limits,
visibility, ranking, rescoring, disqualification) are recorded with `audit_log_record`.
"""

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from evaluator.ranking import RankingConfigError
from restorebench.challenges.models import (
    AuditLogEntry,
    Challenge,
    ChallengeOrganizer,
    Compute,
    Phase,
    RankingMethod,
    Task,
    Track,
)
from restorebench.challenges.track_efficiency import EfficiencyConfigError, track_efficiency_validate
from restorebench.challenges.track_ranking import (
    TrackRanking,
    ranking_problems_text,
    scored_metrics,
    track_ranking_validate,
)
from restorebench.challenges.track_specs import TrackSpecError, track_specs_validate

# Phase fields whose change is recorded in the audit log.
AUDITED_PHASE_FIELDS = (
    "starts_at",
    "ends_at",
    "max_submissions_per_day",
    "max_submissions_total",
    "leaderboard_public",
    "hidden_ground_truth",
    "score_decimals",
    "max_upload_bytes",
    "results_hidden",
    "reveal_at",
    "requires_factsheet",
    "requires_code",
    "max_team_size",
)
AUDITED_TRACK_FIELDS = (
    "scoring_spec",
    "ranking_method",
    "ranking_metrics",
    "leaderboards",
    "degradation_spec",
    "efficiency",
    "compute",
)


def json_value(value: Any) -> Any:
    """A field value as the audit log stores it (datetimes as ISO 8601)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def audit_log_record(
    *,
    challenge: Challenge,
    actor: AbstractBaseUser | None,
    action: str,
    target: str = "",
    details: dict | None = None,
) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        challenge=challenge, actor=actor, action=action, target=target, details=details or {}
    )


@transaction.atomic
def challenge_create(
    *,
    slug: str,
    title: str,
    created_by: AbstractBaseUser | None,
    description: str = "",
    is_public: bool = True,
) -> Challenge:
    """Create a challenge; its creator becomes its first organizer."""
    if Challenge.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"a challenge with slug {slug!r} already exists"})
    challenge = Challenge(
        slug=slug, title=title, description=description, is_public=is_public, created_by=created_by
    )
    challenge.full_clean()
    challenge.save()
    if created_by is not None:
        ChallengeOrganizer.objects.create(challenge=challenge, user=created_by)
        audit_log_record(
            challenge=challenge, actor=created_by, action="challenge.create", target=f"challenge:{slug}"
        )
    return challenge


@transaction.atomic
def challenge_update(*, challenge: Challenge, actor: AbstractBaseUser | None, **fields: Any) -> Challenge:
    allowed = {"title", "description", "is_public"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "cannot be changed here" for name in sorted(unknown)})
    changes = {}
    for name, value in fields.items():
        if getattr(challenge, name) != value:
            changes[name] = {"from": getattr(challenge, name), "to": value}
            setattr(challenge, name, value)
    challenge.full_clean()
    challenge.save()
    if changes:
        audit_log_record(
            challenge=challenge,
            actor=actor,
            action="challenge.update",
            target=f"challenge:{challenge.slug}",
            details=changes,
        )
    return challenge


@transaction.atomic
def challenge_organizer_add(
    *, challenge: Challenge, user: AbstractBaseUser, actor: AbstractBaseUser | None
) -> ChallengeOrganizer:
    organizer, created = ChallengeOrganizer.objects.get_or_create(challenge=challenge, user=user)
    if created:
        audit_log_record(
            challenge=challenge,
            actor=actor,
            action="organizer.add",
            target=f"user:{user.pk}",
            details={"username": user.get_username()},
        )
    return organizer


def _validated_ranking(ranking: Any, scoring_spec: dict) -> TrackRanking:
    """The track's ranking through the one validator (`track_ranking.py`); its problems become field
    errors: the older form's `method`/`metrics` as ranking_method/ranking_metrics, the rest as ranking."""
    primary = scoring_spec.get("ranking_metric") if isinstance(scoring_spec, dict) else None
    primary = primary if isinstance(primary, str) else None
    try:
        return track_ranking_validate(ranking, scored=scored_metrics(scoring_spec), primary=primary)
    except RankingConfigError as error:
        fields: dict[str, list[str]] = {}
        legacy = isinstance(ranking, dict) and "leaderboards" not in ranking
        for problem in error.problems:
            head = problem.path[0] if problem.path else None
            if legacy and head in ("method", "metrics"):
                name = f"ranking_{head}"
                where = "".join(f"[{p}]" for p in problem.path[1:])
                fields.setdefault(name, []).append(f"{name}{where}: {problem.message}")
            else:
                fields.setdefault("ranking", []).append(ranking_problems_text(RankingConfigError([problem])))
        raise ValidationError(fields) from error


SPEC_FIELDS = {"degradation": "degradation_spec", "scoring": "scoring_spec"}


def validated_specs(task: str, degradation_spec: dict, scoring_spec: dict) -> None:
    """The track's specs through the one validator (`track_specs.py`, which the bundle loader uses too);
    stored as given. An empty degradation spec means none (pairs-only data)."""
    try:
        track_specs_validate(task=task, degradation=degradation_spec or None, scoring=scoring_spec)
    except TrackSpecError as error:
        fields: dict[str, list[str]] = {}
        for problem in error.problems:
            fields.setdefault(SPEC_FIELDS[problem.path[0]], []).append(problem.message)
        raise ValidationError(fields) from error


def _ranking_data(ranking: dict | None, method: str | None, metrics: list | None) -> Any:
    if ranking is not None:
        if metrics is not None:
            raise ValidationError({"ranking": "give ranking or ranking_metrics, not both"})
        return ranking
    data: dict = {"method": method or RankingMethod.METRIC}
    if metrics is not None:
        data["metrics"] = metrics
    return data


def _validated_efficiency(raw: Any, task: str) -> dict:
    try:
        return track_efficiency_validate(raw, task=task)
    except EfficiencyConfigError as error:
        raise ValidationError({"efficiency": str(error)}) from error


def _check_json_object(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError({name: f"must be a JSON object, got {type(value).__name__}"})


@transaction.atomic
def track_create(
    *,
    challenge: Challenge,
    slug: str,
    title: str,
    task: str,
    ranking_metrics: list | None = None,
    ranking_method: str = RankingMethod.METRIC,
    ranking: dict | None = None,
    degradation_spec: dict | None = None,
    scoring_spec: dict | None = None,
    efficiency: dict | None = None,
    compute: str = Compute.CPU,
    description: str = "",
    order: int = 0,
    actor: AbstractBaseUser | None = None,
) -> Track:
    if task not in Task.values:
        raise ValidationError({"task": f"{task!r} is not one of {', '.join(Task.values)}"})
    if compute not in Compute.values:
        raise ValidationError({"compute": f"{compute!r} is not one of {', '.join(Compute.values)}"})
    degradation_spec = {} if degradation_spec is None else degradation_spec
    scoring_spec = {} if scoring_spec is None else scoring_spec
    _check_json_object("degradation_spec", degradation_spec)
    _check_json_object("scoring_spec", scoring_spec)
    validated_specs(task, degradation_spec, scoring_spec)
    if Track.objects.filter(challenge=challenge, slug=slug).exists():
        raise ValidationError({"slug": f"track {slug!r} already exists in {challenge.slug}"})
    rules = _validated_ranking(_ranking_data(ranking, ranking_method, ranking_metrics), scoring_spec)
    efficiency = _validated_efficiency(efficiency, task)
    track = Track(
        challenge=challenge,
        slug=slug,
        title=title,
        description=description,
        task=task,
        degradation_spec=degradation_spec,
        scoring_spec=scoring_spec,
        ranking_method=rules.ranking_method,
        ranking_metrics=rules.ranking_metrics,
        leaderboards=rules.leaderboards,
        efficiency=efficiency,
        compute=compute,
        order=order,
    )
    track.full_clean(validate_constraints=False)
    track.save()
    audit_log_record(
        challenge=challenge,
        actor=actor,
        action="track.create",
        target=f"track:{track.pk}",
        details={"slug": slug},
    )
    return track


@transaction.atomic
def track_update(*, track: Track, actor: AbstractBaseUser | None, **fields: Any) -> Track:
    allowed = {
        "title",
        "description",
        "degradation_spec",
        "scoring_spec",
        "ranking_method",
        "ranking_metrics",
        "ranking",
        "efficiency",
        "compute",
        "order",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "cannot be changed here" for name in sorted(unknown)})
    for name in ("degradation_spec", "scoring_spec"):
        if name in fields:
            _check_json_object(name, fields[name])
    if "compute" in fields and fields["compute"] not in Compute.values:
        raise ValidationError({"compute": f"{fields['compute']!r} is not one of {', '.join(Compute.values)}"})
    if "efficiency" in fields:
        fields["efficiency"] = _validated_efficiency(fields["efficiency"], track.task)
    scoring_spec = fields.get("scoring_spec", track.scoring_spec)
    if "degradation_spec" in fields or "scoring_spec" in fields:
        validated_specs(track.task, fields.get("degradation_spec", track.degradation_spec), scoring_spec)
    if "ranking" in fields:
        data = _ranking_data(fields.pop("ranking"), None, fields.pop("ranking_metrics", None))
    elif "ranking_method" in fields or "ranking_metrics" in fields:
        data = {
            "method": fields.get("ranking_method", track.ranking_method),
            "metrics": fields.get("ranking_metrics", track.ranking_metrics),
        }
    elif track.leaderboards:
        data = track.leaderboards
    else:
        data = {"method": track.ranking_method, "metrics": track.ranking_metrics}
    rules = _validated_ranking(data, scoring_spec)  # the stored rules must still fit a new scoring spec
    fields["ranking_method"], fields["ranking_metrics"] = rules.ranking_method, rules.ranking_metrics
    fields["leaderboards"] = rules.leaderboards
    changes = {}
    for name, value in fields.items():
        if getattr(track, name) != value:
            if name in AUDITED_TRACK_FIELDS:
                changes[name] = {"from": getattr(track, name), "to": value}
            setattr(track, name, value)
    track.full_clean(validate_constraints=False)
    track.save()
    if changes:
        audit_log_record(
            challenge=track.challenge,
            actor=actor,
            action="track.update",
            target=f"track:{track.pk}",
            details=changes,
        )
    return track


# Fields that named data folders before the platform placed them; a request naming one is told why.
DATA_PATH_FIELDS = ("inputs_dir", "ground_truth_dir")


def check_no_data_paths(fields: dict) -> None:
    named = [name for name in DATA_PATH_FIELDS if name in fields]
    if named:
        raise ValidationError(
            {
                name: "data folders are placed by the platform in the phase's own area; "
                "install data by loading a bundle or uploading it, never by a path"
                for name in named
            }
        )


def _check_phase_fields(fields: dict) -> None:
    starts, ends = fields.get("starts_at"), fields.get("ends_at")
    for name in ("starts_at", "ends_at", "reveal_at"):
        value = fields.get(name)
        if value is not None and (not isinstance(value, dt.datetime) or value.tzinfo is None):
            raise ValidationError({name: "must be a timezone-aware datetime"})
    if starts is not None and ends is not None and ends <= starts:
        raise ValidationError({"ends_at": f"must be after starts_at ({starts.isoformat()})"})
    for name in ("max_submissions_per_day", "max_submissions_total"):
        value = fields.get(name)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValidationError({name: "must be a non-negative integer, or null for no limit"})
    if "score_decimals" in fields and not (0 <= fields["score_decimals"] <= 10):
        raise ValidationError({"score_decimals": "must be between 0 and 10"})
    if "max_upload_bytes" in fields and fields["max_upload_bytes"] <= 0:
        raise ValidationError({"max_upload_bytes": "must be positive"})
    if "expected_images" in fields:
        names = fields["expected_images"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n and "/" not in n for n in names):
            raise ValidationError({"expected_images": "must be a list of plain file names"})
        if len({n.lower() for n in names}) != len(names):
            raise ValidationError({"expected_images": "names must be unique (ignoring case)"})


@transaction.atomic
def phase_create(
    *,
    track: Track,
    slug: str,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    max_submissions_per_day: int | None = None,
    max_submissions_total: int | None = None,
    leaderboard_public: bool = True,
    hidden_ground_truth: bool = False,
    score_decimals: int = 4,
    max_upload_bytes: int = 2 * 1024**3,
    results_hidden: bool = False,
    reveal_at: dt.datetime | None = None,
    requires_factsheet: bool = False,
    requires_code: bool = False,
    max_team_size: int | None = None,
    expected_images: list[str] | None = None,
    description: str = "",
    order: int = 0,
    actor: AbstractBaseUser | None = None,
) -> Phase:
    fields = dict(
        slug=slug,
        title=title,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        max_submissions_per_day=max_submissions_per_day,
        max_submissions_total=max_submissions_total,
        leaderboard_public=leaderboard_public,
        hidden_ground_truth=hidden_ground_truth,
        score_decimals=score_decimals,
        max_upload_bytes=max_upload_bytes,
        results_hidden=results_hidden,
        reveal_at=reveal_at,
        requires_factsheet=requires_factsheet,
        requires_code=requires_code,
        max_team_size=max_team_size,
        expected_images=list(expected_images or []),
        order=order,
    )
    _check_phase_fields(fields)
    if Phase.objects.filter(track=track, slug=slug).exists():
        raise ValidationError({"slug": f"phase {slug!r} already exists in track {track.slug}"})
    phase = Phase(track=track, **fields)
    phase.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            phase.save()
    except IntegrityError as error:
        raise ValidationError({"__all__": f"phase violates a constraint: {error}"}) from error
    audit_log_record(
        challenge=track.challenge,
        actor=actor,
        action="phase.create",
        target=f"phase:{phase.pk}",
        details={"slug": slug},
    )
    return phase


@transaction.atomic
def phase_update(*, phase: Phase, actor: AbstractBaseUser | None, **fields: Any) -> Phase:
    """Change a phase; limit, window and visibility changes go to the audit log. Its data folders are
    not fields: the platform places them (`phase_data.phase_data_install`)."""
    allowed = set(AUDITED_PHASE_FIELDS) | {"title", "description", "expected_images", "order"}
    check_no_data_paths(fields)
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "cannot be changed here" for name in sorted(unknown)})
    merged = {name: getattr(phase, name) for name in ("starts_at", "ends_at")} | fields
    _check_phase_fields(merged)
    changes = {}
    for name, value in fields.items():
        if getattr(phase, name) != value:
            if name in AUDITED_PHASE_FIELDS:
                changes[name] = {"from": json_value(getattr(phase, name)), "to": json_value(value)}
            setattr(phase, name, value)
    phase.full_clean(validate_constraints=False)
    phase.save()
    if changes:
        audit_log_record(
            challenge=phase.track.challenge,
            actor=actor,
            action="phase.update",
            target=f"phase:{phase.pk}",
            details=changes,
        )
    return phase
