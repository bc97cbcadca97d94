"""Leaderboards: one row per team, ranked by the track's rule, references unranked, and what each kind
of viewer may see; CSV export; identical submissions; what a rescore changed."""

import csv
import io

import pytest
from rb_test_helpers import scored_submission
from restorebench.leaderboards.selectors import (
    identical_submission_groups,
    leaderboard_compute,
    leaderboard_csv_rows,
    leaderboard_for_viewer,
)
from restorebench.submissions.services import submission_choose, submission_disqualify

pytestmark = pytest.mark.django_db


@pytest.fixture
def arena(make_arena):
    return make_arena(images=1)


def _summary(board):
    return [(row.rank, row.team_name or f"ref:{row.method_name}", row.submission_id) for row in board.rows]


def test_each_team_is_represented_by_its_best_submission(arena, make_participant):
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    a_low = scored_submission(arena.phase, a, {"psnr": 27.0, "ssim": 0.80})
    a_high = scored_submission(arena.phase, a, {"psnr": 29.0, "ssim": 0.70})
    b_only = scored_submission(arena.phase, b, {"psnr": 28.0, "ssim": 0.90})
    board = leaderboard_compute(phase=arena.phase)
    assert _summary(board) == [(1, a.name, a_high.pk), (2, b.name, b_only.pk)]
    assert a_low.pk not in {row.submission_id for row in board.rows}


def test_a_chosen_submission_represents_the_team_even_when_not_its_best(arena, make_participant):
    user, a = make_participant(arena)
    _, b = make_participant(arena)
    a_low = scored_submission(arena.phase, a, {"psnr": 27.0, "ssim": 0.80})
    scored_submission(arena.phase, a, {"psnr": 29.0, "ssim": 0.70})
    b_only = scored_submission(arena.phase, b, {"psnr": 28.0, "ssim": 0.90})
    submission_choose(submission=a_low, user=user)
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, b.name, b_only.pk), (2, a.name, a_low.pk)]


def test_references_are_marked_unranked_and_placed_by_score(arena, make_participant):
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    sa = scored_submission(arena.phase, a, {"psnr": 30.0, "ssim": 0.9})
    sb = scored_submission(arena.phase, b, {"psnr": 26.0, "ssim": 0.7})
    bicubic = scored_submission(arena.phase, None, {"psnr": 28.0, "ssim": 0.8}, method_name="bicubic")
    identity = scored_submission(arena.phase, None, {"psnr": 20.0, "ssim": 0.5}, method_name="identity")
    board = leaderboard_compute(phase=arena.phase)
    assert _summary(board) == [
        (1, a.name, sa.pk),
        (None, "ref:bicubic", bicubic.pk),
        (2, b.name, sb.pk),
        (None, "ref:identity", identity.pk),
    ]
    assert [row.is_reference for row in board.rows] == [False, True, False, True]


def test_only_the_latest_entry_of_a_reference_method_is_shown(arena):
    scored_submission(arena.phase, None, {"psnr": 20.0, "ssim": 0.5}, method_name="bicubic")
    newer = scored_submission(arena.phase, None, {"psnr": 21.0, "ssim": 0.5}, method_name="bicubic")
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(None, "ref:bicubic", newer.pk)]


def test_a_disqualified_submission_leaves_the_leaderboard(arena, make_participant):
    _, a = make_participant(arena)
    best = scored_submission(arena.phase, a, {"psnr": 30.0, "ssim": 0.9})
    other = scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.9})
    submission_disqualify(submission=best, actor=arena.organizer, reason="used the test ground truth")
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, a.name, other.pk)]


def test_the_mean_rank_rule_ranks_teams(make_arena, make_participant):
    arena = make_arena(images=1, ranking_method="mean_rank", ranking_metrics=["psnr", "ssim"])
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    _, c = make_participant(arena)
    # psnr ranks a1 b2 c3; ssim ranks a3 b1 c2 -> means a2.0 b1.5 c2.5
    scored_submission(arena.phase, a, {"psnr": 30.0, "ssim": 0.70})
    scored_submission(arena.phase, b, {"psnr": 29.0, "ssim": 0.90})
    scored_submission(arena.phase, c, {"psnr": 28.0, "ssim": 0.80})
    board = leaderboard_compute(phase=arena.phase)
    assert [(r.rank, r.team_name, r.mean_rank) for r in board.rows] == [
        (1, b.name, 1.5),
        (2, a.name, 2.0),
        (3, c.name, 2.5),
    ]


