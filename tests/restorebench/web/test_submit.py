"""The submission form: the page wires its script to the chunked upload API; the upload goes through
with the session and its CSRF token, resumes after a lost answer, is checked by its SHA-256, and the
worker's scores appear on the submission page. Without JavaScript the form posts the zip itself."""

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rb_test_helpers import psnr_uint8, stored_files, wait_for_submission
from restorebench.submissions.models import Submission

from .conftest import table_rows

ROOT = Path(__file__).resolve().parents[3]
UPLOAD_JS = ROOT / "platform" / "static" / "restorebench" / "upload.js"


def _form_attributes(html: str) -> dict[str, str]:
    form = re.search(r'<form class="card" id="submit-form"(.*?)>', html, re.S).group(1)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', form))


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.django_db
def test_the_form_points_its_script_at_the_upload_api(client, make_arena, make_participant):
    arena = make_arena(images=2)
    alice, _ = make_participant(arena)
    client.force_login(alice)
    html = client.get(f"/phases/{arena.phase.pk}/submit/").content.decode()
    data = _form_attributes(html)
    assert data["create-url"] == f"/api/phases/{arena.phase.pk}/uploads/create/"
    assert data["chunk-url"] == "/api/uploads/{id}/chunk/"
    assert data["complete-url"] == "/api/uploads/{id}/complete/"
    assert data["detail-url"] == "/api/uploads/{id}/"
    assert data["submission-url"] == "/submissions/{id}/"
    assert int(data["max-bytes"]) == arena.phase.max_upload_bytes
    assert "restorebench/upload.js" in html and "<progress" in html
    assert "0000.png" in html and "exactly 2 restored images" in html


@pytest.mark.django_db
def test_the_form_says_what_is_missing_before_one_can_submit(client, make_arena, make_user):
    arena = make_arena(images=1)
    client.force_login(make_user())
    html = client.get(f"/phases/{arena.phase.pk}/submit/").content.decode()
    assert "You need a team first" in html
    assert re.search(r'id="submit-button"\s+disabled', html)


