"""The full path with a real worker on the real broker: submit → queue → worker → scores → leaderboard."""

import numpy as np
import pytest
from rb_test_helpers import psnr_uint8, wait_for_submission
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.submissions.models import EvaluationJob, ImageScore

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_a_submission_is_scored_by_the_worker_and_ranked_on_the_leaderboard(
    make_arena, make_participant, cpu_worker
):
    arena = make_arena(images=3)
    user, team = make_participant(arena)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")

    restored = arena.restored(noise=6, seed=3)
    upload = arena.zip_of(restored)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/create/",
        {"file": SimpleUploadedFile("result.zip", upload, "application/zip"), "method_name": "my net"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"

    submission = wait_for_submission(response.json()["id"], worker=cpu_worker)
    assert submission.status == "scored", submission.failure_reason

    expected = {name: psnr_uint8(restored[name], gt) for name, gt in arena.ground_truth.items()}
    rows = ImageScore.objects.filter(job=submission.current_job, metric="psnr")
    assert {r.image_name: r.value for r in rows} == pytest.approx(expected, abs=1e-9)
    assert ImageScore.objects.filter(job=submission.current_job).count() == 3 * 2
    assert submission.scores["psnr"] == pytest.approx(np.mean(list(expected.values())), abs=1e-9)
    job = EvaluationJob.objects.get(submission=submission)
    assert (job.status, job.attempts, job.progress_done, job.progress_total) == ("done", 1, 3, 3)

    board = client.get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
    assert [(r["rank"], r["team_name"], r["method_name"]) for r in board["rows"]] == [
        (1, team.name, "my net")
    ]
    assert board["rows"][0]["scores"]["psnr"] == pytest.approx(submission.scores["psnr"])
