"""Rank confidence by a paired bootstrap: intervals and "not significantly different" marks, checked
against a plain re-ranking of every resample with the leaderboard's own ranking code."""

import numpy as np
import pytest

from evaluator.ranking.boards import parse_ranking
from evaluator.ranking.confidence import ConfidenceError, rank_confidence, resample_weights
from evaluator.ranking.rank import Entry, rank_boards

BOARDS = {
    "leaderboards": [
        {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr", "ssim"]},
        {"slug": "votes", "title": "Votes", "method": "mean_rank", "metrics": ["psnr", "ssim"]},
        {"slug": "mixed", "title": "Mixed", "score": "psnr + 10*ssim - 0.5*log(params)",
         "order": "higher_first"},
        {"slug": "perimage", "title": "Per image", "score": "psnr + 20*ssim", "order": "higher_first",
         "per_image": True},
        {"slug": "overall", "title": "Overall",
         "combine": {"leaderboards": ["fidelity", "mixed"], "by": "mean_rank"}},
        {"slug": "best", "title": "Best", "combine": {"leaderboards": ["votes", "perimage"],
                                                       "by": "best_rank_then_mean"}},
    ]
}  # fmt: skip


def _world(teams: int, images: int, seed: int, spread: float):
    rng = np.random.default_rng(seed)
    names = [f"{i:04d}.png" for i in range(images)]
    skill = np.linspace(0, spread, teams)
    per_image, entries = [], []
    for t in range(teams):
        table = {
            n: {"psnr": float(28 + skill[t] + rng.normal(0, 1.0)), "ssim": float(0.8 + rng.normal(0, 0.02))}
            for n in names
        }
        per_image.append(table)
        entries.append(_entry(table, params=float(rng.integers(10_000, 2_000_000))))
    return names, per_image, entries


def _entry(table: dict, *, params: float, counts: np.ndarray | None = None) -> Entry:
    names = sorted(table)
    counts = np.ones(len(names), dtype=int) if counts is None else counts
    drawn = [table[n] for n, c in zip(names, counts, strict=True) for _ in range(int(c))]
    means = {m: float(np.mean([row[m] for row in drawn])) for m in ("psnr", "ssim")}
    return Entry(scores=means, quantities={"params": params}, per_image=drawn)


def _naive_ranks(boards, per_image, entries, resamples, seed):
    """Re-rank every resample with `rank_boards` on the resampled images (repeated by their counts)."""
    names = sorted(per_image[0])
    weights = resample_weights(len(names), resamples, seed)
    ranks = {b.slug: np.zeros((len(entries), resamples), dtype=int) for b in boards}
    for r in range(resamples):
        counts = np.rint(weights[:, r] * len(names)).astype(int)
        resampled = [
            _entry(table, params=entry.quantities["params"], counts=counts)
            for table, entry in zip(per_image, entries, strict=True)
        ]
        for slug, ranking in rank_boards(boards, resampled).items():
            for p in ranking.placements:
                ranks[slug][p.index, r] = p.rank
    return ranks


def test_intervals_and_tests_equal_a_plain_re_ranking_of_every_resample():
    boards = parse_ranking(BOARDS, scored=["psnr", "ssim"])
    names, per_image, entries = _world(teams=6, images=12, seed=5, spread=1.5)
    got = rank_confidence(boards, entries, per_image, resamples=1000, seed=11)
    naive = _naive_ranks(boards, per_image, entries, 1000, seed=11)
    observed = rank_boards(boards, entries)
    for board in boards:
        order = [p.index for p in observed[board.slug].placements if p.rank is not None]
        assert sorted(got[board.slug]) == sorted(order)
        for j, index in enumerate(order):
            ranks = naive[board.slug][index]
            confidence = got[board.slug][index]
            assert confidence.low == int(np.quantile(ranks, 0.025, method="lower")), board.slug
            assert confidence.high == int(np.quantile(ranks, 0.975, method="higher")), board.slug
            if j == 0:
                assert confidence.p_vs_above is None and confidence.tied_with_above is None
                continue
            above = naive[board.slug][order[j - 1]]
            share = np.mean(ranks < above) + 0.5 * np.mean(ranks == above)
            assert confidence.p_vs_above == pytest.approx(min(1.0, 2 * min(share, 1 - share)), abs=1e-12)
            assert confidence.tied_with_above == (confidence.p_vs_above >= 0.05)


def test_a_clearly_better_team_has_a_one_rank_interval_and_a_near_tie_is_marked():
    boards = parse_ranking({"method": "metric", "metrics": ["psnr"]}, scored=["psnr", "ssim"])
    names = [f"{i}.png" for i in range(40)]
    rng = np.random.default_rng(0)
    base = rng.normal(30, 2, len(names))  # image difficulty, shared by all teams (paired)
    tables = [
        {n: {"psnr": float(b + 3.0), "ssim": 0.9} for n, b in zip(names, base, strict=True)},  # far ahead
        {n: {"psnr": float(b + rng.normal(0, 0.5)), "ssim": 0.9} for n, b in zip(names, base, strict=True)},
        {n: {"psnr": float(b + rng.normal(0, 0.5)), "ssim": 0.9} for n, b in zip(names, base, strict=True)},
    ]
    entries = [_entry(t, params=1.0) for t in tables]
    result = rank_confidence(boards, entries, tables, resamples=2000, seed=3)["main"]
    leader = next(c for c in result.values() if c.rank == 1)
    assert (leader.low, leader.high) == (1, 1)
    second = next(c for c in result.values() if c.rank == 2)
    third = next(c for c in result.values() if c.rank == 3)
    assert second.tied_with_above is False and second.p_vs_above < 0.001
    assert (second.low, second.high, third.low, third.high) == (2, 3, 2, 3)
    assert third.tied_with_above is True


def test_the_same_seed_gives_the_same_answer_and_references_take_no_interval():
    boards = parse_ranking({"method": "metric", "metrics": ["psnr", "ssim"]}, scored=["psnr", "ssim"])
    names, per_image, entries = _world(teams=5, images=10, seed=2, spread=0.5)
    entries[2] = Entry(entries[2].scores, entries[2].quantities, entries[2].per_image, is_reference=True)
    first = rank_confidence(boards, entries, per_image, seed=7)
    assert first == rank_confidence(boards, entries, per_image, seed=7)
    assert 2 not in first["main"] and len(first["main"]) == 4


def test_too_few_resamples_or_no_shared_image_is_refused():
    boards = parse_ranking({"method": "metric", "metrics": ["psnr"]}, scored=["psnr"])
    entries = [Entry({"psnr": 30.0}), Entry({"psnr": 29.0})]
    with pytest.raises(ConfidenceError, match="at least 1000"):
        rank_confidence(boards, entries, [{"a": {"psnr": 30.0}}, {"a": {"psnr": 29.0}}], resamples=10)
    with pytest.raises(ConfidenceError, match="share no scored test image"):
        rank_confidence(boards, entries, [{"a": {"psnr": 30.0}}, {"b": {"psnr": 29.0}}])