@pytest.mark.services
@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_a_chunked_upload_from_the_page_is_scored_and_shown(make_arena, make_participant, cpu_worker):
    arena = make_arena(images=3)
    alice, team = make_participant(arena)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get(f"/phases/{arena.phase.pk}/submit/").content.decode()
    data, token = _form_attributes(page), _csrf(page)
    restored = arena.restored(noise=5, seed=9)
    upload = arena.zip_of(restored)

    # What upload.js does: declare size and hash, send chunks at the server's offset, complete.
    declared = {
        "filename": "result.zip",
        "total_bytes": len(upload),
        "sha256": hashlib.sha256(upload).hexdigest(),
    }
    refused = browser.post(data["create-url"], declared, content_type="application/json")
    assert refused.status_code == 403  # no CSRF token: the session is not enough
    created = browser.post(
        data["create-url"], declared, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert created.status_code == 201, created.content
    upload_id = created.json()["id"]
    chunk = data["chunk-url"].replace("{id}", upload_id)
    size = len(upload) // 3 + 1
    offset = 0
    while offset < len(upload):
        body = upload[offset : offset + size]
        answer = browser.put(
            f"{chunk}?offset={offset}", body, content_type="application/octet-stream", HTTP_X_CSRFTOKEN=token
        )
        assert answer.status_code == 200, answer.content
        offset = answer.json()["received_bytes"]
        if offset == size:  # the answer to the first chunk "was lost": the script sends it again
            again = browser.put(
                f"{chunk}?offset=0",
                upload[:size],
                content_type="application/octet-stream",
                HTTP_X_CSRFTOKEN=token,
            )
            assert again.status_code == 400 and "offset" in again.json()["errors"]
            state = browser.get(data["detail-url"].replace("{id}", upload_id)).json()
            assert state["received_bytes"] == size
    done = browser.post(
        data["complete-url"].replace("{id}", upload_id),
        json.dumps({"method_name": "from the page", "description": ""}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert done.status_code == 201, done.content
    submission_id = done.json()["id"]

    detail = data["submission-url"].replace("{id}", str(submission_id))
    queued = browser.get(detail).content.decode()
    assert "restorebench/status.js" in queued and f"/api/submissions/{submission_id}/" in queued

    submission = wait_for_submission(submission_id, worker=cpu_worker)
    assert submission.status == "scored", submission.failure_reason
    expected = {name: psnr_uint8(restored[name], gt) for name, gt in arena.ground_truth.items()}
    html = browser.get(detail).content.decode()
    per_image = {r["cells"][0]: float(r["cells"][1]) for r in table_rows(html, "images")[1:]}
    assert per_image == pytest.approx(expected, abs=5e-5)  # shown with 4 decimals
    mean = sum(expected.values()) / len(expected)
    assert f"{mean:.4f}" in html
    assert (submission.team, submission.method_name, submission.sha256) == (
        team,
        "from the page",
        declared["sha256"],
    )


@pytest.mark.django_db
def test_without_javascript_the_form_posts_the_zip(client, make_arena, make_participant, platform_dirs):
    arena = make_arena(images=2)
    alice, team = make_participant(arena)
    client.force_login(alice)
    upload = SimpleUploadedFile("result.zip", arena.submission_zip(), "application/zip")
    response = client.post(f"/phases/{arena.phase.pk}/submit/", {"file": upload, "method_name": "plain"})
    submission = Submission.objects.get(team=team)
    assert response.status_code == 302 and response["Location"] == f"/submissions/{submission.pk}/"
    assert (submission.method_name, submission.image_count, submission.status) == ("plain", 2, "queued")


@pytest.mark.django_db
def test_a_refused_upload_is_explained_on_the_form_and_nothing_is_stored(
    client, make_arena, make_participant, platform_dirs
):
    arena = make_arena(images=2)
    alice, team = make_participant(arena)
    client.force_login(alice)
    before = stored_files(platform_dirs)
    upload = SimpleUploadedFile("result.zip", b"this is not a zip", "application/zip")
    response = client.post(f"/phases/{arena.phase.pk}/submit/", {"file": upload})
    assert response.status_code == 200
    assert "not a zip" in response.content.decode().lower()
    assert not Submission.objects.filter(team=team).exists()
    assert stored_files(platform_dirs) == before


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the page's script")
@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 1000, 200_003])
def test_the_scripts_sha256_matches_hashlib(size, tmp_path):
    data = bytes((i * 7 + size) % 251 for i in range(size))
    (tmp_path / "data.bin").write_bytes(data)
    runner = f"""
    global.window = {{}};
    global.document = {{ getElementById: () => null }};
    require({json.dumps(str(UPLOAD_JS))});
    const bytes = require("fs").readFileSync({json.dumps(str(tmp_path / "data.bin"))});
    const hash = new window.RestoreBenchSha256();
    // fed in uneven slices, as the page reads a file
    for (let i = 0; i < bytes.length; i += 777) hash.update(new Uint8Array(bytes.subarray(i, i + 777)));
    process.stdout.write(hash.hex());
    """
    result = subprocess.run(["node", "-e", runner], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == hashlib.sha256(data).hexdigest()


@pytest.mark.django_db
def test_a_post_that_cannot_succeed_is_answered_before_its_body_is_read(
    settings, make_arena, make_participant, make_user
):
    from rb_test_helpers import RecordingUploadHandler

    settings.FILE_UPLOAD_HANDLERS = ["rb_test_helpers.RecordingUploadHandler"]
    RecordingUploadHandler.chunks.clear()
    arena = make_arena(images=2, max_submissions_total=0)
    participant, _ = make_participant(arena)
    cases = [(make_user(), 400, "not in a team"), (participant, 429, "submission limit reached")]
    for user, code, message in cases:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        upload = SimpleUploadedFile("result.zip", b"\0" * (3 * 1024**2), "application/zip")
        response = client.post(f"/phases/{arena.phase.pk}/submit/", {"file": upload})
        page = response.content.decode()
        assert response.status_code == code and message in page
        # The refused page is the same page: each form's method name keeps its own element id.
        assert page.count('id="id_method_name"') == 1 and page.count('id="model_method_name"') == 1
    assert RecordingUploadHandler.chunks == []


@pytest.mark.django_db
def test_a_post_that_goes_on_still_needs_its_csrf_token(make_arena, make_participant):
    arena = make_arena(images=2)
    alice, team = make_participant(arena)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    upload = SimpleUploadedFile("result.zip", arena.submission_zip(), "application/zip")
    assert client.post(f"/phases/{arena.phase.pk}/submit/", {"file": upload}).status_code == 403
    token = _csrf(client.get(f"/phases/{arena.phase.pk}/submit/").content.decode())
    upload.seek(0)
    response = client.post(
        f"/phases/{arena.phase.pk}/submit/", {"file": upload, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and Submission.objects.filter(team=team).count() == 1
