"""Ranking: score formulas and gates, a track's leaderboards, and ranking entries on them.

Plain Python, no Django and no database, so the platform, the `ranking_preview` command and tests
share one implementation. Metric directions come from the evaluator's metric registry.

- `formula`: the formula language (own tokenizer and Pratt parser; never `eval`).
- `rules`: the metric rules (primary metric with tie-breaks; mean of per-metric ranks).
- `boards`: a track's leaderboards, parsed and validated (`parse_ranking`).
- `rank`: `rank_boards(boards, entries)`.
"""

from evaluator.ranking.boards import (
    QUANTITIES,
    Board,
    CombinedBoard,
    ConfigProblem,
    FormulaBoard,
    MetricsBoard,
    RankingConfigError,
    boards_from_data,
    boards_to_data,
    parse_ranking,
)
from evaluator.ranking.formula import Formula, FormulaError, FormulaEvaluationError, parse
from evaluator.ranking.rank import BoardRanking, Entry, Placement, rank_boards

__all__ = [
    "QUANTITIES",
    "Board",
    "BoardRanking",
    "CombinedBoard",
    "ConfigProblem",
    "Entry",
    "Formula",
    "FormulaBoard",
    "FormulaError",
    "FormulaEvaluationError",
    "MetricsBoard",
    "Placement",
    "RankingConfigError",
    "boards_from_data",
    "boards_to_data",
    "parse",
    "parse_ranking",
    "rank_boards",
]
