"""Each team's representative submission, maintained (PostgreSQL): a cold leaderboard reads the ~500
kept picks of a phase instead of sorting its 10,000 submissions by the picking board's formula.

`TeamChanges` counts the writes to each team's submissions in a phase (a trigger, migration 0003);
`TeamPick` keeps a team's pick for one picking board (`board_key`) with the count it was made at. The
leaderboard's one statement (`picked_statement`) first re-picks, from the submissions, every team whose
pick is missing or older than its count and stores those picks, then reads the picked rows and the
latest reference per method. So a pick is never used stale: a write in flight commits its count with
it, a pick made from an older snapshot keeps the older count and is re-made on the next read, and a
change of the board (the ranking rule) is a new `board_key` whose picks are all missing. The
submissions stay the source of truth: deleting a phase's picks (`team_picks_rebuild`) only makes the
next read pick every team afresh.
"""

import hashlib
import json

from django.db import connection, transaction
from django.db.models import Expression, F, Lookup
from django.db.models.expressions import RawSQL

from evaluator.ranking import FormulaBoard, MetricsBoard
from restorebench.challenges.models import Phase
from restorebench.leaderboards.board_sql import board_order_by
from restorebench.leaderboards.models import TeamChanges, TeamPick
from restorebench.submissions.models import Submission, SubmissionStatus


class _EqualsAny(Lookup):
    """`lhs = ANY(rhs)`, rhs an array (Django's `__in` compiles to `IN (subquery)`)."""

    lookup_name = "equals_any"

    def as_sql(self, compiler, connection) -> tuple[str, tuple]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def board_key(board: MetricsBoard | FormulaBoard) -> str:
    return hashlib.sha256(json.dumps(board.to_data(), sort_keys=True).encode()).hexdigest()


def _sql(queryset) -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def compile_picked_statement(
    phase_id: int, board: MetricsBoard | FormulaBoard, fields: tuple[str, ...]
) -> tuple[str, tuple]:
    """One statement: re-pick and store the stale teams' representatives, then select `fields` and
    `is_reference` of every team's pick and of the latest scored entry of each reference method."""
    key = board_key(board)
    changes, picks = TeamChanges._meta.db_table, TeamPick._meta.db_table
    scored = Submission.objects.filter(phase_id=phase_id, status=SubmissionStatus.SCORED, disqualified=False)
    # Per stale team, its best submission through the (team, phase, created_at) index: after one
    # write that is one team's ~20 submissions, not a scan of the phase's 10,000.
    best_sql, best_params = _sql(
        scored.filter(is_reference=False, team_id=RawSQL("stale.team_id", ()))
        .order_by(F("is_chosen").desc(), *board_order_by(board), "created_at", "id")
        .values("id")[:1]
    )
    refs_sql, refs_params = _sql(
        scored.filter(is_reference=True)
        .order_by("method_name", "-created_at", "-id")
        .distinct("method_name")
        .values("id")
    )
    # `id = ANY(ARRAY(...))`: PostgreSQL fetches the ~500 picked rows by primary key.
    ids: Expression = RawSQL("ARRAY(SELECT id FROM chosen)", ())
    read_sql, read_params = _sql(
        Submission.objects.filter(_EqualsAny(F("id"), ids)).order_by().values_list(*fields, "is_reference")
    )
    sql = f"""WITH stale AS (
        SELECT c.team_id, c.changes FROM {changes} c
        LEFT JOIN {picks} p ON p.phase_id = c.phase_id AND p.board_key = %s AND p.team_id = c.team_id
        WHERE c.phase_id = %s AND (p.id IS NULL OR p.changes < c.changes)
    ), best AS (
        SELECT stale.team_id, team_best.id FROM stale CROSS JOIN LATERAL ({best_sql}) team_best
    ), stored AS (
        INSERT INTO {picks} (phase_id, team_id, board_key, submission_id, changes)
        SELECT %s, stale.team_id, %s, best.id, stale.changes FROM stale LEFT JOIN best USING (team_id)
        ORDER BY stale.team_id  -- concurrent reads lock the picks they store in one order: no deadlock
        ON CONFLICT (phase_id, board_key, team_id) DO UPDATE
        SET submission_id = EXCLUDED.submission_id, changes = EXCLUDED.changes
        WHERE {picks}.changes < EXCLUDED.changes
    ), superseded AS (  -- picks of the phase's earlier boards (its rule changed)
        DELETE FROM {picks} WHERE phase_id = %s AND board_key <> %s AND EXISTS (SELECT 1 FROM stale)
    ), chosen AS (
        SELECT id FROM best
        UNION ALL
        SELECT p.submission_id FROM {picks} p
        WHERE p.phase_id = %s AND p.board_key = %s AND p.submission_id IS NOT NULL
            AND p.team_id NOT IN (SELECT team_id FROM stale)
        UNION ALL ({refs_sql})
    ) {read_sql}"""
    params = [
        key,
        phase_id,
        *best_params,
        phase_id,
        key,
        phase_id,
        key,
        phase_id,
        key,
        *refs_params,
        *read_params,
    ]
    return sql, tuple(params)


def team_picks_rebuild(*, phase: Phase) -> None:
    """Drop the phase's kept picks (the next read makes them all afresh from the submissions) and
    count every team with submissions in the phase, should a count be missing."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic():
        TeamPick.objects.filter(phase=phase).delete()
        teams = (
            Submission.objects.filter(phase=phase, team__isnull=False)
            .values_list("team_id", flat=True)
            .distinct()
        )
        TeamChanges.objects.bulk_create(
            [TeamChanges(phase=phase, team_id=team_id) for team_id in teams], ignore_conflicts=True
        )
