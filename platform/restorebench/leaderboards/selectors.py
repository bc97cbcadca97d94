"""Leaderboards: one row per team (its chosen submission, else its best by the track's rule), ranked,
with reference baselines as marked rows that take no rank; plus what a viewer may see of it, what a
rescore changed, and which submissions are identical across teams.

Visibility: organizers see everything. Other viewers see nothing of a private challenge; in a phase
whose leaderboard is not public they see only their own team's row (unranked) and the references; in a
hidden-ground-truth phase they see aggregates rounded to the phase's `score_decimals`.

Model submissions also carry what the sandbox measured (mean runtime per image, parameter count, peak
memory): rows show them, and leave them blank (None) for zips of images.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, FloatField, Lookup, Max, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, NullIf

from restorebench.accounts.selectors import team_for_user
from restorebench.challenges.models import Phase
from restorebench.challenges.selectors import user_is_organizer
from evaluator.ranking.rules import RankingRule, rank_entries, sort_key
from restorebench.submissions.models import Rescore, Submission, SubmissionStatus

User = AbstractBaseUser | AnonymousUser


@dataclass
class LeaderboardRow:
    rank: int | None
    is_reference: bool
    team_id: int | None
    team_name: str | None
    method_name: str
    submission_id: int
    submitted_at: str
    scores: dict[str, float | None]
    mean_rank: float | None = None
    runtime_per_mp: float | None = None
    flagged_identical: bool = False  # organizers only
    kind: str = "images"  # "images" or "model"
    seconds_per_image: float | None = None  # model entries: measured in the sandbox
    parameters: int | None = None
    peak_memory_bytes: int | None = None

    def as_dict(self) -> dict:
        # Built by hand: dataclasses.asdict deep-copies recursively and dominated the API's time.
        return {
            "rank": self.rank,
            "is_reference": self.is_reference,
            "team_id": self.team_id,
            "team_name": self.team_name,
            "method_name": self.method_name,
            "submission_id": self.submission_id,
            "submitted_at": self.submitted_at,
            "scores": dict(self.scores),
            "mean_rank": self.mean_rank,
            "runtime_per_mp": self.runtime_per_mp,
            "flagged_identical": self.flagged_identical,
            "kind": self.kind,
            "seconds_per_image": self.seconds_per_image,
            "parameters": self.parameters,
            "peak_memory_bytes": self.peak_memory_bytes,
        }


@dataclass
class Leaderboard:
    phase_id: int
    ranking: dict
    metrics: list[str]
    rows: list[LeaderboardRow] = field(default_factory=list)
    rounded_to: int | None = None  # decimals, when the viewer sees rounded scores
    restricted: bool = False  # the viewer sees only their own team's row

    @property
    def has_models(self) -> bool:
        """Whether any row is a model entry (pages show the model columns only then)."""
        return any(row.kind == "model" for row in self.rows)

    def as_dict(self) -> dict:
        return {
            "phase": self.phase_id,
            "ranking": self.ranking,
            "metrics": self.metrics,
            "rounded_to": self.rounded_to,
            "restricted": self.restricted,
            "rows": [row.as_dict() for row in self.rows],
        }


def ranking_rule(phase: Phase) -> RankingRule:
    return RankingRule.from_data(phase.track.ranking_method, phase.track.ranking_metrics)


def _metric_order_by(rule: RankingRule) -> list:
    order = []
    for metric in rule.metrics:
        # The evaluator stores non-finite values as "inf", "-inf" and "nan"; PostgreSQL's float sorts
        # NaN above every number, so it is made NULL (last), as the Python ranking treats it.
        value = NullIf(Cast(KeyTextTransform(metric.metric, "scores"), FloatField()), Value(float("nan")))
        order.append(value.desc(nulls_last=True) if metric.higher_is_better else value.asc(nulls_last=True))
    return order


FIELDS = (
    "id",
    "team_id",
    "team__name",
    "method_name",
    "created_at",
    "scores",
    "runtime_per_mp",
    "content_fingerprint",
    "is_chosen",
    "kind",
    "model_seconds_per_image",
    "model_parameters",
    "model_peak_memory_bytes",
)


class _EqualsAny(Lookup):
    """`lhs = ANY(rhs)`, rhs an array (Django's `__in` compiles to `IN (subquery)`)."""

    lookup_name = "equals_any"

    def as_sql(self, compiler, connection) -> tuple[str, tuple]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def _entries(phase: Phase, rule: RankingRule) -> tuple[list[dict], list[dict]]:
    """(each team's representative, the latest scored entry of each reference method).

    On PostgreSQL this is one statement: `DISTINCT ON` subqueries that pick ids only (sorting narrow
    rows: the sort of every scored submission by its JSON-extracted metrics is the cold leaderboard's
    main cost), then the picked rows with their team names."""
    if connection.vendor != "postgresql":
        return _team_candidates(phase, rule), _references(phase)
    scored = Submission.objects.filter(phase=phase, status=SubmissionStatus.SCORED, disqualified=False)
    team_winners = (
        scored.filter(is_reference=False)
        .order_by("team_id", F("is_chosen").desc(), *_metric_order_by(rule), "created_at", "id")
        .distinct("team_id")
        .values("id")
    )
    latest_references = (
        scored.filter(is_reference=True)
        .order_by("method_name", "-created_at", "-id")
        .distinct("method_name")
        .values("id")
    )
    # `id = ANY(ARRAY(... UNION ALL ...))`: PostgreSQL runs the subqueries once and fetches the ~500
    # picked rows by primary key, rather than hashing them and scanning the table against the hash.
    ids = ArraySubquery(team_winners.union(latest_references, all=True))
    picked = Submission.objects.filter(_EqualsAny(F("id"), ids)).order_by()
    teams, references = [], []
    for row in picked.values(*FIELDS, "is_reference"):
        (references if row.pop("is_reference") else teams).append(row)
    return teams, references


def _team_candidates(phase: Phase, rule: RankingRule) -> list[dict]:
    """Each team's representative (portable version of `_entries`): its chosen submission, else its
    best scored one by the primary metric and tie-breaks (earliest first among equals)."""
    base = Submission.objects.filter(
        phase=phase, is_reference=False, status=SubmissionStatus.SCORED, disqualified=False
    )
    best: dict[int, dict] = {}
    rows = list(base.order_by("created_at", "id").values(*FIELDS))
    metric_rule = RankingRule("metric", rule.metrics)
    by_team: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_team[row["team_id"]].append(row)
    for team_id, candidates in by_team.items():
        chosen = [c for c in candidates if c["is_chosen"]]
        if chosen:
            best[team_id] = chosen[0]
        else:
            placements = rank_entries([c["scores"] for c in candidates], metric_rule)
            best[team_id] = candidates[placements[0].index]
    return list(best.values())


def _references(phase: Phase) -> list[dict]:
    """The latest scored entry of each reference method."""
    rows = (
        Submission.objects.filter(
            phase=phase, is_reference=True, status=SubmissionStatus.SCORED, disqualified=False
        )
        .order_by("method_name", "-created_at", "-id")
        .values(*FIELDS)
    )
    latest: dict[str, dict] = {}
    for row in rows:
        latest.setdefault(row["method_name"], row)
    return list(latest.values())


def _row(entry: dict, *, rank: int | None, mean_rank: float | None, reference: bool) -> LeaderboardRow:
    return LeaderboardRow(
        rank=rank,
        is_reference=reference,
        team_id=entry["team_id"],
        team_name=entry["team__name"],
        method_name=entry["method_name"],
        submission_id=entry["id"],
        submitted_at=entry["created_at"].isoformat(),
        scores=dict(entry["scores"] or {}),
        mean_rank=mean_rank,
        runtime_per_mp=entry["runtime_per_mp"],
        kind=entry["kind"],
        seconds_per_image=entry["model_seconds_per_image"],
        parameters=entry["model_parameters"],
        peak_memory_bytes=entry["model_peak_memory_bytes"],
    )


# A computed leaderboard is cached under a key that changes with any write to the phase's submissions
# (their count: inserts and deletions; the newest `updated_at`: every update) or to the ranking rule;
# the timeout bounds how stale it can be if clocks of two hosts disagree about "newest". Both numbers
# come from an index-only scan of the (phase, updated_at) index.
LEADERBOARD_CACHE_SECONDS = 30


def _cache_key(phase: Phase) -> str:
    state = Submission.objects.filter(phase=phase).aggregate(n=Count("*"), last=Max("updated_at"))
    rule = json.dumps([phase.track.ranking_method, phase.track.ranking_metrics], sort_keys=True)
    raw = f"{phase.pk}|{state['n']}|{state['last']}|{rule}"
    return "restorebench:leaderboard:" + hashlib.sha256(raw.encode()).hexdigest()


def leaderboard_compute(*, phase: Phase, use_cache: bool = True) -> Leaderboard:
    """The full leaderboard, as organizers see it (full precision, identical submissions flagged).
    Callers get their own copy and may change it."""
    if not use_cache:
        return _leaderboard_build(phase)
    key = _cache_key(phase)
    board = cache.get(key)
    if board is None:
        board = _leaderboard_build(phase)
        cache.set(key, board, LEADERBOARD_CACHE_SECONDS)
    return board


def _leaderboard_build(phase: Phase) -> Leaderboard:
    rule = ranking_rule(phase)
    teams, references = _entries(phase, rule)
    placements = rank_entries([t["scores"] for t in teams], rule)
    rows = [_row(teams[p.index], rank=p.rank, mean_rank=p.mean_rank, reference=False) for p in placements]
    # References take no rank; each goes just before the first team row it beats on the primary
    # metric and tie-breaks, so readers see where the baselines stand.
    keys = [p.key for p in placements]
    for ref in sorted(references, key=lambda r: r["method_name"], reverse=True):
        ref_row = _row(ref, rank=None, mean_rank=None, reference=True)
        ref_key = sort_key(ref_row.scores, rule)
        position = len(rows)
        if ref_key is not None:
            for i, key in enumerate(keys):
                if key is None or ref_key < key:
                    position = i
                    break
        rows.insert(position, ref_row)
        keys.insert(position, ref_key)
    fingerprints = defaultdict(set)
    for team in teams:
        fingerprints[team["content_fingerprint"]].add(team["team_id"])
    shared = {fp for fp, team_ids in fingerprints.items() if len(team_ids) > 1}
    if shared:
        flagged = {t["id"] for t in teams if t["content_fingerprint"] in shared}
        for row in rows:
            row.flagged_identical = row.submission_id in flagged
    metrics = [m.metric for m in rule.metrics]
    for row in rows:
        metrics.extend(m for m in row.scores if m not in metrics)
    return Leaderboard(phase_id=phase.pk, ranking=rule.to_data(), metrics=metrics, rows=rows)


def _round(value: float | str | None, decimals: int) -> float | str | None:
    return round(value, decimals) if isinstance(value, float) else value


def leaderboard_for_viewer(*, phase: Phase, user: User) -> Leaderboard:
    """The leaderboard as `user` may see it (see the module docstring)."""
    board = leaderboard_compute(phase=phase)
    if user_is_organizer(user=user, challenge=phase.track.challenge_id):
        return board
    rows = [replace(row, flagged_identical=False) if row.flagged_identical else row for row in board.rows]
    rounded_to = None
    if phase.hidden_ground_truth:
        rounded_to = phase.score_decimals
        rows = [
            replace(
                row,
                scores={m: _round(v, rounded_to) for m, v in row.scores.items()},
                mean_rank=_round(row.mean_rank, 3),
            )
            for row in rows
        ]
    restricted = not phase.leaderboard_public
    if restricted:
        team = team_for_user(user=user, challenge=phase.track.challenge_id)
        rows = [
            replace(row, rank=None, mean_rank=None)
            for row in rows
            if row.is_reference or (team and row.team_id == team.pk)
        ]
    return replace(board, rows=rows, rounded_to=rounded_to, restricted=restricted)


def leaderboard_snapshot(*, phase: Phase) -> list[dict]:
    return [row.as_dict() for row in leaderboard_compute(phase=phase).rows]


def rescore_changes(*, rescore: Rescore) -> dict:
    """Compare the leaderboard before a rescore with the leaderboard now: per row, old and new rank and
    scores; plus how many of the rescore's jobs are still running or failed."""
    before = {row["submission_id"]: row for row in rescore.before}
    after_rows = leaderboard_snapshot(phase=rescore.phase)
    after = {row["submission_id"]: row for row in after_rows}
    changes = []
    for submission_id in list(before) + [s for s in after if s not in before]:
        old, new = before.get(submission_id), after.get(submission_id)
        changed_scores = {
            metric: {
                "before": (old or {}).get("scores", {}).get(metric),
                "after": (new or {}).get("scores", {}).get(metric),
            }
            for metric in set((old or {}).get("scores", {})) | set((new or {}).get("scores", {}))
            if (old or {}).get("scores", {}).get(metric) != (new or {}).get("scores", {}).get(metric)
        }
        old_rank, new_rank = (old or {}).get("rank"), (new or {}).get("rank")
        row = new or old
        changes.append(
            {
                "submission_id": submission_id,
                "team_name": row["team_name"],
                "method_name": row["method_name"],
                "is_reference": row["is_reference"],
                "rank_before": old_rank,
                "rank_after": new_rank,
                "scores": changed_scores,
                "changed": bool(changed_scores) or old_rank != new_rank or old is None or new is None,
            }
        )
    statuses = defaultdict(int)
    for status in rescore.jobs.values_list("status", flat=True):
        statuses[status] += 1
    return {
        "rescore": rescore.pk,
        "phase": rescore.phase_id,
        "reason": rescore.reason,
        "created_at": rescore.created_at.isoformat(),
        "jobs": dict(statuses),
        "finished": not any(statuses.get(s, 0) for s in ("pending", "queued", "running")),
        "rows": changes,
    }


def identical_submission_groups(*, phase: Phase) -> list[dict]:
    """Groups of submissions with the same image contents coming from more than one team."""
    rows = (
        Submission.objects.filter(phase=phase, is_reference=False)
        .values("id", "team_id", "team__name", "content_fingerprint", "created_at")
        .order_by("created_at")
    )
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["content_fingerprint"]].append(row)
    result = []
    for fingerprint, members in groups.items():
        if len({m["team_id"] for m in members}) > 1:
            result.append(
                {
                    "fingerprint": fingerprint,
                    "submissions": [
                        {
                            "id": m["id"],
                            "team_id": m["team_id"],
                            "team_name": m["team__name"],
                            "created_at": m["created_at"].isoformat(),
                        }
                        for m in members
                    ],
                }
            )
    return result


CSV_FIXED = ("rank", "team", "method", "reference", "submission", "submitted_at")


def leaderboard_csv_rows(board: Leaderboard) -> Sequence[list]:
    header = [
        *CSV_FIXED,
        *board.metrics,
        "mean_rank",
        "runtime_per_mp",
        "kind",
        "seconds_per_image",
        "parameters",
        "peak_memory_bytes",
    ]
    out = [header]
    for row in board.rows:
        out.append(
            [
                "" if row.rank is None else row.rank,
                row.team_name or "",
                row.method_name,
                "yes" if row.is_reference else "no",
                row.submission_id,
                row.submitted_at,
                *["" if row.scores.get(m) is None else row.scores[m] for m in board.metrics],
                "" if row.mean_rank is None else row.mean_rank,
                "" if row.runtime_per_mp is None else row.runtime_per_mp,
                row.kind,
                "" if row.seconds_per_image is None else row.seconds_per_image,
                "" if row.parameters is None else row.parameters,
                "" if row.peak_memory_bytes is None else row.peak_memory_bytes,
            ]
        )
    return out
