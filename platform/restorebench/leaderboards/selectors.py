"""Leaderboards: one row per team (its chosen submission, else its best by the track's rule), ranked,
with reference baselines as marked rows that take no rank; plus what a viewer may see of it, what a
rescore changed, and which submissions are identical across teams.

Visibility: organizers see everything. Other viewers see nothing of a private challenge; in a phase
whose leaderboard is not public they see only their own team's row (unranked) and the references; in a
hidden-ground-truth phase they see aggregates rounded to the phase's `score_decimals`.

Model submissions also carry what the sandbox measured (mean and median runtime per image, parameter
count, FLOPs and activations at the track's reference input, peak memory): rows show them, and leave
them blank (None) for zips of images.

A track may have several boards (formula, metrics and combined boards: `evaluator.ranking`); every
board ranks the same representative per team (its chosen submission, else its best on the track's
first formula or metrics board that is not per-image), and each board is its own `Leaderboard`.
"""

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from evaluator.ranking import Board, CombinedBoard, FormulaBoard, MetricsBoard, Placement, rank_boards
from evaluator.ranking.boards import describe
from evaluator.ranking.rank import Entry
from evaluator.ranking.rules import RankingRule
from restorebench.accounts.selectors import team_for_user
from restorebench.challenges.models import Phase
from restorebench.challenges.selectors import user_is_organizer
from restorebench.challenges.track_efficiency import track_reference_input
from restorebench.challenges.track_ranking import track_boards
from restorebench.leaderboards.documents import team_exclusions
from restorebench.leaderboards.entries import (
    entry_of,
    leaderboard_entries,
    per_image_scores,
    representative_board,
)
from restorebench.leaderboards.single_flight import cache_get_or_compute
from restorebench.leaderboards.versions import LEADERBOARD_CACHE_SECONDS, leaderboard_cache_key
from restorebench.submissions.models import Rescore, Submission

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
    flops: int | None = None  # at the track's reference input (Leaderboard.reference_input)
    activations: int | None = None
    seconds_per_image_median: float | None = None
    score: float | str | None = None  # formula value; primary metric; mean rank; "inf"/"-inf" stored
    gated_out: bool = False
    reason: str | None = None  # why the entry is not ranked on this board
    inputs: dict[str, float] | None = None  # formula boards: every input to the formula and gate
    ranks: dict[str, int] | None = None  # combined boards: rank on each board; mean rank: per metric

    def as_dict(self) -> dict:
        # The instance's own dict (its fields, in their order: every one is set in __init__), with the
        # nested dicts copied: dataclasses.asdict deep-copies recursively and dominated the API's time.
        out = self.__dict__.copy()
        out["scores"] = dict(self.scores)
        if self.inputs is not None:
            out["inputs"] = dict(self.inputs)
        if self.ranks is not None:
            out["ranks"] = dict(self.ranks)
        return out


@dataclass
class Leaderboard:
    phase_id: int
    ranking: dict  # the board's definition (evaluator.ranking stored form)
    metrics: list[str]
    rows: list[LeaderboardRow] = field(default_factory=list)
    rounded_to: int | None = None  # decimals, when the viewer sees rounded scores
    restricted: bool = False  # the viewer sees only their own team's row
    slug: str = "main"
    title: str = "Leaderboard"
    kind: str = "metrics"  # metrics | formula | combined
    boards: list[dict] = field(default_factory=list)  # every board of the phase: {slug, title}
    description: str = ""  # how the board ranks, in one line
    hidden_until: str | None = None  # participants, results not revealed yet: the reveal time, or ""
    frozen_at: str | None = None  # participants after the reveal: the frozen ranking's time
    reference_input: list[int] | None = None  # [height, width] at which model FLOPs are counted

    @classmethod
    def from_dict(cls, data: dict) -> "Leaderboard":
        """The inverse of `as_dict` (a frozen board read back from a reveal)."""
        fields = {k: v for k, v in data.items() if k not in ("aggregation", "rows", "phase")}
        rows = [LeaderboardRow(**row) for row in data["rows"]]
        return cls(phase_id=data["phase"], rows=rows, **fields)

    @property
    def aggregation(self) -> str | None:
        """Formula boards: "per_image" (formula per image, then the mean) or "means" (the default)."""
        if self.kind != "formula":
            return None
        return "per_image" if self.ranking.get("per_image") else "means"

    @property
    def has_models(self) -> bool:
        """Whether any row is a model entry (pages show the model columns only then)."""
        return any(row.kind == "model" for row in self.rows)

    def as_dict(self) -> dict:
        return {
            "phase": self.phase_id,
            "slug": self.slug,
            "title": self.title,
            "kind": self.kind,
            "description": self.description,
            "hidden_until": self.hidden_until,
            "frozen_at": self.frozen_at,
            "reference_input": self.reference_input,
            "aggregation": self.aggregation,
            "boards": [dict(b) for b in self.boards],
            "ranking": self.ranking,
            "metrics": self.metrics,
            "rounded_to": self.rounded_to,
            "restricted": self.restricted,
            "rows": [row.as_dict() for row in self.rows],
        }


