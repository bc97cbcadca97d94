"""Hostile uploads get a clear 4xx naming the problem, never a 500, and leave no file in any temporary
folder (the storage's scratch and chunk folders, Django's upload spool): a zip whose directory raises
NotImplementedError (unsupported "version needed") or UnicodeDecodeError (the UTF-8 flag on a name that
is not UTF-8), and a manifest or safetensors header nested 100,000 levels deep. Messages never show
the server's paths."""

import hashlib
import json
import shutil
import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rb_test_helpers import patch_central_directory, stored_files
from rb_test_models import MANIFEST, give_inputs, identity_conv_onnx
from rest_framework.test import APIClient
from restorebench import storage
from restorebench.accounts.services import token_get_or_create
from restorebench.submissions.models import Submission, UploadSession

pytestmark = pytest.mark.django_db

DEEP = 100_000


def _deep_json() -> str:
    return '{"task": "denoise", "input_range": ' + "[" * DEEP + "]" * DEEP + "}"


def _unsupported_version(arena) -> bytes:
    return patch_central_directory(arena.submission_zip(), version_needed=99)


def _bad_utf8_name(arena) -> bytes:
    zipped = arena.submission_zip()
    return patch_central_directory(zipped, flag_bits=0x800, name=b"\xff\xfe\xfd\xfc.png")


BAD_ZIPS = {
    "unsupported version needed": (_unsupported_version, "unsupported zip archive"),
    "utf-8 flag on a name that is not utf-8": (_bad_utf8_name, "not valid UTF-8"),
}


@pytest.fixture
def world(make_arena, make_participant, platform_dirs, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every file goes through the spool folder
    arena = make_arena(images=2)
    give_inputs(arena, platform_dirs / "storage")
    user, _ = make_participant(arena)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return arena, client


def _assert_clean_refusal(response, message: str, before: list, platform_dirs, spool) -> None:
    assert response.status_code == 400, response.content
    body = response.content.decode()
    assert message in response.json()["detail"]
    assert str(platform_dirs) not in body and "/tmp" not in body
    assert stored_files(platform_dirs) == before
    assert list(spool.iterdir()) == []
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("kind", sorted(BAD_ZIPS))
def test_a_damaged_zip_directory_is_refused_clearly_in_one_request(kind, world, platform_dirs, tmp_path):
    arena, client = world
    build, message = BAD_ZIPS[kind]
    before = stored_files(platform_dirs)
    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/create/",
        {"file": SimpleUploadedFile("r.zip", build(arena))},
        format="multipart",
    )
    _assert_clean_refusal(response, message, before, platform_dirs, tmp_path)


@pytest.mark.parametrize("kind", sorted(BAD_ZIPS))
def test_a_damaged_zip_directory_is_refused_clearly_at_the_end_of_a_chunked_upload(
    kind, world, platform_dirs, tmp_path
):
    arena, client = world
    build, message = BAD_ZIPS[kind]
    data = build(arena)
    before = stored_files(platform_dirs)
    created = client.post(
        f"/api/phases/{arena.phase.pk}/uploads/create/",
        {"filename": "r.zip", "total_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        format="json",
    ).json()
    client.put(
        f"/api/uploads/{created['id']}/chunk/?offset=0", data=data, content_type="application/octet-stream"
    )
    response = client.post(f"/api/uploads/{created['id']}/complete/", {}, format="json")
    _assert_clean_refusal(response, message, before, platform_dirs, tmp_path)
    assert UploadSession.objects.get().status == "aborted"


def test_a_manifest_nested_100000_deep_is_refused_clearly(world, platform_dirs, tmp_path):
    arena, client = world
    before = stored_files(platform_dirs)
    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/model/",
        {"file": SimpleUploadedFile("net.onnx", identity_conv_onnx()), "manifest": _deep_json()},
        format="multipart",
    )
    _assert_clean_refusal(response, "nested too deeply", before, platform_dirs, tmp_path)


def test_a_manifest_nested_100000_deep_in_a_json_body_is_refused_clearly(world, platform_dirs, tmp_path):
    arena, client = world
    data = identity_conv_onnx()
    created = client.post(
        f"/api/phases/{arena.phase.pk}/uploads/create/",
        {"filename": "net.onnx", "total_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        format="json",
    ).json()
    client.put(
        f"/api/uploads/{created['id']}/chunk/?offset=0", data=data, content_type="application/octet-stream"
    )
    before = stored_files(platform_dirs)
    body = '{"manifest": ' + _deep_json() + "}"
    response = client.post(f"/api/uploads/{created['id']}/complete/", body, content_type="application/json")
    _assert_clean_refusal(response, "nested too deeply", before, platform_dirs, tmp_path)
    # Nothing about the file was wrong: the upload stays open for a corrected request.
    assert UploadSession.objects.get().status == "open"


def test_a_safetensors_header_nested_100000_deep_is_refused_clearly(world, platform_dirs, tmp_path):
    arena, client = world
    header = ('{"w": ' + "[" * DEEP + "]" * DEEP + "}").encode()
    weights = struct.pack("<Q", len(header)) + header
    before = stored_files(platform_dirs)
    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/model/",
        {
            "file": SimpleUploadedFile("net.safetensors", weights),
            "manifest": json.dumps({**MANIFEST, "architecture": "dncnn"}),
        },
        format="multipart",
    )
    _assert_clean_refusal(response, "nested too deeply", before, platform_dirs, tmp_path)


def test_a_phase_whose_inputs_folder_is_missing_does_not_name_it(world, platform_dirs, tmp_path):
    arena, client = world
    # Installed, then deleted behind the platform's back.
    shutil.rmtree(storage.phase_inputs_dir(arena.phase))
    before = stored_files(platform_dirs)
    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/model/",
        {"file": SimpleUploadedFile("net.onnx", identity_conv_onnx()), "manifest": json.dumps(MANIFEST)},
        format="multipart",
    )
    _assert_clean_refusal(response, "this phase cannot run models", before, platform_dirs, tmp_path)
