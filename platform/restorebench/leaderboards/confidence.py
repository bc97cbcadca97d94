"""Rank confidence on the leaderboards: `evaluator.ranking.confidence` over the phase's entries (the
same team representatives and rule the boards rank), cached until the phase changes; shown to a viewer
only for the rows whose rank that viewer sees."""

from collections import defaultdict

from django.core.cache import cache

from evaluator.ranking.confidence import ConfidenceError, rank_confidence
from restorebench.challenges.models import Phase
from restorebench.challenges.track_ranking import track_boards
from restorebench.leaderboards.documents import team_exclusions
from restorebench.leaderboards.entries import entry_of, leaderboard_entries, representative_board
from restorebench.leaderboards.selectors import (
    Leaderboard,
    _cache_key,
    ranking_rule,
)
from restorebench.submissions.models import ImageScore

RESAMPLES = 1000
LEVEL = 0.95
# The key changes with the phase (any submission, rule or requirement), so the answer can live long.
CONFIDENCE_CACHE_SECONDS = 24 * 3600


def _named_per_image(job_ids: list[int]) -> dict[int, dict[str, dict[str, float]]]:
    tables: dict[int, dict[str, dict[str, float]]] = defaultdict(dict)
    rows = ImageScore.objects.filter(job_id__in=job_ids).values_list(
        "job_id", "image_name", "metric", "value"
    )
    for job_id, image, metric, value in rows.iterator(chunk_size=10_000):
        tables[job_id].setdefault(image, {})[metric] = value
    return tables


def _compute(phase: Phase) -> dict[str, dict[int, dict]]:
    boards = track_boards(phase.track)
    teams, references = leaderboard_entries(phase, representative_board(boards, ranking_rule(phase)))
    picked = teams + references
    tables = _named_per_image([row["current_job_id"] for row in picked if row["current_job_id"] is not None])
    excluded = team_exclusions(phase=phase)
    per_image = [tables.get(row["current_job_id"]) for row in picked]
    entries = [
        entry_of(
            row,
            [table[name] for name in sorted(table)] if (table := per_image[i]) else None,
            reference=i >= len(teams),
            excluded=excluded.get(row["team_id"]),
        )
        for i, row in enumerate(picked)
    ]
    try:
        result = rank_confidence(boards, entries, per_image, resamples=RESAMPLES, seed=phase.pk, level=LEVEL)
    except ConfidenceError:
        return {board.slug: {} for board in boards}
    return {
        slug: {picked[index]["id"]: confidence.to_dict() for index, confidence in by_index.items()}
        for slug, by_index in result.items()
    }


def phase_rank_confidence(*, phase: Phase) -> dict[str, dict[int, dict]]:
    """Board slug → submission id → {rank, rank_low, rank_high, p_vs_above, not_significantly_...}."""
    key = f"{_cache_key(phase)}:confidence"
    result = cache.get(key)
    if result is None:
        result = _compute(phase)
        cache.set(key, result, CONFIDENCE_CACHE_SECONDS)
    return result


def board_confidence(*, phase: Phase, board: Leaderboard) -> dict[int, dict]:
    """The confidence of the rows of `board` as its viewer sees it: only ranked rows whose shown rank is
    the live one (a frozen, revealed board that a rescore has since changed shows none)."""
    live = phase_rank_confidence(phase=phase).get(board.slug, {})
    return {
        row.submission_id: live[row.submission_id]
        for row in board.rows
        if row.rank is not None and row.submission_id in live and live[row.submission_id]["rank"] == row.rank
    }


def board_confidence_if_cheap(*, phase: Phase, board: Leaderboard, max_ranked: int = 200) -> dict[int, dict]:
    """For pages: computed on the spot for boards of up to `max_ranked` ranked rows (tens of ms), else
    only when already cached (the API computes and caches it), so a page view never waits seconds."""
    ranked = sum(1 for row in board.rows if row.rank is not None)
    if ranked > max_ranked and cache.get(f"{_cache_key(phase)}:confidence") is None:
        return {}
    return board_confidence(phase=phase, board=board)
