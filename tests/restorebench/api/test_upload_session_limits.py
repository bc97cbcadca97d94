"""Chunked upload sessions count against the phase's limits like direct uploads: a team at its limit
cannot open one, open sessions are capped per team and count as the submissions they will become,
the declared size is checked when a session opens, an abort deletes the data, and of concurrent
`complete` calls exactly one makes a submission while the others get a 409."""

import hashlib
import threading

import pytest
from django.db import connection
from rb_test_helpers import stored_files
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.submissions.models import Submission, UploadSession
from restorebench.submissions.services import (
    UploadConflict,
    submission_create,
    upload_part,
    upload_session_append,
    upload_session_complete,
    upload_session_create,
)


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def _open(client, phase, data: bytes):
    return client.post(
        f"/api/phases/{phase.pk}/uploads/create/",
        {"filename": "r.zip", "total_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        format="json",
    )


@pytest.mark.django_db
def test_a_team_at_its_limit_cannot_open_an_upload(make_arena, make_participant):
    arena = make_arena(images=1, max_submissions_total=1)
    user, _ = make_participant(arena)
    submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=1)])
    response = _open(_client(user), arena.phase, arena.submission_zip(seed=2))
    assert response.status_code == 429, response.content
    assert "used all 1 submissions" in response.json()["detail"]
    assert UploadSession.objects.count() == 0


@pytest.mark.django_db
def test_open_uploads_count_as_the_submissions_they_will_become(make_arena, make_participant):
    arena = make_arena(images=1, max_submissions_per_day=1)
    user, _ = make_participant(arena)
    client = _client(user)
    assert _open(client, arena.phase, arena.submission_zip(seed=1)).status_code == 201
    response = _open(client, arena.phase, arena.submission_zip(seed=2))
    assert response.status_code == 429 and "1 of them in open uploads" in response.json()["detail"]


@pytest.mark.django_db
def test_a_team_may_have_only_so_many_uploads_open_and_aborting_one_frees_a_place(
    make_arena, make_participant, platform_dirs, settings
):
    settings.RESTOREBENCH_MAX_OPEN_UPLOADS_PER_TEAM = 2
    arena = make_arena(images=1)
    first, team = make_participant(arena)
    second, _ = make_participant(arena, team=team)  # the cap is the team's, not the member's
    ids = [_open(_client(first), arena.phase, arena.submission_zip(seed=s)).json()["id"] for s in (1, 2)]
    refused = _open(_client(second), arena.phase, arena.submission_zip(seed=3))
    assert refused.status_code == 429 and "has 2 uploads open" in refused.json()["detail"]

    aborted = _client(first).post(f"/api/uploads/{ids[0]}/abort/")
    assert aborted.status_code == 200 and aborted.json()["status"] == "aborted"
    assert _open(_client(second), arena.phase, arena.submission_zip(seed=3)).status_code == 201


@pytest.mark.django_db
def test_aborting_an_upload_deletes_its_data_and_it_takes_no_more(make_arena, make_participant):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    client = _client(user)
    data = arena.submission_zip()
    upload_id = _open(client, arena.phase, data).json()["id"]
    put = client.put(
        f"/api/uploads/{upload_id}/chunk/?offset=0", data=data[:50], content_type="application/octet-stream"
    )
    assert put.status_code == 200
    part = upload_part(UploadSession.objects.get(pk=upload_id))
    assert part.stat().st_size == 50

    assert client.post(f"/api/uploads/{upload_id}/abort/").status_code == 200
    assert not part.exists()
    again = client.put(
        f"/api/uploads/{upload_id}/chunk/?offset=50", data=data[50:], content_type="application/octet-stream"
    )
    assert again.status_code == 409 and "is aborted" in again.json()["detail"]
    assert client.post(f"/api/uploads/{upload_id}/complete/", {}, format="json").status_code == 409


@pytest.mark.django_db
def test_a_chunk_whose_content_length_passes_the_declared_size_is_refused_unread(
    make_arena, make_participant
):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    client = _client(user)
    data = arena.submission_zip()
    upload_id = _open(client, arena.phase, data).json()["id"]
    response = client.put(
        f"/api/uploads/{upload_id}/chunk/?offset=0", data=data + b"x", content_type="application/octet-stream"
    )
    assert response.status_code == 413 and "past the declared size" in response.json()["detail"]
    assert UploadSession.objects.get(pk=upload_id).received_bytes == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_completes_of_one_upload_make_one_submission_and_the_others_get_409(
    make_arena, make_participant, platform_dirs, monkeypatch
):
    from restorebench.submissions import jobs

    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: True)
    arena = make_arena(images=2)
    user, _ = make_participant(arena)
    data = arena.submission_zip()
    session = upload_session_create(
        phase=arena.phase,
        user=user,
        filename="r.zip",
        total_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    upload_session_append(session=session, offset=0, data=[data])
    others = set(stored_files(platform_dirs)) - {upload_part(session)}
    callers = 6
    barrier = threading.Barrier(callers)
    made, conflicts, crashed = [], [], []

    def complete():
        try:
            barrier.wait()
            made.append(upload_session_complete(session=session, user=user).pk)
        except UploadConflict as error:
            conflicts.append(str(error))
        except Exception as error:  # anything else is the bug this test is about
            crashed.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert crashed == [] and len(made) == 1 and len(conflicts) == callers - 1
    assert all("being completed" in c or "already complete" in c for c in conflicts)
    submission = Submission.objects.get()
    assert submission.pk == made[0] and UploadSession.objects.get().status == "complete"
    # The assembled file became the submission's; nothing else is left in storage.
    assert set(stored_files(platform_dirs)) == others | {platform_dirs / "storage" / submission.archive_path}
