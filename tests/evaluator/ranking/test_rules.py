"""The ranking rules, on hand-made score tables whose correct order is worked out in each test."""

import pytest

from evaluator.ranking.rules import RankingRule, RankingRuleError, rank_entries, sort_key

PSNR_SSIM = RankingRule.from_data("metric", [{"metric": "psnr"}, {"metric": "ssim"}])


def _order(entries, rule):
    return [(p.index, p.rank) for p in rank_entries(entries, rule)]


def test_primary_metric_sorts_descending_when_higher_is_better():
    entries = [{"psnr": 28.0, "ssim": 0.8}, {"psnr": 30.0, "ssim": 0.7}, {"psnr": 29.0, "ssim": 0.9}]
    assert _order(entries, PSNR_SSIM) == [(1, 1), (2, 2), (0, 3)]


def test_tie_on_the_primary_metric_is_broken_by_the_next_metric():
    entries = [{"psnr": 30.0, "ssim": 0.80}, {"psnr": 30.0, "ssim": 0.85}]
    assert _order(entries, PSNR_SSIM) == [(1, 1), (0, 2)]


def test_entries_equal_on_every_metric_share_a_rank_and_the_next_rank_is_skipped():
    entries = [
        {"psnr": 30.0, "ssim": 0.8},
        {"psnr": 31.0, "ssim": 0.8},
        {"psnr": 30.0, "ssim": 0.8},
        {"psnr": 1.0, "ssim": 0.1},
    ]
    assert _order(entries, PSNR_SSIM) == [(1, 1), (0, 2), (2, 2), (3, 4)]


def test_a_lower_is_better_metric_sorts_ascending():
    rule = RankingRule.from_data("metric", ["lpips"])
    assert rule.primary.higher_is_better is False
    entries = [{"lpips": 0.30}, {"lpips": 0.10}, {"lpips": 0.20}]
    assert _order(entries, rule) == [(1, 1), (2, 2), (0, 3)]


def test_mean_rank_averages_the_per_metric_ranks():
    # psnr ranks: A=1, B=2, C=3; lpips (lower better) ranks: A=3, B=1, C=2.
    # Means: A=2.0, B=1.5, C=2.5 -> B, A, C.
    rule = RankingRule.from_data("mean_rank", ["psnr", "lpips"])
    entries = [{"psnr": 30, "lpips": 0.3}, {"psnr": 29, "lpips": 0.1}, {"psnr": 28, "lpips": 0.2}]
    placements = rank_entries(entries, rule)
    assert [(p.index, p.rank, p.mean_rank) for p in placements] == [(1, 1, 1.5), (0, 2, 2.0), (2, 3, 2.5)]


def test_a_tie_in_mean_rank_is_broken_by_the_first_metric():
    # psnr ranks A=1, B=2; lpips ranks A=2, B=1: both mean 1.5, A has the better psnr.
    rule = RankingRule.from_data("mean_rank", ["psnr", "lpips"])
    entries = [{"psnr": 30, "lpips": 0.3}, {"psnr": 29, "lpips": 0.1}]
    assert _order(entries, rule) == [(0, 1), (1, 2)]


def test_entries_missing_a_ranked_metric_come_last_without_a_rank():
    entries = [{"psnr": 20.0}, {"psnr": 25.0, "ssim": 0.5}, None, {"psnr": float("nan"), "ssim": 0.9}]
    assert _order(entries, PSNR_SSIM) == [(1, 1), (0, None), (2, None), (3, None)]


def test_infinite_psnr_written_as_a_string_ranks_first():
    entries = [{"psnr": 40.0, "ssim": 1.0}, {"psnr": "inf", "ssim": 1.0}]
    assert _order(entries, PSNR_SSIM) == [(1, 1), (0, 2)]
    assert sort_key({"psnr": "inf", "ssim": 1.0}, PSNR_SSIM) == (float("-inf"), -1.0)


@pytest.mark.parametrize(
    ("method", "metrics", "message"),
    [
        ("best", ["psnr"], "ranking_method"),
        ("metric", [], "non-empty"),
        ("metric", ["psnr", "psnr"], "listed twice"),
        ("metric", ["clipiqa"], "direction of 'clipiqa' unknown"),
        ("metric", [{"metric": "psnr", "higher": True}], "unknown keys"),
        ("metric", "psnr", "non-empty list"),
    ],
)
def test_invalid_rules_are_refused_naming_the_problem(method, metrics, message):
    with pytest.raises(RankingRuleError, match=message):
        RankingRule.from_data(method, metrics)


def test_an_explicit_direction_is_kept():
    rule = RankingRule.from_data("metric", [{"metric": "niqe", "higher_is_better": False}])
    assert rule.to_data() == {"method": "metric", "metrics": [{"metric": "niqe", "higher_is_better": False}]}
