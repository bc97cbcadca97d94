"""Which submissions a phase's leaderboards rank: each team's representative (its chosen submission,
else its best on the track's picking board) and the latest entry of each reference method, with what
the ranking needs of them (scores, measured quantities, per-image scores for per-image boards)."""

import json
from collections import defaultdict
from collections.abc import Sequence

from django.db import connection

from evaluator.ranking import Board, Entry, FormulaBoard, MetricsBoard, rank_boards
from evaluator.ranking.rules import RankingRule
from restorebench.challenges.models import Phase
from restorebench.leaderboards.picks import compile_picked_statement
from restorebench.submissions.models import ImageScore, Submission, SubmissionStatus

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
    "model_flops",
    "model_activations",
    "model_seconds_per_image_median",
    "current_job_id",
)


def leaderboard_entries(phase: Phase, board: MetricsBoard | FormulaBoard) -> tuple[list[dict], list[dict]]:
    """(each team's representative, the latest scored entry of each reference method).

    On PostgreSQL this is one statement over the kept picks (`leaderboards.picks`): it re-picks the
    teams whose submissions changed since their pick, then reads the picked rows with their team names
    and the references."""
    if connection.vendor != "postgresql":
        return _team_candidates(phase, board), _references(phase)
    sql, params = _statement(phase.pk, board)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    teams, references = [], []
    scores = FIELDS.index("scores")
    for values in fetched:
        row = dict(zip(FIELDS, values[:-1], strict=True))
        if values[scores] is not None:  # jsonb comes as text, as Django's JSONField reads it
            row["scores"] = json.loads(values[scores])
        (references if values[-1] else teams).append(row)
    return teams, references


# The statement depends only on the phase and the picking board. Building and compiling it through the
# ORM costs a cold leaderboard ~3 ms (a formula is a tree of expressions), so each process keeps the
# compiled SQL of the boards it has seen (boards are few; the oldest is dropped past the limit).
_STATEMENTS: dict[tuple[int, str], tuple[str, tuple]] = {}
_STATEMENTS_MAX = 256


def _statement(phase_id: int, board: MetricsBoard | FormulaBoard) -> tuple[str, tuple]:
    key = (phase_id, json.dumps(board.to_data(), sort_keys=True))
    compiled = _STATEMENTS.get(key)
    if compiled is None:
        compiled = compile_picked_statement(phase_id, board, FIELDS)
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.pop(next(iter(_STATEMENTS)))
        _STATEMENTS[key] = compiled
    return compiled


def _team_candidates(phase: Phase, board: MetricsBoard | FormulaBoard) -> list[dict]:
    """Each team's representative (portable version of `leaderboard_entries`): its chosen submission, else its
    best scored one on `board` (earliest first among equals)."""
    base = Submission.objects.filter(
        phase=phase, is_reference=False, status=SubmissionStatus.SCORED, disqualified=False
    )
    best: dict[int, dict] = {}
    rows = list(base.order_by("created_at", "id").values(*FIELDS))
    by_team: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_team[row["team_id"]].append(row)
    for team_id, candidates in by_team.items():
        chosen = [c for c in candidates if c["is_chosen"]]
        if chosen:
            best[team_id] = chosen[0]
        else:
            ranking = rank_boards([board], [entry_of(c, None) for c in candidates])[board.slug]
            best[team_id] = candidates[ranking.placements[0].index]
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


def entry_of(
    row: dict, per_image: list[dict] | None, reference: bool = False, excluded: str | None = None
) -> Entry:
    quantities = {
        "runtime": row["model_seconds_per_image"],
        "params": row["model_parameters"],
        "peak_memory": row["model_peak_memory_bytes"],
        "flops": row["model_flops"],
    }
    return Entry(row["scores"], quantities, per_image, is_reference=reference, excluded=excluded)


def representative_board(boards: Sequence[Board], rule: RankingRule) -> MetricsBoard | FormulaBoard:
    """The board that picks a team's representative: the first formula or metrics board that is not
    per-image (per-image scores of every submission are too many to read), else the track's rule."""
    for board in boards:
        if isinstance(board, MetricsBoard) or (isinstance(board, FormulaBoard) and not board.per_image):
            return board
    return MetricsBoard("main", "Leaderboard", rule)


def per_image_tables(rows: list[dict]) -> dict[int, dict[str, dict]]:
    """Per-image scores of the rows' current jobs: job id -> {image name: {metric: value}}."""
    tables: dict[int, dict[str, dict]] = defaultdict(dict)
    jobs = [row["current_job_id"] for row in rows if row["current_job_id"] is not None]
    scores = ImageScore.objects.filter(job_id__in=jobs).values_list("job_id", "image_name", "metric", "value")
    for job_id, image, metric, value in scores.iterator(chunk_size=10_000):
        tables[job_id].setdefault(image, {})[metric] = value
    return dict(tables)


def per_image_scores(rows: list[dict]) -> dict[int, list[dict]]:
    """Per-image scores of the rows' current jobs: job id -> [{metric: value} per image, by name]."""
    return {job: [images[name] for name in sorted(images)] for job, images in per_image_tables(rows).items()}
