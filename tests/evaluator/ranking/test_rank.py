"""Ranking entries on formula, metric and combined boards; each expected order is worked out by hand
in the test (from the rule as the challenge states it), not read back from the code."""

import math

import pytest

from evaluator.ranking import Entry, parse_ranking, rank_boards

# NTIRE Efficient SR (2024/2025 weights): gate PSNR >= 26.90; score 0.7·exp(2·runtime/R0) +
# 0.15·exp(2·FLOPs/F0) + 0.15·exp(2·params/P0), lower first. Baseline constants chosen round here.
R0, F0, P0 = 0.02, 20e9, 0.25e6
ESR = {
    "leaderboards": [
        {
            "slug": "main",
            "title": "Main",
            "score": f"0.7*exp(2*runtime/{R0}) + 0.15*exp(2*flops/{F0}) + 0.15*exp(2*params/{P0})",
            "order": "lower_first",
            "gate": "psnr >= 26.90",
        },
        {
            "slug": "runtime",
            "title": "Runtime",
            "score": f"exp(2*runtime/{R0})",
            "order": "lower_first",
            "gate": "psnr >= 26.90",
        },
        {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr"]},
    ]
}


def model(psnr: float, runtime: float, flops: float, params: float, reference: bool = False) -> Entry:
    return Entry(
        {"psnr": psnr}, {"runtime": runtime, "flops": flops, "params": params}, is_reference=reference
    )


def ordered(ranking, entries_names):
    return [(entries_names[p.index], p.rank) for p in ranking.placements]


def test_the_ntire_efficient_sr_rule_on_hand_computed_entries():
    entries = [
        model(26.95, R0, F0 / 4, P0 / 4),  # a: 0.7e^2 + 0.3e^0.5 = 5.6670
        model(27.10, R0 / 2, F0 / 2, P0 / 2),  # b: e^1 = 2.7183
        model(26.80, R0 / 10, F0 / 10, P0 / 10),  # c: fastest, but gated out
        model(26.90, R0 / 2, F0 / 2, P0 / 2),  # d: exactly on the gate, same score as b: tie
    ]
    boards = parse_ranking(ESR, scored=["psnr"])
    main = rank_boards(boards, entries)["main"]
    names = "abcd"
    assert ordered(main, names) == [("b", 1), ("d", 1), ("a", 3), ("c", None)]
    by = main.by_index
    assert by[1].score == pytest.approx(math.e)
    assert by[0].score == pytest.approx(0.7 * math.exp(2) + 0.3 * math.exp(0.5))
    assert by[2].gated_out and by[2].reason == "gate not met: psnr >= 26.90 (psnr = 26.8)"
    assert by[0].inputs == {"runtime": R0, "flops": F0 / 4, "params": P0 / 4, "psnr": 26.95}
    # The runtime sub-track uses the runtime sub-score alone: a (e^2) is last of the ranked.
    assert ordered(rank_boards(boards, entries)["runtime"], names) == [
        ("b", 1),
        ("d", 1),
        ("a", 3),
        ("c", None),
    ]
    # The fidelity board has no gate: c is ranked there.
    assert ordered(rank_boards(boards, entries)["fidelity"], names) == [
        ("b", 1),
        ("a", 2),
        ("d", 3),
        ("c", 4),
    ]


def test_an_image_submission_without_measurements_is_unranked_on_the_efficiency_board_with_the_reason():
    entries = [model(27.0, R0, F0, P0), Entry({"psnr": 30.0})]
    main = rank_boards(parse_ranking(ESR, scored=["psnr"]), entries)["main"]
    assert [p.rank for p in main.placements] == [1, None]
    assert main.placements[1].reason == "runtime not measured; flops not measured; params not measured"
    assert not main.placements[1].gated_out


def test_the_image_sr_restoration_and_perceptual_boards_on_hand_computed_means():
    data = {
        "leaderboards": [
            {"slug": "restoration", "title": "Restoration", "metrics": ["psnr"]},
            {
                "slug": "perceptual",
                "title": "Perceptual",
                "score": "(1 - lpips) + (1 - dists)",
                "order": "higher_first",
            },
            {
                "slug": "overall",
                "title": "Overall",
                "combine": {"leaderboards": ["restoration", "perceptual"], "by": "best_rank_then_mean"},
            },
        ]
    }
    entries = [
        Entry({"psnr": 31.0, "lpips": 0.30, "dists": 0.20}),  # a: perceptual 1.50
        Entry({"psnr": 30.0, "lpips": 0.10, "dists": 0.10}),  # b: 1.80
        Entry({"psnr": 29.0, "lpips": 0.20, "dists": 0.15}),  # c: 1.65
        Entry({"psnr": 28.0, "lpips": 0.05, "dists": 0.05}),  # d: 1.90
    ]
    result = rank_boards(parse_ranking(data, scored=["psnr", "lpips", "dists"]), entries)
    assert ordered(result["restoration"], "abcd") == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
    assert ordered(result["perceptual"], "abcd") == [("d", 1), ("b", 2), ("c", 3), ("a", 4)]
    assert result["perceptual"].by_index[3].score == pytest.approx(1.90)
    # Best rank, then mean: a (1; 2.5), d (1; 2.5) tie; b (2; 2); c (3; 3).
    overall = result["overall"]
    assert ordered(overall, "abcd") == [("a", 1), ("d", 1), ("b", 3), ("c", 4)]
    assert overall.by_index[1].ranks == {"restoration": 2, "perceptual": 2}


def test_mean_rank_combination_orders_by_the_mean_alone():
    data = {
        "leaderboards": [
            {"slug": "p", "title": "P", "metrics": ["psnr"]},
            {"slug": "s", "title": "S", "metrics": ["ssim"]},
            {"slug": "all", "title": "All", "combine": {"leaderboards": ["p", "s"], "by": "mean_rank"}},
        ]
    }
    entries = [
        Entry({"psnr": 30, "ssim": 0.5}),
        Entry({"psnr": 29, "ssim": 0.9}),
        Entry({"psnr": 28, "ssim": 0.8}),
    ]
    # ranks: a (1, 3) mean 2; b (2, 1) mean 1.5; c (3, 2) mean 2.5.
    result = rank_boards(parse_ranking(data, scored=["psnr", "ssim"]), entries)["all"]
    assert ordered(result, "abc") == [("b", 1), ("a", 2), ("c", 3)]
    assert [p.score for p in result.placements] == [1.5, 2.0, 2.5]


def test_an_entry_gated_out_of_one_board_is_unranked_on_the_combined_board_with_the_reason():
    data = {
        "leaderboards": [
            {"slug": "p", "title": "P", "metrics": ["psnr"], "gate": "ssim > 0.6"},
            {"slug": "s", "title": "S", "metrics": ["ssim"]},
            {"slug": "all", "title": "All", "combine": {"leaderboards": ["p", "s"]}},
        ]
    }
    entries = [Entry({"psnr": 30, "ssim": 0.5}), Entry({"psnr": 29, "ssim": 0.9})]
    result = rank_boards(parse_ranking(data, scored=["psnr", "ssim"]), entries)
    assert [p.rank for p in result["all"].placements] == [1, None]
    assert result["all"].placements[1].reason.startswith("not ranked on p: gate not met: ssim > 0.6")


def test_per_image_then_mean_and_mean_then_formula_can_disagree_and_each_is_applied():
    # Entry a: lpips 0.0 and 1.0 on two images; entry b: 0.55 on both.
    # Means first: exp(0.5) = 1.649 (a) < exp(0.55) = 1.733 (b): a first.
    # Per image: (e^0 + e^1)/2 = 1.859 (a) > 1.733 (b): b first.
    entries = [
        Entry({"lpips": 0.5}, per_image=[{"lpips": 0.0}, {"lpips": 1.0}]),
        Entry({"lpips": 0.55}, per_image=[{"lpips": 0.55}, {"lpips": 0.55}]),
    ]
    base = {"slug": "m", "title": "M", "score": "exp(lpips)", "order": "lower_first"}
    on_means = rank_boards(parse_ranking({"leaderboards": [base]}, scored=["lpips"]), entries)["m"]
    per_image = rank_boards(
        parse_ranking({"leaderboards": [{**base, "per_image": True}]}, scored=["lpips"]), entries
    )["m"]
    assert [p.index for p in on_means.placements] == [0, 1]
    assert on_means.placements[0].score == pytest.approx(math.exp(0.5))
    assert [p.index for p in per_image.placements] == [1, 0]
    assert per_image.by_index[0].score == pytest.approx((1 + math.e) / 2)


def test_a_per_image_board_leaves_an_entry_without_per_image_scores_unranked():
    board = {"slug": "m", "title": "M", "score": "1 - lpips", "order": "higher_first", "per_image": True}
    result = rank_boards(parse_ranking({"leaderboards": [board]}, scored=["lpips"]), [Entry({"lpips": 0.2})])[
        "m"
    ]
    assert result.placements[0].rank is None and result.placements[0].reason == "no per-image scores"


def test_an_undefined_score_leaves_the_entry_unranked_instead_of_failing_the_board():
    board = {"slug": "m", "title": "M", "score": "1 / runtime", "order": "higher_first"}
    entries = [Entry({}, {"runtime": 0.0}), Entry({}, {"runtime": 0.5})]
    result = rank_boards(parse_ranking({"leaderboards": [board]}, scored=["psnr"]), entries)["m"]
    assert [(p.index, p.rank) for p in result.placements] == [(1, 1), (0, None)]
    assert result.placements[1].reason == "score undefined: division by zero"


def test_references_take_no_rank_and_stand_before_the_first_entry_they_beat_on_every_board():
    data = {
        "leaderboards": [
            {"slug": "f", "title": "F", "score": "psnr + 10*ssim", "order": "higher_first"},
            {"slug": "p", "title": "P", "metrics": ["psnr"]},
            {"slug": "mr", "title": "MR", "method": "mean_rank", "metrics": ["psnr", "ssim"]},
            {"slug": "all", "title": "All", "combine": {"leaderboards": ["f", "p"]}},
        ]
    }
    entries = [
        Entry({"psnr": 30.0, "ssim": 0.90}),  # a: f 39.0
        Entry({"psnr": 28.0, "ssim": 0.80}),  # b: f 36.0
        Entry({"psnr": 29.0, "ssim": 0.85}, is_reference=True),  # ref: f 37.5, between a and b everywhere
    ]
    result = rank_boards(parse_ranking(data, scored=["psnr", "ssim"]), entries)
    for slug in ("f", "p", "mr", "all"):
        assert [(p.index, p.rank) for p in result[slug].placements] == [(0, 1), (2, None), (1, 2)], slug
    assert result["all"].by_index[2].ranks == {"f": 2, "p": 2}  # the ranks it would take


def test_mean_rank_metric_board_matches_the_rule_of_the_perceptual_tracks():
    board = {"slug": "m", "title": "M", "method": "mean_rank", "metrics": ["lpips", "psnr"]}
    entries = [
        Entry({"lpips": 0.1, "psnr": 25}),
        Entry({"lpips": 0.3, "psnr": 30}),
        Entry({"lpips": 0.2, "psnr": 28}),
    ]
    # lpips ranks 1, 3, 2; psnr ranks 3, 1, 2; means 2, 2, 2: all tie, broken by lpips (the first).
    result = rank_boards(parse_ranking({"leaderboards": [board]}, scored=["lpips", "psnr"]), entries)["m"]
    assert [(p.index, p.rank, p.score) for p in result.placements] == [(0, 1, 2.0), (2, 2, 2.0), (1, 3, 2.0)]


def test_entries_missing_a_ranked_metric_come_last_with_the_reason():
    board = {"slug": "m", "title": "M", "metrics": ["psnr", "ssim"]}
    entries = [Entry({"psnr": 30.0}), Entry({"psnr": "inf", "ssim": 1.0}), Entry(None)]
    result = rank_boards(parse_ranking({"leaderboards": [board]}, scored=["psnr", "ssim"]), entries)["m"]
    assert [(p.index, p.rank, p.reason) for p in result.placements] == [
        (1, 1, None),
        (0, None, "no ssim score"),
        (2, None, "no psnr score; no ssim score"),
    ]


def test_a_combined_board_uses_the_ranks_each_board_shows():
    data = {
        "leaderboards": [
            {"slug": "p", "title": "P", "metrics": ["psnr"]},
            {"slug": "s", "title": "S", "metrics": ["ssim"], "gate": "ssim > 0.2"},
            {"slug": "all", "title": "All", "combine": {"leaderboards": ["p", "s"]}},
        ]
    }
    # x leads p but is gated out of s; y and z keep the ranks p shows (2 and 3), not 1 and 2.
    entries = [
        Entry({"psnr": 40, "ssim": 0.1}),
        Entry({"psnr": 35, "ssim": 0.9}),
        Entry({"psnr": 24, "ssim": 0.5}),
    ]
    result = rank_boards(parse_ranking(data, scored=["psnr", "ssim"]), entries)
    assert [p.rank for p in result["p"].placements] == [1, 2, 3]
    all_ = result["all"]
    assert all_.by_index[1].ranks == {"p": 2, "s": 1} and all_.by_index[1].score == 1.5
    assert all_.by_index[2].ranks == {"p": 3, "s": 2} and all_.by_index[2].score == 2.5
    assert all_.by_index[0].reason.startswith("not ranked on s: gate not met: ssim > 0.2")
