"""The organizer console: analytics per phase, rescore with its diff, disqualify / requalify / cancel
with a reason, the audit log and the evaluation problems — for the challenge's organizers only; and the
staff's bundle upload, validated first with every problem shown against its line."""

import datetime as dt

import pytest
from django.utils import timezone
from rb_test_helpers import scored_submission
from restorebench.challenges.models import AuditLogEntry, Challenge
from restorebench.submissions.models import EvaluationJob, Rescore, Submission

from .conftest import table_rows

pytestmark = pytest.mark.django_db

TINY = (
    "format: 1\nchallenge:\n  slug: {slug}\n  title: Tiny\ntracks:\n  - slug: denoise\n    title: Denoising\n"
    "    task: denoise\n    degradation: {{sigma: 25}}\n"
    "    scoring: {{metrics: [psnr, ssim], ranking_metric: psnr}}\n"
    "    data: {{dataset: starter, seed: 7}}\n    phases:\n      - slug: dev\n        title: Development\n"
    "        split: val\n        starts_at: 2020-01-01T00:00:00Z\n        ends_at: {ends}\n"
)


@pytest.fixture
def arena(make_arena):
    return make_arena(images=1)


def test_the_console_is_for_the_challenges_organizers_only(client, arena, make_participant, make_user):
    assert client.get(f"/challenges/{arena.challenge.slug}/organize/").status_code == 302  # log in first
    participant, _ = make_participant(arena)
    client.force_login(participant)
    for path in ("organize/", "organize/audit-log/", "organize/problems/"):
        assert client.get(f"/challenges/{arena.challenge.slug}/{path}").status_code == 404
    assert client.post(f"/phases/{arena.phase.pk}/organize/rescore/", {"reason": "x"}).status_code == 404
    client.force_login(arena.organizer)
    assert client.get(f"/challenges/{arena.challenge.slug}/organize/").status_code == 200


def test_analytics_count_submissions_per_day_active_teams_and_failure_reasons(
    client, arena, make_participant
):
    _, a = make_participant(arena)
    _, b = make_participant(arena)
    now = timezone.now()
    made = [
        (a, now, "scored", ""),
        (a, now - dt.timedelta(days=1), "failed", "0000.png: wrong size 10x10, expected 32x24"),
        (b, now - dt.timedelta(days=1), "failed", "0000.png: wrong size 12x12, expected 32x24"),
        (b, now - dt.timedelta(days=3), "failed", "result.zip: not a zip file"),
        (b, now - dt.timedelta(days=20), "scored", ""),  # outside the 14 days shown, still in the totals
    ]
    for team, when, status, reason in made:
        submission = scored_submission(arena.phase, team, {"psnr": 25.0, "ssim": 0.5})
        failed = status == "failed"
        Submission.objects.filter(pk=submission.pk).update(
            created_at=when, status=status, failure_reason=reason,
            failure_kind="participant" if failed else "", scores=None if failed else {"psnr": 1},
        )  # fmt: skip
    scored_submission(arena.phase, None, {"psnr": 20.0, "ssim": 0.4}, method_name="bicubic")  # not a team's
    client.force_login(arena.organizer)
    html = client.get(f"/challenges/{arena.challenge.slug}/organize/").content.decode()
    totals = table_rows(html, "analytics")[1]["cells"]
    assert totals == ["5", "2", "3", "0", "2", "2"]
    today, yesterday = now.date(), (now - dt.timedelta(days=1)).date()
    assert f'title="{today:%Y-%m-%d}: 1"' in html
    assert f'title="{yesterday:%Y-%m-%d}: 2"' in html
    assert "<strong>2×</strong> wrong size 10x10, expected 32x24" not in html  # reasons grouped by kind:
    assert "wrong size" in html and "not a zip file" in html


def test_rescore_from_the_console_records_the_reason_and_shows_the_diff(client, arena, make_participant):
    _, team = make_participant(arena)
    scored = scored_submission(arena.phase, team, {"psnr": 25.0, "ssim": 0.5}, method_name="net")
    client.force_login(arena.organizer)
    answer = client.post(f"/phases/{arena.phase.pk}/organize/rescore/", {"reason": "fixed SSIM window"})
    rescore = Rescore.objects.get(phase=arena.phase)
    assert answer.status_code == 302 and answer["Location"] == f"/rescores/{rescore.pk}/"
    assert rescore.reason == "fixed SSIM window" and rescore.requested_by == arena.organizer
    assert EvaluationJob.objects.filter(submission=scored, rescore=rescore).count() == 1
    page = client.get(f"/rescores/{rescore.pk}/").content.decode()
    assert "fixed SSIM window" in page and team.name in page
    rows = table_rows(page, "rescore-diff")
    assert rows[1]["cells"][:4] == [team.name, "net", "1", "1"]
    assert AuditLogEntry.objects.filter(challenge=arena.challenge, action="phase.rescore").exists()


