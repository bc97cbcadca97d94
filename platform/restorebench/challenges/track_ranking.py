"""A track's ranking rules, validated in one place for the bundle loader, the services (and so the
API) and the admin: the leaderboards spelling of `evaluator.ranking.boards`, or the older single-board
`{method, metrics}` form.

Stored on the track as two things: `leaderboards` (the boards in full; empty for a single-board
track written in the older form) and `ranking_method`/`ranking_metrics`, the metric rule that also
picks each team's representative submission when it has not chosen one (the first metrics board,
else the scored metrics, the primary first).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evaluator.ranking import (
    Board,
    MetricsBoard,
    RankingConfigError,
    boards_from_data,
    boards_to_data,
    parse_ranking,
)
from evaluator.ranking.rules import RankingRule


@dataclass(frozen=True)
class TrackRanking:
    ranking_method: str
    ranking_metrics: list[dict]
    leaderboards: dict  # {} or {"leaderboards": [...]}
    boards: list[Board]


def scored_metrics(scoring_spec: Mapping) -> list[str] | None:
    """The metrics a scoring spec asks for (None: it does not say)."""
    scored = scoring_spec.get("metrics") if isinstance(scoring_spec, Mapping) else None
    if isinstance(scored, str):
        scored = [m.strip() for m in scored.split(",") if m.strip()]
    return list(scored) if isinstance(scored, list) else None


def track_ranking_validate(
    ranking: Any, *, scored: list[str] | None, primary: str | None = None
) -> TrackRanking:
    """Validate `ranking` (bundle spelling) against the scored metrics; raises `RankingConfigError`
    listing every problem with its path inside `ranking`."""
    boards = parse_ranking(ranking, scored=scored, primary=primary)
    rule = next((b.rule for b in boards if isinstance(b, MetricsBoard)), None)
    if rule is None and scored:
        first = primary if primary in scored else scored[0]
        rule = RankingRule.from_data("metric", [first] + [m for m in scored if m != first])
    several = isinstance(ranking, Mapping) and "leaderboards" in ranking
    leaderboards = boards_to_data(boards) if several else {}
    return TrackRanking(
        ranking_method=rule.method if rule else "metric",
        ranking_metrics=rule.to_data()["metrics"] if rule else [],
        leaderboards=leaderboards,
        boards=boards,
    )


def ranking_problems_text(error: RankingConfigError) -> str:
    return "; ".join(f"{_path(p.path)}: {p.message}" if p.path else p.message for p in error.problems)


def _path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def track_boards(track: Any) -> list[Board]:
    """The boards of a stored track, in order (older single-board tracks: one board named `main`)."""
    if track.leaderboards:
        return boards_from_data(track.leaderboards)
    legacy = {"method": track.ranking_method, "metrics": track.ranking_metrics}
    return parse_ranking(legacy, scored=None, check_names=False)