def ranking_rule(phase: Phase) -> RankingRule:
    return RankingRule.from_data(phase.track.ranking_method, phase.track.ranking_metrics)


def _stored(value: float | None) -> float | str | None:
    # As the evaluator stores scores: JSON has no infinity (a perfect image's PSNR is "inf").
    if value is None or math.isfinite(value):
        return value
    return "inf" if value > 0 else "-inf"


def _row(
    entry: dict, placement: Placement, submitted_at: str, *, reference: bool, mean_rank: bool
) -> LeaderboardRow:
    return LeaderboardRow(
        rank=placement.rank,
        is_reference=reference,
        team_id=entry["team_id"],
        team_name=entry["team__name"],
        method_name=entry["method_name"],
        submission_id=entry["id"],
        submitted_at=submitted_at,
        scores=dict(entry["scores"] or {}),
        mean_rank=placement.score if mean_rank else None,  # finite: a mean of ranks
        runtime_per_mp=entry["runtime_per_mp"],
        kind=entry["kind"],
        seconds_per_image=entry["model_seconds_per_image"],
        parameters=entry["model_parameters"],
        peak_memory_bytes=entry["model_peak_memory_bytes"],
        flops=entry["model_flops"],
        activations=entry["model_activations"],
        seconds_per_image_median=entry["model_seconds_per_image_median"],
        score=_stored(placement.score),
        gated_out=placement.gated_out,
        reason=placement.reason,
        inputs=None if placement.inputs is None else {k: _stored(v) for k, v in placement.inputs.items()},
        ranks=None if placement.ranks is None else dict(placement.ranks),
    )


def leaderboards_compute(*, phase: Phase) -> dict[str, Leaderboard]:
    """Every board of the phase by slug, in the track's order, as organizers see them (full
    precision, identical submissions flagged); computed afresh."""
    return _leaderboards_build(phase, None)


def leaderboard_compute(
    *, phase: Phase, board: str | None = None, use_cache: bool = True, version: str | None = None
) -> Leaderboard:
    """One board (default: the first), as organizers see it; an unknown slug raises `KeyError`.
    Callers get their own copy and may change it. Each board is cached on its own: a cold read ranks
    only the boards this one needs and builds only its rows. `version`: the phase's
    `leaderboard_cache_key`, when the caller has it already."""
    slug = board if board is not None else track_boards(phase.track)[0].slug
    if not use_cache:
        return _leaderboards_build(phase, slug)[slug]
    key = f"{version or leaderboard_cache_key(phase)}:{slug}"
    return cache_get_or_compute(
        key, lambda: _leaderboards_build(phase, slug)[slug], LEADERBOARD_CACHE_SECONDS
    )


def _needed(boards: Sequence[Board], slug: str) -> list[Board]:
    """`slug`'s board and the boards it combines (recursively), in the track's order."""
    by_slug = {b.slug: b for b in boards}
    wanted, stack = set(), [by_slug[slug]]  # KeyError: unknown board
    while stack:
        board = stack.pop()
        wanted.add(board.slug)
        if isinstance(board, CombinedBoard):
            stack.extend(by_slug[s] for s in board.leaderboards if s not in wanted)
    return [b for b in boards if b.slug in wanted]


def _board_kind(board: Board) -> str:
    if isinstance(board, FormulaBoard):
        return "formula"
    return "combined" if isinstance(board, CombinedBoard) else "metrics"


def _board_metrics(board: Board, rows: list[LeaderboardRow]) -> list[str]:
    if isinstance(board, MetricsBoard):
        metrics = [m.metric for m in board.rule.metrics]
    elif isinstance(board, FormulaBoard):
        names = [*board.score.names, *(board.gate.names if board.gate else ())]
        metrics = [n for n in dict.fromkeys(names) if n not in ("runtime", "params", "flops", "peak_memory")]
    else:
        metrics = []
    for row in rows:
        metrics.extend(m for m in row.scores if m not in metrics)
    return metrics


