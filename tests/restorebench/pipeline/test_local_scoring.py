"""Local scoring = server scoring: for every task, a participant who downloads a development phase's
ground truth and scoring spec and runs `python -m evaluator score PRED GT --spec SPEC.json` gets
bit-identical per-image numbers to the rows the server's worker stored for the same submission.

Real pipeline: the organizer uploads pairs through the API, the participant submits through the API,
a real worker on the real broker scores, and the evaluator's command line runs in a fresh interpreter.
"""

import datetime as dt
import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rb_test_helpers import ROOT, Arena, make_zip, png_bytes, wait_for_submission
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.challenges.services import challenge_create, phase_create, track_create
from restorebench.submissions.models import ImageScore

from benchdata.tasks import list_tasks
from evaluator.spec import ScoringSpec

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

SCALE = 4


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def _track(info, organizer):
    task = info.name
    scale = SCALE if info.scaled else None
    challenge = challenge_create(slug=f"local-{task}".replace("_", "-"), title=task, created_by=organizer)
    spec = ScoringSpec.for_task(task, scale=scale).to_dict()
    track = track_create(
        challenge=challenge,
        slug=task.replace("_", "-"),
        title=task,
        task=task,
        scoring_spec=spec,
        ranking_metrics=[{"metric": m} for m in spec["metrics"]],
        actor=organizer,
    )
    now = timezone.now()
    phase = phase_create(
        track=track,
        slug="development",
        title="Development",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
        hidden_ground_truth=False,
        actor=organizer,
    )
    return challenge, track, phase, scale or 1


@pytest.mark.parametrize("info", list_tasks(), ids=lambda info: info.name)
def test_local_scoring_of_the_downloaded_development_data_equals_the_servers_rows(
    info, make_user, make_participant, platform_dirs, cpu_worker, tmp_path
):
    organizer = make_user(f"organizer-{info.name}")
    challenge, track, phase, factor = _track(info, organizer)
    rng = np.random.default_rng(7)
    gt = {f"{i:03d}.png": rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for i in range(3)}
    members = {}
    for name, image in gt.items():
        members[f"ground_truth/{name}"] = png_bytes(image)
        if info.multi_frame:  # a sample is a folder of frames
            for k in range(2):
                members[f"inputs/{name[:-4]}/{k:02d}.png"] = png_bytes(image[k::factor, k::factor][:10, :12])
        else:
            members[f"inputs/{name}"] = png_bytes(image[::factor, ::factor])
    response = _client(organizer).post(
        f"/api/phases/{phase.pk}/data/",
        {"file": SimpleUploadedFile("data.zip", make_zip(members))},
        format="multipart",
    )
    assert response.status_code == 200, response.content

    user, _ = make_participant(Arena(challenge, track, phase, organizer, gt))
    client = _client(user)
    restored = {
        name: np.clip(image.astype(int) + rng.integers(-9, 10, image.shape), 0, 255).astype(np.uint8)
        for name, image in gt.items()
    }
    prediction = make_zip({name: png_bytes(image) for name, image in restored.items()})
    response = client.post(
        f"/api/phases/{phase.pk}/submissions/create/",
        {"file": SimpleUploadedFile("result.zip", prediction)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    submission = wait_for_submission(response.json()["id"], worker=cpu_worker, timeout=180)
    assert submission.status == "scored", submission.failure_reason
    server = {
        (row.image_name, row.metric): row.value
        for row in ImageScore.objects.filter(job=submission.current_job)
    }

    # What the participant does: download the ground truth and the spec, score locally.
    archive = client.get(f"/api/phases/{phase.pk}/ground-truth.zip")
    assert archive.status_code == 200
    zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))).extractall(tmp_path / "gt")
    spec = client.get(f"/api/phases/{phase.pk}/scoring-spec.json")
    (tmp_path / "spec.json").write_bytes(spec.content)
    (tmp_path / "pred.zip").write_bytes(prediction)
    run = subprocess.run(
        [sys.executable, "-m", "evaluator", "score", "pred.zip", "gt", "--spec", "spec.json"]
        + ["--json", "--quiet"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    local = {
        (row["name"], metric): value
        for row in json.loads(run.stdout)["rows"]
        for metric, value in row["scores"].items()
    }
    assert set(local) == set(server) and len(server) == 3 * len(json.loads(spec.content)["metrics"])
    assert local == server  # bit-identical: exact float equality, every image and metric
