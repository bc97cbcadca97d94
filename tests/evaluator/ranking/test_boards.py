"""Validating a track's leaderboards: the issue's spelling, the single-board form, and every refusal."""

import pytest

from evaluator.ranking import (
    CombinedBoard,
    FormulaBoard,
    MetricsBoard,
    RankingConfigError,
    boards_from_data,
    boards_to_data,
    parse_ranking,
)

ISSUE_EXAMPLE = {
    "leaderboards": [
        {
            "slug": "main",
            "title": "Main",
            "score": "0.7*exp(2*runtime/0.0218) + 0.15*exp(2*flops/16.70e9) + 0.15*exp(2*params/0.276e6)",
            "order": "lower_first",
            "gate": "psnr >= 26.90",
            "per_image": False,
        },
        {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr", "ssim"]},
        {
            "slug": "overall",
            "title": "Overall",
            "combine": {"leaderboards": ["main", "fidelity"], "by": "mean_rank"},
        },
    ]
}


def problems(data, scored=("psnr", "ssim")) -> list[tuple[tuple, str]]:
    with pytest.raises(RankingConfigError) as caught:
        parse_ranking(data, scored=list(scored))
    return [(p.path, p.message) for p in caught.value.problems]


def test_the_issue_example_reads_as_three_boards():
    main, fidelity, overall = parse_ranking(ISSUE_EXAMPLE, scored=["psnr", "ssim"])
    assert isinstance(main, FormulaBoard) and main.order == "lower_first" and not main.per_image
    assert main.score.names == ("runtime", "flops", "params") and main.gate.names == ("psnr",)
    assert isinstance(fidelity, MetricsBoard)
    assert [(m.metric, m.higher_is_better) for m in fidelity.rule.metrics] == [("psnr", True), ("ssim", True)]
    assert isinstance(overall, CombinedBoard) and overall.leaderboards == ("main", "fidelity")


def test_metric_directions_come_from_the_evaluator_registry():
    from evaluator.metrics import metric_info

    (board,) = parse_ranking({"metrics": ["lpips", "dists", "psnr"]}, scored=["psnr", "lpips", "dists"])
    for order in board.rule.metrics:
        assert order.higher_is_better is metric_info(order.metric).higher_is_better


def test_the_single_board_form_is_one_board_named_main():
    (board,) = parse_ranking({"method": "mean_rank", "metrics": ["psnr", "ssim"]}, scored=["psnr", "ssim"])
    assert board.slug == "main" and board.rule.method == "mean_rank"


def test_no_ranking_ranks_by_the_scored_metrics_primary_first():
    (board,) = parse_ranking(None, scored=["psnr", "ssim", "lpips"], primary="lpips")
    assert [m.metric for m in board.rule.metrics] == ["lpips", "psnr", "ssim"]


def test_the_stored_form_reads_back_to_the_same_boards():
    boards = parse_ranking(ISSUE_EXAMPLE, scored=["psnr", "ssim"])
    again = boards_from_data(boards_to_data(boards))
    assert boards_to_data(again) == boards_to_data(boards)
    assert again[0].score == boards[0].score


def test_a_misspelt_metric_in_a_formula_is_refused_with_its_position():
    data = {"leaderboards": [{"slug": "m", "title": "M", "score": "psnr + 10*sim", "order": "higher_first"}]}
    ((path, message),) = problems(data)
    assert path == ("leaderboards", 0, "score")
    assert "at position 11:" in message and "unknown name 'sim'" in message and "runtime" in message


def test_a_registry_metric_the_track_does_not_score_is_refused_as_such():
    data = {"leaderboards": [{"slug": "m", "title": "M", "score": "1 - lpips", "order": "higher_first"}]}
    ((path, message),) = problems(data)
    assert "'lpips' is a metric this track does not score" in message


def test_constant_division_by_zero_in_a_gate_is_refused():
    data = {"leaderboards": [{"slug": "m", "title": "M", "metrics": ["psnr"], "gate": "psnr >= 26.9/0"}]}
    ((path, message),) = problems(data)
    assert path == ("leaderboards", 0, "gate") and "division by zero" in message


@pytest.mark.parametrize(
    ("board", "path", "fragment"),
    [
        (
            {"slug": "m", "title": "M", "score": "psnr"},
            ("leaderboards", 0, "order"),
            "lower_first, higher_first",
        ),
        (
            {"slug": "m", "title": "M", "score": "psnr", "order": "up"},
            ("leaderboards", 0, "order"),
            "got 'up'",
        ),
        (
            {"slug": "m", "title": "M", "score": "psnr", "order": "lower_first", "per_image": "yes"},
            ("leaderboards", 0, "per_image"),
            "true or false",
        ),
        (
            {"slug": "m", "title": "M", "score": 3, "order": "lower_first"},
            ("leaderboards", 0, "score"),
            "written as text",
        ),
        (
            {"slug": "m", "title": "M", "score": "psnr", "metrics": ["psnr"]},
            ("leaderboards", 0),
            "exactly one of",
        ),
        ({"slug": "m", "title": "M"}, ("leaderboards", 0), "exactly one of"),
        ({"slug": "m m", "title": "M", "metrics": ["psnr"]}, ("leaderboards", 0, "slug"), "not a slug"),
        ({"title": "M", "metrics": ["psnr"]}, ("leaderboards", 0, "slug"), "non-empty text"),
        ({"slug": "m", "metrics": ["psnr"]}, ("leaderboards", 0, "title"), "non-empty text"),
        (
            {"slug": "m", "title": "M", "metrics": ["psnr"], "order": "lower_first"},
            ("leaderboards", 0, "order"),
            "unknown field",
        ),
        (
            {"slug": "m", "title": "M", "metrics": ["lpips"]},
            ("leaderboards", 0, "metrics", 0),
            "does not score",
        ),
        (
            {"slug": "m", "title": "M", "metrics": ["psnr"], "method": "median"},
            ("leaderboards", 0, "method"),
            "not one of",
        ),
        ({"slug": "m", "title": "M", "metrics": "psnr"}, ("leaderboards", 0, "metrics"), "non-empty list"),
        (
            {"slug": "m", "title": "M", "score": "psnr >= 1", "order": "lower_first"},
            ("leaderboards", 0, "score"),
            "must be a number",
        ),
        (
            {"slug": "m", "title": "M", "metrics": ["psnr"], "gate": "psnr"},
            ("leaderboards", 0, "gate"),
            "must be a condition",
        ),
        ("main", ("leaderboards", 0), "must be a mapping"),
    ],
)
def test_each_bad_board_is_reported_at_its_field(board, path, fragment):
    found = problems({"leaderboards": [board]})
    assert any(p == path and fragment in m for p, m in found), found


def test_a_combined_board_may_only_name_boards_defined_above_it():
    data = {
        "leaderboards": [
            {"slug": "a", "title": "A", "metrics": ["psnr"]},
            {
                "slug": "both",
                "title": "Both",
                "combine": {"leaderboards": ["a", "b"], "by": "best_rank_then_mean"},
            },
            {"slug": "b", "title": "B", "metrics": ["ssim"]},
        ]
    }
    ((path, message),) = problems(data)
    assert (
        path == ("leaderboards", 1, "combine", "leaderboards", 1)
        and "'b' is not a leaderboard defined above" in message
    )


@pytest.mark.parametrize(
    ("combine", "path", "fragment"),
    [
        ({"leaderboards": ["a"]}, ("combine", "leaderboards"), "at least two"),
        ({"leaderboards": ["a", "a"]}, ("combine", "leaderboards"), "twice"),
        ({"leaderboards": ["a", "c"], "by": "median"}, ("combine", "by"), "mean_rank, best_rank_then_mean"),
        ({"leaderboards": ["a", "c"], "weights": [1, 2]}, ("combine", "weights"), "unknown field"),
        ("a,c", ("combine",), "must be a mapping"),
    ],
)
def test_bad_combinations_are_refused(combine, path, fragment):
    data = {
        "leaderboards": [
            {"slug": "a", "title": "A", "metrics": ["psnr"]},
            {"slug": "c", "title": "C", "metrics": ["ssim"]},
            {"slug": "both", "title": "Both", "combine": combine},
        ]
    }
    found = problems(data)
    assert any(p == ("leaderboards", 2, *path) and fragment in m for p, m in found), found


def test_two_boards_with_one_slug_and_mixed_forms_are_refused():
    data = {
        "method": "metric",
        "leaderboards": [
            {"slug": "a", "title": "A", "metrics": ["psnr"]},
            {"slug": "a", "title": "B", "metrics": ["ssim"]},
        ],
    }
    found = problems(data)
    assert (("method",), "a ranking with leaderboards takes no other field (put it in a board)") in found
    assert (("leaderboards", 1, "slug"), "'a' names two leaderboards") in found


def test_every_problem_is_reported_not_only_the_first():
    data = {
        "leaderboards": [
            {"slug": "a", "title": "A", "score": "psnrr", "order": "down"},
            {"slug": "b", "title": "B", "metrics": ["lpips"]},
        ]
    }
    assert len(problems(data)) == 3


def test_an_empty_or_oversized_list_of_boards_is_refused():
    assert problems({"leaderboards": []})[0][0] == ("leaderboards",)
    many = [{"slug": f"b{i}", "title": "B", "metrics": ["psnr"]} for i in range(21)]
    assert "1 to 20" in problems({"leaderboards": many})[0][1]


def test_reading_stored_boards_does_not_load_the_metric_registry(tmp_path):
    # The web process reads a track's boards on every cold leaderboard; the registry imports torch.
    import json
    import subprocess
    import sys
    from pathlib import Path

    stored = boards_to_data(parse_ranking(ISSUE_EXAMPLE, scored=["psnr", "ssim"]))
    code = (
        "import json, sys; from evaluator.ranking import boards_from_data; "
        f"boards_from_data(json.loads({json.dumps(json.dumps(stored))})); "
        "print('torch' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