def ranking_inputs(
    phase: Phase, boards: Sequence[Board], per_image: Callable[[list[dict]], dict] | None = None
) -> tuple[list[dict], list[Entry]]:
    """The rows the boards rank (each team's representative, then the references) and their ranking
    entries; `per_image(rows)` gives per-image scores by job id when a board needs them."""
    teams, references = leaderboard_entries(phase, representative_board(boards, ranking_rule(phase)))
    picked = teams + references
    scores = per_image(picked) if per_image else {}
    excluded = team_exclusions(phase=phase)
    entries = [
        entry_of(
            row,
            scores.get(row["current_job_id"]),
            reference=i >= len(teams),
            excluded=excluded.get(row["team_id"]),
        )
        for i, row in enumerate(picked)
    ]
    return picked, entries


def _leaderboards_build(phase: Phase, only: str | None) -> dict[str, Leaderboard]:
    """Every board (`only` None), or only board `only` (ranking just the boards it needs)."""
    boards = track_boards(phase.track)
    shown = boards if only is None else _needed(boards, only)
    per_image = per_image_scores if any(getattr(b, "per_image", False) for b in shown) else None
    picked, entries = ranking_inputs(phase, boards, per_image)
    teams = [row for row, entry in zip(picked, entries, strict=True) if not entry.is_reference]
    ranked = rank_boards(shown, entries)
    submitted = [row["created_at"].isoformat() for row in picked]
    fingerprints = defaultdict(set)
    for team in teams:
        fingerprints[team["content_fingerprint"]].add(team["team_id"])
    shared = {fp for fp, team_ids in fingerprints.items() if len(team_ids) > 1}
    flagged = {t["id"] for t in teams if t["content_fingerprint"] in shared}
    tabs = [{"slug": b.slug, "title": b.title} for b in boards]
    result = {}
    for board in boards if only is None else [b for b in boards if b.slug == only]:
        mean_rank = isinstance(board, MetricsBoard) and board.rule.method == "mean_rank"
        rows = [
            _row(
                picked[p.index],
                p,
                submitted[p.index],
                reference=entries[p.index].is_reference,
                mean_rank=mean_rank,
            )
            for p in ranked[board.slug].placements
        ]
        for row in rows:
            row.flagged_identical = row.submission_id in flagged
        result[board.slug] = Leaderboard(
            phase_id=phase.pk,
            ranking=board.to_data(),
            metrics=_board_metrics(board, rows),
            rows=rows,
            slug=board.slug,
            title=board.title,
            kind=_board_kind(board),
            boards=tabs,
            description=describe(board),
            reference_input=list(track_reference_input(phase.track)),
        )
    return result


def _round(value: float | str | None, decimals: int) -> float | str | None:
    return round(value, decimals) if isinstance(value, float) else value


def leaderboard_for_viewer(
    *,
    phase: Phase,
    user: User,
    board: str | None = None,
    version: str | None = None,
    organizer: bool | None = None,
) -> Leaderboard:
    """One board (default: the first) as `user` may see it (see the module docstring); an unknown
    slug raises `KeyError`. `version` and `organizer` (whether `user` organizes the challenge): when
    the caller knows them already."""
    if organizer is None:
        organizer = user_is_organizer(user=user, challenge=phase.track.challenge_id)
    if organizer:
        return leaderboard_compute(phase=phase, board=board, version=version)
    if phase.results_hidden:
        result = _revealed_for_participants(phase, board, version)
        if result.hidden_until is not None:
            return result
    else:
        result = leaderboard_compute(phase=phase, board=board, version=version)
    rows = [replace(row, flagged_identical=False) if row.flagged_identical else row for row in result.rows]
    rounded_to = None
    if phase.hidden_ground_truth:
        # A formula's value and inputs carry the aggregates' precision: rounded like them.
        rounded_to = phase.score_decimals
        rows = [
            replace(
                row,
                scores={m: _round(v, rounded_to) for m, v in row.scores.items()},
                mean_rank=_round(row.mean_rank, 3),
                score=_round(row.score, rounded_to),
                inputs=row.inputs and {k: _round(v, rounded_to) for k, v in row.inputs.items()},
            )
            for row in rows
        ]
    restricted = not phase.leaderboard_public
    if restricted:
        team = team_for_user(user=user, challenge=phase.track.challenge_id)
        # Scores made of ranks would tell the hidden ranks: shown to no one but organizers here.
        from_ranks = result.kind == "combined" or result.ranking.get("method") == "mean_rank"
        rows = [
            replace(row, rank=None, mean_rank=None, ranks=None, score=None if from_ranks else row.score)
            for row in rows
            if row.is_reference or (team and row.team_id == team.pk)
        ]
    return replace(result, rows=rows, rounded_to=rounded_to, restricted=restricted)


