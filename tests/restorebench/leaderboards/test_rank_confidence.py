"""Rank confidence on the platform: the API and the page give each ranked row its 95 % rank interval
and mark rows not significantly different from the one above, from the stored per-image scores;
participants of a non-public board see none (their ranks are hidden)."""

import numpy as np
import pytest
from rb_test_helpers import scored_submission
from rest_framework.test import APIClient
from restorebench.submissions.models import EvaluationJob, ImageScore, Submission

from evaluator.ranking.boards import parse_ranking
from evaluator.ranking.confidence import rank_confidence
from evaluator.ranking.rank import Entry

pytestmark = pytest.mark.django_db


def _scored_with_images(phase, team, per_image: dict[str, float], name: str) -> Submission:
    mean = float(np.mean(list(per_image.values())))
    submission = scored_submission(phase, team, {"psnr": mean, "ssim": 0.5}, method_name=name)
    job = EvaluationJob.objects.create(submission=submission, status="done", attempts=1)
    Submission.objects.filter(pk=submission.pk).update(current_job=job)
    ImageScore.objects.bulk_create(
        [ImageScore(job=job, image_name=n, metric=m, value=v if m == "psnr" else 0.5)
         for n, v in per_image.items() for m in ("psnr", "ssim")]
    )  # fmt: skip
    return submission


def test_the_api_and_the_page_give_rank_intervals_equal_to_the_evaluators(
    make_arena, make_participant, client
):
    arena = make_arena(images=1)
    rng = np.random.default_rng(1)
    names = [f"{i:04d}.png" for i in range(30)]
    base = rng.normal(30, 2, len(names))
    offsets = {"far ahead": 3.0, "close one": 0.05, "close two": 0.0}
    tables, made = {}, {}
    for name, offset in offsets.items():
        _, team = make_participant(arena)
        table = {n: float(b + offset + rng.normal(0, 0.3)) for n, b in zip(names, base, strict=True)}
        tables[name] = table
        made[name] = _scored_with_images(arena.phase, team, table, name)
    answer = APIClient().get(f"/api/phases/{arena.phase.pk}/leaderboards/main/confidence/").json()
    assert answer["resamples"] == 1000 and answer["level"] == 0.95
    got = {row["submission_id"]: row for row in answer["rows"]}
    # The same numbers straight from the evaluator, on the same per-image scores and seed.
    order = sorted(offsets, key=lambda n: -np.mean(list(tables[n].values())))
    boards = parse_ranking({"method": "metric", "metrics": ["psnr", "ssim"]}, scored=["psnr", "ssim"])
    entries = [Entry({"psnr": float(np.mean(list(tables[n].values()))), "ssim": 0.5}) for n in order]
    per_image = [{k: {"psnr": v, "ssim": 0.5} for k, v in tables[n].items()} for n in order]
    expected = rank_confidence(boards, entries, per_image, seed=arena.phase.pk)["main"]
    for i, name in enumerate(order):
        row = got[made[name].pk]
        assert (row["rank"], row["rank_low"], row["rank_high"]) == (
            expected[i].rank,
            expected[i].low,
            expected[i].high,
        )
        assert row["p_vs_above"] == expected[i].p_vs_above
    assert got[made["far ahead"].pk]["rank_low"] == got[made["far ahead"].pk]["rank_high"] == 1
    second = got[made[order[2]].pk]
    assert second["not_significantly_different_from_above"] is True
    page = client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    assert "Rank 95% CI" in page and "≈ above" in page


def test_participants_of_a_non_public_board_get_no_confidence(make_arena, make_participant):
    arena = make_arena(images=1, leaderboard_public=False)
    user, team = make_participant(arena)
    _, other = make_participant(arena)
    _scored_with_images(arena.phase, team, {"a.png": 30.0, "b.png": 31.0}, "mine")
    _scored_with_images(arena.phase, other, {"a.png": 29.0, "b.png": 30.0}, "theirs")
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(f"/api/phases/{arena.phase.pk}/leaderboards/main/confidence/").json()["rows"] == []
    client.force_authenticate(arena.organizer)
    assert len(client.get(f"/api/phases/{arena.phase.pk}/leaderboards/main/confidence/").json()["rows"]) == 2


def test_the_confidence_is_cached_until_the_phase_changes(make_arena, make_participant):
    from restorebench.leaderboards.confidence import confidence_cached

    arena = make_arena(images=1)
    _, first = make_participant(arena)
    _, second = make_participant(arena)
    _scored_with_images(arena.phase, first, {"a.png": 30.0, "b.png": 31.0, "c.png": 32.0}, "one")
    _scored_with_images(arena.phase, second, {"a.png": 29.0, "b.png": 30.5, "c.png": 30.0}, "two")
    url = f"/api/phases/{arena.phase.pk}/leaderboards/main/confidence/"
    assert not confidence_cached(phase=arena.phase)
    before = APIClient().get(url).json()
    assert len(before["rows"]) == 2 and confidence_cached(phase=arena.phase)  # computed once, kept
    # A new scored entry changes the phase: the cached answer no longer applies, and the next one
    # is computed afresh and includes it.
    _, third = make_participant(arena)
    newest = _scored_with_images(arena.phase, third, {"a.png": 35.0, "b.png": 36.0, "c.png": 34.0}, "three")
    assert not confidence_cached(phase=arena.phase)
    after = {row["submission_id"]: row for row in APIClient().get(url).json()["rows"]}
    assert len(after) == 3 and after[newest.pk]["rank"] == 1
