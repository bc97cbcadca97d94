"""Rank confidence on the leaderboards: `evaluator.ranking.confidence` over the phase's entries (the
same team representatives and rule the boards rank), cached until the phase changes; shown to a viewer
only for the rows whose rank that viewer sees."""

from django.core.cache import cache

from evaluator.ranking.confidence import ConfidenceError, rank_confidence
from restorebench.challenges.models import Phase
from restorebench.challenges.track_ranking import track_boards
from restorebench.leaderboards.entries import per_image_tables
from restorebench.leaderboards.selectors import Leaderboard, ranking_inputs
from restorebench.leaderboards.versions import leaderboard_cache_key

RESAMPLES = 1000
LEVEL = 0.95
# The key changes with the phase (any submission, rule or requirement), so the answer can live long.
CONFIDENCE_CACHE_SECONDS = 24 * 3600


def _compute(phase: Phase) -> dict[str, dict[int, dict]]:
    boards = track_boards(phase.track)
    tables: dict[int, dict[str, dict]] = {}

    def per_image(rows: list[dict]) -> dict[int, list[dict]]:
        tables.update(per_image_tables(rows))  # the named tables: the bootstrap pairs images by name
        return {job: [images[name] for name in sorted(images)] for job, images in tables.items()}

    picked, entries = ranking_inputs(phase, boards, per_image)
    per_image_named = [tables.get(row["current_job_id"]) for row in picked]
    try:
        result = rank_confidence(
            boards, entries, per_image_named, resamples=RESAMPLES, seed=phase.pk, level=LEVEL
        )
    except ConfidenceError:
        return {board.slug: {} for board in boards}
    return {
        slug: {picked[index]["id"]: confidence.to_dict() for index, confidence in by_index.items()}
        for slug, by_index in result.items()
    }


def _key(phase: Phase, version: str | None) -> str:
    return f"{version or leaderboard_cache_key(phase)}:confidence"


def confidence_cached(*, phase: Phase, version: str | None = None) -> bool:
    """Whether the phase's rank confidence is in the cache now (`version`: the phase's
    `leaderboard_cache_key`, when the caller has it)."""
    return cache.has_key(_key(phase, version))


def phase_rank_confidence(*, phase: Phase, version: str | None = None) -> dict[str, dict[int, dict]]:
    """Board slug → submission id → {rank, rank_low, rank_high, p_vs_above, not_significantly_...}."""
    key = _key(phase, version)
    result = cache.get(key)
    if result is None:
        result = _compute(phase)
        cache.set(key, result, CONFIDENCE_CACHE_SECONDS)
    return result


def board_confidence(*, phase: Phase, board: Leaderboard, version: str | None = None) -> dict[int, dict]:
    """The confidence of the rows of `board` as its viewer sees it: only ranked rows whose shown rank is
    the live one (a frozen, revealed board that a rescore has since changed shows none)."""
    live = phase_rank_confidence(phase=phase, version=version).get(board.slug, {})
    return {
        row.submission_id: live[row.submission_id]
        for row in board.rows
        if row.rank is not None and row.submission_id in live and live[row.submission_id]["rank"] == row.rank
    }


def board_confidence_if_cheap(
    *, phase: Phase, board: Leaderboard, max_ranked: int = 200, version: str | None = None
) -> dict[int, dict]:
    """For pages: computed on the spot for boards of up to `max_ranked` ranked rows (tens of ms), else
    only when already cached (the API computes and caches it), so a page view never waits seconds."""
    ranked = sum(1 for row in board.rows if row.rank is not None)
    if ranked > max_ranked and not confidence_cached(phase=phase, version=version):
        return {}
    return board_confidence(phase=phase, board=board, version=version)