def test_disqualify_needs_a_reason_requalify_restores_and_both_are_audited(client, arena, make_participant):
    participant, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 25.0, "ssim": 0.5})
    url = f"/submissions/{submission.pk}/organize/"
    client.force_login(participant)
    assert client.post(url + "disqualify/", {"reason": "copied"}).status_code == 404
    client.force_login(arena.organizer)
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert 'id="organizer-actions"' in page
    refused = client.post(url + "disqualify/", {"reason": ""}, follow=True).content.decode()
    assert "a disqualification needs a reason" in refused
    assert not Submission.objects.get(pk=submission.pk).disqualified
    client.post(url + "disqualify/", {"reason": "copied from team X"})
    assert Submission.objects.get(pk=submission.pk).disqualified_reason == "copied from team X"
    client.post(url + "requalify/", {"reason": "appeal accepted"})
    assert not Submission.objects.get(pk=submission.pk).disqualified
    actions = list(AuditLogEntry.objects.filter(challenge=arena.challenge).values_list("action", flat=True))
    assert {"submission.disqualify", "submission.requalify"} <= set(actions)
    log = client.get(f"/challenges/{arena.challenge.slug}/organize/audit-log/").content.decode()
    assert "copied from team X" in log and "appeal accepted" in log
    assert client.post(url + "explode/", {"reason": "x"}).status_code == 404


def test_cancel_stops_a_queued_evaluation_and_the_problems_page_lists_platform_failures(
    client, arena, make_participant
):
    _, team = make_participant(arena)
    queued = scored_submission(arena.phase, team, None)
    Submission.objects.filter(pk=queued.pk).update(status="queued", scores=None)
    client.force_login(arena.organizer)
    client.post(f"/submissions/{queued.pk}/organize/cancel/", {"reason": "stuck"})
    queued.refresh_from_db()
    assert (queued.status, queued.counts_toward_limits) == ("cancelled", False)
    failed = scored_submission(arena.phase, team, None)
    EvaluationJob.objects.create(
        submission=failed,
        status="failed",
        error_kind="platform",
        error_message="worker lost 3 times",
        attempts=3,
    )
    html = client.get(f"/challenges/{arena.challenge.slug}/organize/problems/").content.decode()
    assert "worker lost 3 times" in html


def test_a_bundle_with_problems_is_shown_against_its_lines_and_loads_nothing(
    client, make_user, platform_dirs
):
    staff = make_user("staffer", is_staff=True)
    client.force_login(make_user())
    assert client.get("/organize/bundle/").status_code == 404  # staff only
    client.force_login(staff)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = TINY.format(slug="tiny-web", ends="not-a-date").replace("task: denoise", "task: levitate")
    answer = client.post("/organize/bundle/", {"bundle": SimpleUploadedFile("tiny.yaml", bad.encode()),
                                               "action": "validate"})  # fmt: skip
    assert answer.status_code == 400
    html = answer.content.decode()
    bad_lines = [
        i for i, line in enumerate(bad.splitlines(), 1) if "levitate" in line or "not-a-date" in line
    ]
    for line in bad_lines:
        assert f'href="#line-{line}">line {line}</a>' in html
        assert f'<tr id="line-{line}" class="bad">' in html
    assert "/tmp/" not in html
    assert not Challenge.objects.filter(slug="tiny-web").exists()


def test_a_valid_bundle_is_validated_then_loaded_from_the_form_it_came_back_in(
    client, make_user, platform_dirs
):
    import html
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(make_user("staffer", is_staff=True))
    good = TINY.format(slug="tiny-ok", ends="2030-12-31T23:59:59Z")
    answer = client.post("/organize/bundle/", {"bundle": SimpleUploadedFile("tiny.yaml", good.encode()),
                                               "action": "validate"})  # fmt: skip
    page = answer.content.decode()
    assert answer.status_code == 200 and 'id="bundle-valid"' in page and 'id="load-button"' in page
    assert not Challenge.objects.filter(slug="tiny-ok").exists()  # validating creates nothing
    # Load posts back the hidden fields the answer page carries, as the browser does.
    hidden = dict(re.findall(r'<input type="hidden" name="(text|name)" value="([^"]*)"', page))
    assert html.unescape(hidden["text"]) == good and hidden["name"] == "tiny.yaml"
    loaded = client.post(
        "/organize/bundle/", {"text": html.unescape(hidden["text"]), "name": hidden["name"], "action": "load"}
    )
    assert loaded.status_code == 302 and loaded["Location"] == "/challenges/tiny-ok/organize/"
    challenge = Challenge.objects.get(slug="tiny-ok")
    assert [t.slug for t in challenge.tracks.all()] == ["denoise"]