def test_a_hidden_phase_shows_participants_rounded_aggregates_and_organizers_full_precision(
    make_arena, make_participant
):
    arena = make_arena(images=1, hidden_ground_truth=True, score_decimals=2)
    user, a = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": 28.123456, "ssim": 0.876543})
    seen = leaderboard_for_viewer(phase=arena.phase, user=user)
    assert seen.rounded_to == 2
    assert seen.rows[0].scores == {"psnr": 28.12, "ssim": 0.88}
    full = leaderboard_for_viewer(phase=arena.phase, user=arena.organizer)
    assert full.rows[0].scores == {"psnr": 28.123456, "ssim": 0.876543}


def test_a_private_leaderboard_shows_participants_only_their_own_row_without_rank(
    make_arena, make_participant
):
    arena = make_arena(images=1, leaderboard_public=False)
    user, a = make_participant(arena)
    _, b = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.5})
    scored_submission(arena.phase, b, {"psnr": 30.0, "ssim": 0.9})
    scored_submission(arena.phase, None, {"psnr": 20.0, "ssim": 0.4}, method_name="identity")
    seen = leaderboard_for_viewer(phase=arena.phase, user=user)
    assert seen.restricted
    assert [(r.rank, r.team_name or r.method_name) for r in seen.rows] == [(None, a.name), (None, "identity")]
    assert len(leaderboard_for_viewer(phase=arena.phase, user=arena.organizer).rows) == 3


def test_identical_submissions_from_different_teams_are_flagged_to_organizers_only(arena, make_participant):
    user, a = make_participant(arena)
    _, b = make_participant(arena)
    sa = scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.5}, fingerprint="same")
    sb = scored_submission(arena.phase, b, {"psnr": 25.0, "ssim": 0.5}, fingerprint="same")
    groups = identical_submission_groups(phase=arena.phase)
    assert [{s["id"] for s in g["submissions"]} for g in groups] == [{sa.pk, sb.pk}]
    assert all(
        r.flagged_identical for r in leaderboard_for_viewer(phase=arena.phase, user=arena.organizer).rows
    )
    assert not any(r.flagged_identical for r in leaderboard_for_viewer(phase=arena.phase, user=user).rows)


def test_the_same_team_submitting_twice_identically_is_not_flagged(arena, make_participant):
    _, a = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.5}, fingerprint="same")
    scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.5}, fingerprint="same")
    assert identical_submission_groups(phase=arena.phase) == []


def test_csv_export_has_one_line_per_row_with_every_metric(arena, make_participant):
    _, a = make_participant(arena)
    s = scored_submission(arena.phase, a, {"psnr": 25.5, "ssim": 0.5}, method_name="net, v2")
    text = io.StringIO()
    csv.writer(text).writerows(leaderboard_csv_rows(leaderboard_compute(phase=arena.phase)))
    rows = list(csv.reader(io.StringIO(text.getvalue())))
    assert rows[0][:8] == [
        "rank",
        "team",
        "method",
        "reference",
        "submission",
        "submitted_at",
        "psnr",
        "ssim",
    ]
    assert rows[1][:5] == ["1", a.name, "net, v2", "no", str(s.pk)]
    assert (float(rows[1][6]), float(rows[1][7])) == (25.5, 0.5)


def test_a_cached_leaderboard_follows_every_change_to_the_phase(arena, make_participant):
    user, a = make_participant(arena)
    _, b = make_participant(arena)
    low = scored_submission(arena.phase, a, {"psnr": 25.0, "ssim": 0.5})
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, a.name, low.pk)]
    high = scored_submission(arena.phase, a, {"psnr": 27.0, "ssim": 0.5})
    other = scored_submission(arena.phase, b, {"psnr": 26.0, "ssim": 0.5})
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, a.name, high.pk), (2, b.name, other.pk)]
    submission_choose(submission=low, user=user)
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, b.name, other.pk), (2, a.name, low.pk)]
    submission_disqualify(submission=other, actor=arena.organizer, reason="copied")
    assert _summary(leaderboard_compute(phase=arena.phase)) == [(1, a.name, low.pk)]


def test_a_viewer_copy_never_changes_what_organizers_see(make_arena, make_participant):
    arena = make_arena(images=1, hidden_ground_truth=True, score_decimals=0)
    user, a = make_participant(arena)
    scored_submission(arena.phase, a, {"psnr": 25.4, "ssim": 0.6})
    assert leaderboard_for_viewer(phase=arena.phase, user=user).rows[0].scores == {"psnr": 25.0, "ssim": 1.0}
    assert leaderboard_for_viewer(phase=arena.phase, user=arena.organizer).rows[0].scores == {
        "psnr": 25.4,
        "ssim": 0.6,
    }
