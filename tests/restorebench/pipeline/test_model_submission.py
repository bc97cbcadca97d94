"""A model submission with a real worker on the real broker: the API takes an ONNX model, the worker
runs it in the evaluator's sandbox on the phase's inputs, scores it, and the leaderboard shows its
scores with runtime, parameters and peak memory."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rb_test_helpers import psnr_uint8, wait_for_submission
from rb_test_models import IDENTITY_PARAMETERS, give_inputs, identity_conv_onnx, manifest_json
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.submissions.models import EvaluationJob, ImageScore

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_a_model_is_run_by_the_worker_scored_and_shown_with_its_measurements(
    make_arena, make_participant, platform_dirs, cpu_worker
):
    arena = make_arena(images=2)
    user, team = make_participant(arena)
    inputs = give_inputs(arena, platform_dirs / "storage")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")

    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/model/",
        {
            "file": SimpleUploadedFile("identity.onnx", identity_conv_onnx()),
            "manifest": manifest_json(),
            "method_name": "identity conv",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    submission = wait_for_submission(response.json()["id"], worker=cpu_worker)
    assert submission.status == "scored", submission.failure_reason

    expected = {name: psnr_uint8(inputs[name], gt) for name, gt in arena.ground_truth.items()}
    rows = ImageScore.objects.filter(job=submission.current_job, metric="psnr")
    assert {r.image_name: r.value for r in rows} == pytest.approx(expected, abs=1e-9)
    job = EvaluationJob.objects.get(submission=submission)
    assert (job.status, job.attempts) == ("done", 1)
    assert job.model_run["ok"] and len(job.model_run["images"]) == 2

    board = client.get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
    [row] = board["rows"]
    assert (row["rank"], row["team_name"], row["method_name"], row["kind"]) == (
        1,
        team.name,
        "identity conv",
        "model",
    )
    assert row["parameters"] == IDENTITY_PARAMETERS
    assert (
        row["seconds_per_image"] == pytest.approx(submission.model_seconds_per_image)
        and row["seconds_per_image"] > 0
    )
    assert row["peak_memory_bytes"] == submission.model_peak_memory_bytes > 0
    detail = client.get(f"/api/submissions/{submission.pk}/").json()
    assert sorted(detail["model"]["image_seconds"]) == sorted(inputs)
