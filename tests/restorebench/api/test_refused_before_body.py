"""A submission that cannot succeed is refused before its body is read: no team, no track entry, a
closed phase, limits used up, or a Content-Length over the phase's limit get their 4xx while Django's
upload handlers (which spool a multipart file to disk) receive nothing of the body."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rb_test_helpers import RecordingUploadHandler
from rest_framework.test import APIClient
from restorebench.accounts.services import team_create, token_get_or_create
from restorebench.submissions.models import Submission

pytestmark = pytest.mark.django_db

BIG = 3 * 1024**2  # over FILE_UPLOAD_MAX_MEMORY_SIZE: Django would spool it to a temporary file


@pytest.fixture
def recorded(settings, tmp_path):
    settings.FILE_UPLOAD_HANDLERS = ["rb_test_helpers.RecordingUploadHandler"]
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    RecordingUploadHandler.chunks.clear()
    return tmp_path


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def _post(client, phase, size: int = BIG, route: str = "create"):
    fields = {"file": SimpleUploadedFile("result.zip", b"\0" * size, "application/zip")}
    if route == "model":
        fields["manifest"] = '{"task": "denoise"}'
    return client.post(f"/api/phases/{phase.pk}/submissions/{route}/", fields, format="multipart")


def _no_team(make_arena, make_participant, make_user):
    return make_arena(images=1), make_user()


def _no_entry(make_arena, make_participant, make_user):
    arena = make_arena(images=1)
    user = make_user()
    team_create(challenge=arena.challenge, name="no-entry", user=user)
    return arena, user


def _closed(make_arena, make_participant, make_user):
    arena = make_arena(images=1, ends_at=timezone.now() - dt.timedelta(minutes=1))
    return arena, make_participant(arena)[0]


def _limit_used(make_arena, make_participant, make_user):
    arena = make_arena(images=1, max_submissions_total=0)
    return arena, make_participant(arena)[0]


def _over_size(make_arena, make_participant, make_user):
    arena = make_arena(images=1, max_upload_bytes=1000)
    return arena, make_participant(arena)[0]


CASES = {
    "no team": (_no_team, 400, "not in a team"),
    "no track entry": (_no_entry, 400, "has not entered track"),
    "closed phase": (_closed, 400, "is closed"),
    "limit used up": (_limit_used, 429, "submission limit reached"),
    "content-length over the limit": (_over_size, 413, "the phase accepts files of at most 1,000 bytes"),
}


@pytest.mark.parametrize("route", ["create", "model"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_submission_that_cannot_succeed_is_refused_before_its_body_is_read(
    case, route, recorded, make_arena, make_participant, make_user
):
    build, code, message = CASES[case]
    arena, user = build(make_arena, make_participant, make_user)
    response = _post(_token_client(user), arena.phase, route=route)
    assert response.status_code == code, response.content
    assert message in response.json()["detail"]
    assert RecordingUploadHandler.chunks == []
    assert list(recorded.iterdir()) == []
    assert Submission.objects.count() == 0


def test_a_session_user_without_a_team_is_refused_before_the_csrf_check_reads_the_body(
    recorded, make_arena, make_user
):
    arena = make_arena(images=1)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user())
    response = _post(client, arena.phase)
    assert response.status_code == 400 and "not in a team" in response.json()["detail"]
    assert RecordingUploadHandler.chunks == []


def test_a_participant_who_may_submit_does_send_the_body(recorded, make_arena, make_participant):
    # The control: the recording handler does see the body of a request that goes on.
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    response = _post(_token_client(user), arena.phase)
    assert response.status_code == 400 and "not a zip archive" in response.json()["detail"]
    assert sum(RecordingUploadHandler.chunks) == BIG
