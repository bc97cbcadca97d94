"""A final phase's hidden results: participants see nothing before the reveal, the frozen ranking
after it (with the rule, its version, the evaluator's records and every formula input); a later
rescore changes only the live ranking, and organizers see the difference."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rb_test_helpers import scored_submission
from rest_framework.test import APIClient
from restorebench.challenges.models import AuditLogEntry
from restorebench.challenges.services import phase_update, track_update
from restorebench.leaderboards.models import LeaderboardReveal
from restorebench.leaderboards.services import phase_reveal

pytestmark = pytest.mark.django_db

RANKING = {
    "leaderboards": [
        {
            "slug": "main",
            "title": "Main",
            "score": "psnr + 10*ssim",
            "order": "higher_first",
            "gate": "psnr > 20",
        },
        {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr"]},
    ]
}


@pytest.fixture
def final(make_arena, make_participant):
    arena = make_arena(images=1)
    track_update(track=arena.track, actor=arena.organizer, ranking=RANKING)
    phase_update(phase=arena.phase, actor=arena.organizer, results_hidden=True)
    user, team = make_participant(arena)
    _, other = make_participant(arena)
    mine = scored_submission(arena.phase, team, {"psnr": 30.0, "ssim": 0.9})  # 39.0
    theirs = scored_submission(arena.phase, other, {"psnr": 29.0, "ssim": 0.95})  # 38.5
    return arena, user, mine, theirs


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def rows(client, phase, board="main"):
    return client.get(f"/api/phases/{phase.pk}/leaderboards/{board}/").json()


def test_participants_see_nothing_before_the_reveal_and_organizers_see_it_all(final):
    arena, user, mine, theirs = final
    seen = rows(client_for(user), arena.phase)
    assert seen["rows"] == [] and seen["hidden_until"] == ""
    assert rows(APIClient(), arena.phase, "fidelity")["rows"] == []
    organizer = rows(client_for(arena.organizer), arena.phase)
    assert [(r["rank"], r["submission_id"]) for r in organizer["rows"]] == [(1, mine.pk), (2, theirs.pk)]
    page = client_for(user).get(f"/api/phases/{arena.phase.pk}/leaderboard.csv").content.decode()
    assert page.count("\n") == 1  # the header only


def test_the_reveal_freezes_the_ranking_with_rule_version_records_and_formula_inputs(final):
    arena, user, mine, theirs = final
    response = client_for(arena.organizer).post(f"/api/phases/{arena.phase.pk}/reveal/")
    assert response.status_code == 201
    reveal = LeaderboardReveal.objects.get(phase=arena.phase)
    assert reveal.rule["leaderboards"] == arena.track.leaderboards and len(reveal.rule_version) == 64
    assert {tuple(r["submissions"]) for r in reveal.evaluator_records} == {(mine.pk, theirs.pk)}
    frozen = reveal.boards["main"]["rows"]
    assert frozen[0]["inputs"] == {"psnr": 30.0, "ssim": 0.9} and frozen[0]["score"] == pytest.approx(39.0)
    seen = rows(client_for(user), arena.phase)
    assert [(r["rank"], r["submission_id"]) for r in seen["rows"]] == [(1, mine.pk), (2, theirs.pk)]
    assert seen["frozen_at"] == reveal.revealed_at.isoformat() and seen["hidden_until"] is None
    assert AuditLogEntry.objects.filter(challenge=arena.challenge, action="phase.reveal").count() == 1
    with pytest.raises(ValidationError, match="a reveal is final"):
        phase_reveal(phase=arena.phase, actor=arena.organizer)


def test_a_rescore_after_the_reveal_changes_only_the_live_ranking_and_shows_a_diff(final):
    arena, user, mine, theirs = final
    phase_reveal(phase=arena.phase, actor=arena.organizer)
    theirs.scores = {"psnr": 31.0, "ssim": 0.95}  # a metric fix: 40.5, now first
    theirs.save()
    seen = rows(client_for(user), arena.phase)
    assert [(r["rank"], r["submission_id"]) for r in seen["rows"]] == [(1, mine.pk), (2, theirs.pk)]
    diff = client_for(arena.organizer).get(f"/api/phases/{arena.phase.pk}/reveal/").json()
    assert diff["live_differs"] is True
    changed = {c["submission_id"]: c for c in diff["changes"]["main"]["rows"]}
    assert (changed[theirs.pk]["rank_before"], changed[theirs.pk]["rank_after"]) == (2, 1)
    assert changed[theirs.pk]["score_after"] == pytest.approx(40.5)
    assert changed[theirs.pk]["scores"]["psnr"] == {"before": 29.0, "after": 31.0}


def test_the_results_reveal_themselves_at_the_reveal_time(final):
    arena, user, mine, _ = final
    phase_update(phase=arena.phase, actor=arena.organizer, reveal_at=timezone.now() + dt.timedelta(hours=1))
    assert rows(client_for(user), arena.phase)["rows"] == []
    assert not LeaderboardReveal.objects.filter(phase=arena.phase).exists()
    phase_update(phase=arena.phase, actor=arena.organizer, reveal_at=timezone.now() - dt.timedelta(seconds=1))
    seen = rows(client_for(user), arena.phase)
    assert seen["rows"][0]["submission_id"] == mine.pk and seen["frozen_at"]
    assert LeaderboardReveal.objects.get(phase=arena.phase).revealed_by is None


def test_only_organizers_reveal_or_read_the_reveal(final):
    arena, user, *_ = final
    assert client_for(user).post(f"/api/phases/{arena.phase.pk}/reveal/").status_code == 403
    assert client_for(arena.organizer).get(f"/api/phases/{arena.phase.pk}/reveal/").status_code == 404
