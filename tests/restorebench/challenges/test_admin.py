"""The Django admin defines challenges too: its limit changes are audited and bad ranking rules refused."""

import json

import pytest
from django.test import Client
from restorebench.challenges.admin import TrackAdminForm
from restorebench.challenges.models import AuditLogEntry

pytestmark = pytest.mark.django_db


def test_a_phase_limit_changed_in_the_admin_is_audited(make_arena, make_user):
    arena = make_arena(images=1)
    admin = make_user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    phase = arena.phase
    data = {
        "track": phase.track_id, "slug": phase.slug, "title": phase.title, "description": "",
        "starts_at_0": f"{phase.starts_at:%Y-%m-%d}", "starts_at_1": f"{phase.starts_at:%H:%M:%S}",
        "ends_at_0": f"{phase.ends_at:%Y-%m-%d}", "ends_at_1": f"{phase.ends_at:%H:%M:%S}",
        "max_submissions_per_day": "", "max_submissions_total": "7", "leaderboard_public": "on",
        "score_decimals": "4", "max_upload_bytes": str(phase.max_upload_bytes),
        "expected_images": json.dumps(phase.expected_images),
        "order": "0",
    }  # fmt: skip
    response = client.post(f"/admin/challenges/phase/{phase.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditLogEntry.objects.get(action="phase.update")
    assert (entry.actor, entry.details) == (admin, {"max_submissions_total": {"from": None, "to": 7}})


def test_the_admin_track_form_refuses_a_bad_ranking_rule_and_fills_in_directions(make_arena):
    arena = make_arena(images=1)
    track = arena.track
    data = {
        "challenge": track.challenge_id, "slug": track.slug, "title": track.title, "description": "",
        "task": track.task, "degradation_spec": "{}", "scoring_spec": "{}", "ranking_method": "metric",
        "compute": "cpu", "order": "0",
    }  # fmt: skip
    bad = TrackAdminForm(data | {"ranking_metrics": '[{"metric": "clipiqa"}]'}, instance=track)
    assert not bad.is_valid() and "direction of 'clipiqa' unknown" in bad.errors["ranking_metrics"][0]
    good = TrackAdminForm(data | {"ranking_metrics": '["lpips"]'}, instance=track)
    assert good.is_valid(), good.errors
    assert good.cleaned_data["ranking_metrics"] == [{"metric": "lpips", "higher_is_better": False}]
