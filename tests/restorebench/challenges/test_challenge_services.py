"""Challenges, tracks and phases: invariants refused with errors naming the field, organizers, and an
audit log that the database itself keeps append-only."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from restorebench.challenges.models import AuditLogEntry, Phase
from restorebench.challenges.selectors import challenge_list, phase_is_open, user_is_organizer
from restorebench.challenges.services import (
    challenge_create,
    challenge_organizer_add,
    phase_create,
    phase_update,
    track_create,
    track_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def challenge(make_user):
    return challenge_create(slug="ntire-like", title="NTIRE-like", created_by=make_user("boss"))


def _track(challenge, **overrides):
    fields = dict(challenge=challenge, slug="sr4", title="SR x4", task="sr", ranking_metrics=["psnr"])
    return track_create(**(fields | overrides))


def test_the_creator_organizes_the_challenge_and_can_add_organizers(challenge, make_user):
    boss = challenge.created_by
    helper = make_user()
    assert user_is_organizer(user=boss, challenge=challenge) and not user_is_organizer(
        user=helper, challenge=challenge
    )
    challenge_organizer_add(challenge=challenge, user=helper, actor=boss)
    assert user_is_organizer(user=helper, challenge=challenge)
    assert AuditLogEntry.objects.filter(challenge=challenge, action="organizer.add", actor=boss).exists()


def test_a_duplicate_slug_is_refused_naming_the_field(challenge):
    with pytest.raises(ValidationError) as error:
        challenge_create(slug="ntire-like", title="again", created_by=None)
    assert "slug" in error.value.message_dict


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"task": "colorize"}, "task", "not one of"),
        ({"compute": "tpu"}, "compute", "not one of"),
        ({"ranking_method": "best"}, "ranking_method", "not one of"),
        ({"ranking_metrics": []}, "ranking_metrics", "non-empty"),
        (
            {"ranking_metrics": ["psnr"], "scoring_spec": {"metrics": ["ssim"], "ranking_metric": "ssim"}},
            "ranking_metrics",
            "does not score",
        ),
        ({"scoring_spec": ["psnr"]}, "scoring_spec", "JSON object"),
        ({"scoring_spec": {"metrics": ["ssim"]}}, "scoring_spec", "'psnr' is not among spec.metrics"),
        ({"degradation_spec": {"sigma": 25}}, "degradation_spec", "sr needs a scale"),
    ],
)
def test_a_bad_track_is_refused_naming_the_field(challenge, overrides, field, message):
    with pytest.raises(ValidationError) as error:
        _track(challenge, **overrides)
    assert field in error.value.message_dict and message in str(error.value.message_dict[field])


def test_ranking_directions_are_filled_in_and_stored(challenge):
    track = _track(challenge, ranking_method="mean_rank", ranking_metrics=["psnr", {"metric": "lpips"}])
    assert track.ranking_metrics == [
        {"metric": "psnr", "higher_is_better": True},
        {"metric": "lpips", "higher_is_better": False},
    ]


def test_a_phase_must_end_after_it_starts_and_use_aware_times(challenge):
    track = _track(challenge)
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        phase_create(track=track, slug="dev", title="Dev", starts_at=now, ends_at=now - dt.timedelta(hours=1))
    assert "ends_at" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        phase_create(track=track, slug="dev", title="Dev", starts_at=dt.datetime(2030, 1, 1), ends_at=now)
    assert "starts_at" in error.value.message_dict


def test_the_database_refuses_a_phase_that_ends_before_it_starts(challenge):
    track = _track(challenge)
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Phase.objects.create(track=track, slug="x", title="x", starts_at=now, ends_at=now)


def test_expected_image_names_must_be_plain_and_unique(challenge):
    track = _track(challenge)
    now = timezone.now()
    for names in (["a.png", "A.PNG"], ["dir/a.png"]):
        with pytest.raises(ValidationError) as error:
            phase_create(track=track, slug="d", title="d", starts_at=now, ends_at=now + dt.timedelta(1),
                         expected_images=names)  # fmt: skip
        assert "expected_images" in error.value.message_dict


def test_phase_changes_to_limits_and_visibility_are_audited_with_before_and_after(challenge):
    track = _track(challenge)
    now = timezone.now()
    phase = phase_create(
        track=track, slug="test", title="Test", starts_at=now, ends_at=now + dt.timedelta(days=7)
    )
    phase_update(
        phase=phase, actor=challenge.created_by, max_submissions_total=3, leaderboard_public=False, title="T"
    )
    entry = AuditLogEntry.objects.get(action="phase.update")
    assert entry.details == {
        "max_submissions_total": {"from": None, "to": 3},
        "leaderboard_public": {"from": True, "to": False},
    }
    assert phase_is_open(phase=phase, now=now) and not phase_is_open(
        phase=phase, now=now + dt.timedelta(days=8)
    )


def test_track_scoring_changes_are_audited(challenge):
    track = _track(challenge)
    track_update(track=track, actor=challenge.created_by, scoring_spec={"metrics": ["psnr"], "shave": 4})
    entry = AuditLogEntry.objects.get(action="track.update")
    assert entry.details["scoring_spec"] == {"from": {}, "to": {"metrics": ["psnr"], "shave": 4}}


def test_the_audit_log_refuses_updates_and_deletes_even_from_raw_queries(challenge):
    entry = AuditLogEntry.objects.filter(challenge=challenge).first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLogEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    assert AuditLogEntry.objects.get(pk=entry.pk).action == "challenge.create"


def test_private_challenges_are_listed_only_for_their_organizers(challenge, make_user):
    hidden = challenge_create(slug="secret", title="Secret", created_by=make_user(), is_public=False)
    outsider = make_user()
    assert hidden not in challenge_list(user=outsider)
    assert hidden in challenge_list(user=hidden.created_by)