def _revealed_for_participants(phase: Phase, board: str | None, version: str | None) -> Leaderboard:
    """Participants' view of a phase with hidden results: nothing before the reveal, the frozen
    boards after it (never the live ones, so a later rescore cannot change what was announced)."""
    from restorebench.leaderboards.services import reveal_if_due

    reveal = reveal_if_due(phase=phase)
    if reveal is None:
        live = leaderboard_compute(phase=phase, board=board, version=version)
        when = phase.reveal_at.isoformat() if phase.reveal_at else ""
        return replace(live, rows=[], hidden_until=when)
    frozen = reveal.boards
    data = frozen[board] if board is not None else next(iter(frozen.values()))
    return replace(Leaderboard.from_dict(data), frozen_at=reveal.revealed_at.isoformat())


def leaderboard_snapshot(*, phase: Phase) -> list[dict]:
    return [row.as_dict() for row in leaderboard_compute(phase=phase).rows]


def rows_diff(before_rows: Sequence[dict], after_rows: Sequence[dict]) -> list[dict]:
    """Per submission (rows as `LeaderboardRow.as_dict` gives them): rank, board score and the metric
    scores before and after, and whether anything changed."""
    before = {row["submission_id"]: row for row in before_rows}
    after = {row["submission_id"]: row for row in after_rows}
    changes = []
    for submission_id in list(before) + [s for s in after if s not in before]:
        old, new = before.get(submission_id) or {}, after.get(submission_id) or {}
        old_scores, new_scores = old.get("scores", {}), new.get("scores", {})
        changed_scores = {
            metric: {"before": old_scores.get(metric), "after": new_scores.get(metric)}
            for metric in set(old_scores) | set(new_scores)
            if old_scores.get(metric) != new_scores.get(metric)
        }
        row = new or old
        changes.append(
            {
                "submission_id": submission_id,
                "team_name": row["team_name"],
                "method_name": row["method_name"],
                "is_reference": row["is_reference"],
                "rank_before": old.get("rank"),
                "rank_after": new.get("rank"),
                "score_before": old.get("score"),
                "score_after": new.get("score"),
                "scores": changed_scores,
                "changed": bool(changed_scores)
                or old.get("rank") != new.get("rank")
                or old.get("score") != new.get("score")
                or not old
                or not new,
            }
        )
    return changes


def rescore_changes(*, rescore: Rescore) -> dict:
    """Compare the leaderboard before a rescore with the leaderboard now: per row, old and new rank and
    scores; plus how many of the rescore's jobs are still running or failed."""
    changes = rows_diff(rescore.before, leaderboard_snapshot(phase=rescore.phase))
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


def _cell(value: object) -> object:
    return "" if value is None else value


def leaderboard_csv_rows(board: Leaderboard) -> Sequence[list]:
    header = [
        *CSV_FIXED,
        *board.metrics,
        "mean_rank",
        "runtime_per_mp",
        "kind",
        "seconds_per_image",
        "seconds_per_image_median",
        "parameters",
        "flops",
        "activations",
        "peak_memory_bytes",
        "score",
        "gated_out",
        "note",
    ]
    out = [header]
    for row in board.rows:
        out.append(
            [
                _cell(row.rank),
                row.team_name or "",
                row.method_name,
                "yes" if row.is_reference else "no",
                row.submission_id,
                row.submitted_at,
                *[_cell(row.scores.get(m)) for m in board.metrics],
                _cell(row.mean_rank),
                _cell(row.runtime_per_mp),
                row.kind,
                _cell(row.seconds_per_image),
                _cell(row.seconds_per_image_median),
                _cell(row.parameters),
                _cell(row.flops),
                _cell(row.activations),
                _cell(row.peak_memory_bytes),
                _cell(row.score),
                "yes" if row.gated_out else "no",
                _cell(row.reason),
            ]
        )
    return out
