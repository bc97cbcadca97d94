"""Organizers' view of a revealed phase: the frozen ranking against the live one."""

from restorebench.challenges.models import Phase
from restorebench.leaderboards.models import LeaderboardReveal
from restorebench.leaderboards.selectors import leaderboards_compute, rows_diff


def reveal_changes(*, phase: Phase) -> dict | None:
    """Organizers: the frozen ranking against the live one, per board (None: not revealed)."""
    reveal = LeaderboardReveal.objects.filter(phase=phase).first()
    if reveal is None:
        return None
    live = leaderboards_compute(phase=phase)
    boards = {}
    for slug, frozen in reveal.boards.items():
        after = [row.as_dict() for row in live[slug].rows] if slug in live else []
        changes = rows_diff(frozen["rows"], after)
        boards[slug] = {"changed": any(c["changed"] for c in changes), "rows": changes}
    return {
        "phase": phase.pk,
        "revealed_at": reveal.revealed_at.isoformat(),
        "revealed_by": reveal.revealed_by.get_username() if reveal.revealed_by else None,
        "rule": reveal.rule,
        "rule_version": reveal.rule_version,
        "evaluator_records": reveal.evaluator_records,
        "frozen": reveal.boards,
        "live_differs": any(b["changed"] for b in boards.values()) or set(live) != set(reveal.boards),
        "changes": boards,
    }
