"""Resumable uploads over the API: chunks appended at the right offset, resuming after a lost
response, the SHA-256 checked at the end, and refusals that leave nothing behind."""

import hashlib

import pytest
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.submissions.models import Submission, UploadSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_arena, make_participant):
    arena = make_arena(images=2)
    user, team = make_participant(arena)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return arena, client


def _start(client, arena, data: bytes, sha256: str | None = None):
    response = client.post(
        f"/api/phases/{arena.phase.pk}/uploads/create/",
        {
            "filename": "result.zip",
            "total_bytes": len(data),
            "sha256": sha256 or hashlib.sha256(data).hexdigest(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _put(client, upload_id, offset: int, chunk: bytes):
    return client.put(
        f"/api/uploads/{upload_id}/chunk/?offset={offset}",
        data=chunk,
        content_type="application/octet-stream",
    )


def test_a_zip_sent_in_chunks_becomes_a_submission(setup):
    arena, client = setup
    data = arena.submission_zip()
    upload_id = _start(client, arena, data)
    third = len(data) // 3
    offsets = [0, third, 2 * third, len(data)]
    for start, end in zip(offsets, offsets[1:], strict=False):
        response = _put(client, upload_id, start, data[start:end])
        assert response.status_code == 200 and response.json()["received_bytes"] == end
    response = client.post(f"/api/uploads/{upload_id}/complete/", {"method_name": "chunked"}, format="json")
    assert response.status_code == 201, response.content
    submission = Submission.objects.get(pk=response.json()["id"])
    assert (submission.sha256, submission.archive_bytes, submission.method_name) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
        "chunked",
    )
    assert UploadSession.objects.get(pk=upload_id).status == "complete"


def test_a_client_that_lost_a_response_resumes_from_the_offset_the_server_reports(setup):
    arena, client = setup
    data = arena.submission_zip()
    upload_id = _start(client, arena, data)
    half = len(data) // 2
    assert _put(client, upload_id, 0, data[:half]).status_code == 200
    # The response was lost; the client sends the same chunk again.
    again = _put(client, upload_id, 0, data[:half])
    assert again.status_code == 400
    assert f"expected offset {half}" in again.json()["detail"]
    assert client.get(f"/api/uploads/{upload_id}/").json()["received_bytes"] == half
    assert _put(client, upload_id, half, data[half:]).status_code == 200
    assert client.post(f"/api/uploads/{upload_id}/complete/", {}, format="json").status_code == 201


def test_a_content_hash_mismatch_is_refused_and_the_upload_discarded(setup, platform_dirs):
    arena, client = setup
    data = arena.submission_zip()
    upload_id = _start(client, arena, data, sha256="ab" * 32)
    assert _put(client, upload_id, 0, data).status_code == 200
    response = client.post(f"/api/uploads/{upload_id}/complete/", {}, format="json")
    assert response.status_code == 400
    assert "content hash mismatch" in response.json()["detail"]
    assert UploadSession.objects.get(pk=upload_id).status == "aborted"
    assert not (platform_dirs / "storage" / "uploads" / f"{upload_id}.part").exists()
    assert Submission.objects.count() == 0


def test_completing_an_unfinished_upload_is_refused(setup):
    arena, client = setup
    data = arena.submission_zip()
    upload_id = _start(client, arena, data)
    _put(client, upload_id, 0, data[:10])
    response = client.post(f"/api/uploads/{upload_id}/complete/", {}, format="json")
    assert response.status_code == 400 and "upload incomplete: 10 of" in response.json()["detail"]


def test_a_chunk_past_the_declared_size_is_refused_and_not_kept(setup):
    arena, client = setup
    data = arena.submission_zip()
    upload_id = _start(client, arena, data)
    response = _put(client, upload_id, 0, data + b"extra")
    assert response.status_code == 413 and "past the declared size" in response.json()["detail"]
    assert client.get(f"/api/uploads/{upload_id}/").json()["received_bytes"] == 0


def test_an_upload_larger_than_the_phase_allows_is_refused_up_front(make_arena, make_participant):
    arena = make_arena(images=1, max_upload_bytes=1000)
    user, _ = make_participant(arena)
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(
        f"/api/phases/{arena.phase.pk}/uploads/create/",
        {"filename": "big.zip", "total_bytes": 5000, "sha256": "0" * 64},
        format="json",
    )
    assert response.status_code == 413 and "upload too large: 5,000 bytes" in response.json()["detail"]


def test_another_users_upload_is_not_found(setup, make_user):
    arena, client = setup
    upload_id = _start(client, arena, arena.submission_zip())
    stranger = APIClient()
    stranger.force_authenticate(make_user())
    assert stranger.get(f"/api/uploads/{upload_id}/").status_code == 404
    assert _put(stranger, upload_id, 0, b"x").status_code == 404
