"""The submit page's model form: a plain post of the model file and its manifest; a refusal shows the
evaluator's reason on the form; the submission page shows the model's details."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rb_test_models import give_inputs, identity_conv_onnx, manifest_json, torchscript_bytes
from restorebench.submissions import jobs
from restorebench.submissions.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: True)


def _post(client, phase, data: bytes, manifest: str):
    return client.post(
        f"/phases/{phase.pk}/submit/",
        {
            "kind": "model",
            "model_file": SimpleUploadedFile("net.onnx", data),
            "manifest": manifest,
            "method_name": "web net",
        },
    )


def test_the_page_offers_a_model_form(client, make_arena, make_participant):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    client.force_login(user)
    html = client.get(f"/phases/{arena.phase.pk}/submit/").content.decode()
    assert 'id="model-form"' in html and 'name="kind" value="model"' in html
    assert 'name="manifest"' in html and 'name="model_file"' in html


def test_a_model_posted_from_the_page_becomes_a_model_submission(
    client, make_arena, make_participant, platform_dirs
):
    arena = make_arena(images=1)
    give_inputs(arena, platform_dirs / "storage")
    user, _ = make_participant(arena)
    client.force_login(user)
    response = _post(client, arena.phase, identity_conv_onnx(), manifest_json())
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/submissions/{submission.pk}/"
    assert (submission.kind, submission.model_format, submission.method_name) == ("model", "onnx", "web net")
    html = client.get(response["Location"]).content.decode()
    assert "Manifest" in html and "12 parameters" in html and json.loads(manifest_json())["task"] in html


def test_a_refused_model_shows_the_reason_on_the_form(client, make_arena, make_participant, platform_dirs):
    arena = make_arena(images=1)
    give_inputs(arena, platform_dirs / "storage")
    user, _ = make_participant(arena)
    client.force_login(user)
    response = _post(client, arena.phase, torchscript_bytes(), manifest_json())
    assert response.status_code == 200
    html = response.content.decode()
    assert "model refused (refused_format)" in html and "TorchScript" in html
    assert Submission.objects.count() == 0
