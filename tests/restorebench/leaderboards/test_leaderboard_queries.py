"""The leaderboard's cold path on PostgreSQL: a fixed, small number of queries whatever the number of
teams and submissions, the same choice of representatives as the rule says (non-finite scores as the
evaluator writes them included), and references picked in the same statement."""

import pytest
from django.core.cache import cache
from rb_test_helpers import scored_submission
from restorebench.leaderboards.selectors import leaderboard_compute, leaderboard_for_viewer
from restorebench.submissions.services import submission_choose

pytestmark = pytest.mark.django_db


def _summary(board):
    return [(row.rank, row.team_name or f"ref:{row.method_name}", row.submission_id) for row in board.rows]


@pytest.fixture
def arena(make_arena):
    return make_arena(images=1)


def test_a_cold_leaderboard_costs_two_queries_whatever_its_size(
    arena, make_participant, django_assert_num_queries
):
    for n in range(12):
        _, team = make_participant(arena)
        for k in range(3):
            scored_submission(arena.phase, team, {"psnr": 20.0 + n + k / 10, "ssim": 0.5})
    for name in ("bicubic", "identity"):
        scored_submission(arena.phase, None, {"psnr": 25.0, "ssim": 0.5}, method_name=name)
    cache.clear()
    with django_assert_num_queries(2):  # the cache key, then teams and references in one statement
        board = leaderboard_compute(phase=arena.phase)
    assert len(board.rows) == 14 and [r.rank for r in board.rows if not r.is_reference] == list(range(1, 13))
    with django_assert_num_queries(1):  # warm: the cache key only
        leaderboard_compute(phase=arena.phase)


def test_a_nan_score_never_hides_a_teams_valid_submission(arena, make_participant):
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": "nan", "ssim": 0.9})
    valid = scored_submission(arena.phase, a, {"psnr": 24.0, "ssim": 0.6})
    other = scored_submission(arena.phase, b, {"psnr": 23.0, "ssim": 0.6})
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, a.name, valid.pk), (2, b.name, other.pk)]


def test_an_infinite_psnr_is_a_teams_best_and_minus_infinity_its_worst(arena, make_participant):
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": 30.0, "ssim": 0.9})
    perfect = scored_submission(arena.phase, a, {"psnr": "inf", "ssim": 1.0})
    fine = scored_submission(arena.phase, b, {"psnr": 20.0, "ssim": 0.6})
    scored_submission(arena.phase, b, {"psnr": "-inf", "ssim": 0.0})
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, a.name, perfect.pk), (2, b.name, fine.pk)]


def test_ties_go_to_the_secondary_metric_then_the_earliest_submission(arena, make_participant):
    _, a = make_participant(arena)
    first = scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.7})
    scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.7})
    scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.6})
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, a.name, first.pk)]


def test_a_chosen_submission_and_the_latest_reference_come_from_the_one_statement(arena, make_participant):
    user, a = make_participant(arena)
    chosen = scored_submission(arena.phase, a, {"psnr": 21.0, "ssim": 0.5})
    scored_submission(arena.phase, a, {"psnr": 29.0, "ssim": 0.9})
    scored_submission(arena.phase, None, {"psnr": 30.0, "ssim": 0.9}, method_name="bm3d")
    newest = scored_submission(arena.phase, None, {"psnr": 26.0, "ssim": 0.8}, method_name="bm3d")
    submission_choose(submission=chosen, user=user)
    assert _summary(leaderboard_compute(phase=arena.phase)) == [
        (None, "ref:bm3d", newest.pk),
        (1, a.name, chosen.pk),
    ]


def test_an_anonymous_viewer_gets_rows_without_the_identical_flag(arena, make_participant):
    from django.contrib.auth.models import AnonymousUser

    _, a = make_participant(arena)
    _, b = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.5}, fingerprint="same")
    scored_submission(arena.phase, b, {"psnr": 24.0, "ssim": 0.5}, fingerprint="same")
    assert all(row.flagged_identical for row in leaderboard_compute(phase=arena.phase).rows)
    board = leaderboard_for_viewer(phase=arena.phase, user=AnonymousUser())
    assert [row.flagged_identical for row in board.rows] == [False, False]
    assert all(row.flagged_identical for row in leaderboard_compute(phase=arena.phase).rows)
