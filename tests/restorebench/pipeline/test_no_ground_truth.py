"""A track without ground truth, end to end through the real pipeline: the organizer uploads inputs
alone; a participant logs in with the `restorebench` client, downloads the phase (inputs and spec, no
ground truth), scores at home, submits; a real worker on the real broker scores the restored images by
no-reference metrics (the very numbers of local scoring); the leaderboard ranks them; a reference
baseline runs on the phase too; the comparison viewer shows input and restored images, nothing derived
from a ground truth."""

import datetime as dt
import io
import json

import numpy as np
import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rb_test_helpers import Arena, make_zip, png_bytes, wait_for_submission
from rest_framework.test import APIClient
from restorebench import storage
from restorebench.accounts.services import token_get_or_create
from restorebench.baselines import services as baselines
from restorebench.challenges.services import challenge_create, phase_create, track_create
from restorebench.submissions.models import EvaluationJob, ImageScore, Submission

from evaluator.metrics import create_metric
from restorebench_client import cli

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

SCALE = 2
SPEC = {"ground_truth": False, "scale": SCALE, "metrics": ["piqe", "niqe"], "ranking_metric": "piqe"}


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def _arena(make_user) -> Arena:
    organizer = make_user("rw-organizer")
    challenge = challenge_create(slug="real-world-sr", title="Real-world SR", created_by=organizer)
    track = track_create(
        challenge=challenge,
        slug="rw",
        title="RW",
        task="sr",
        scoring_spec=SPEC,
        ranking_metrics=["piqe", "niqe"],
    )
    now = timezone.now()
    phase = phase_create(
        track=track, slug="dev", title="Dev", starts_at=now - dt.timedelta(1), ends_at=now + dt.timedelta(1)
    )
    return Arena(challenge, track, phase, organizer, {})


def _login(live_server, monkeypatch, user) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"pw-{user.username}\n"))
    argv = ["--server", live_server.url, "login", "--username", user.username, "--password-stdin"]
    assert cli.main(argv) == cli.DONE


def test_a_track_without_ground_truth_is_scored_ranked_and_viewed_end_to_end(
    live_server, platform_dirs, make_user, make_participant, cpu_worker, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("RESTOREBENCH_CLIENT_HOME", str(tmp_path / "client-home"))
    monkeypatch.delenv("RESTOREBENCH_TOKEN", raising=False)
    arena = _arena(make_user)
    rng = np.random.default_rng(3)
    # Inputs of 56 x 52 px: outputs of 112 x 104, above NIQE's 96 px minimum.
    inputs = {f"im{i}": rng.integers(0, 256, (52, 56, 3), dtype=np.uint8) for i in range(3)}
    members = {f"inputs/{stem}.png": png_bytes(image) for stem, image in inputs.items()}
    data = SimpleUploadedFile("data.zip", make_zip(members), "application/zip")
    response = _api(arena.organizer).post(
        f"/api/phases/{arena.phase.pk}/data/", {"file": data}, format="multipart"
    )
    assert response.status_code == 200, response.content

    # The participant: log in, download, restore (upscale with a little noise), score at home, submit.
    user, team = make_participant(arena, username="rosa")
    _login(live_server, monkeypatch, user)
    home = tmp_path / "phase"
    assert cli.main(["download", str(arena.phase.pk), "--to", str(home)]) == cli.DONE
    assert "ground truth: none in this phase" in capsys.readouterr().err
    assert not (home / "ground_truth").exists()
    restored = {
        stem: np.clip(
            np.kron(image, np.ones((SCALE, SCALE, 1))) + rng.integers(-8, 9, (104, 112, 3)), 0, 255
        ).astype(np.uint8)
        for stem, image in inputs.items()
    }
    upload = tmp_path / "results.zip"
    upload.write_bytes(make_zip({f"{stem}.png": png_bytes(image) for stem, image in restored.items()}))
    assert cli.main(["score", str(upload), "--phase-dir", str(home), "--json"]) == cli.DONE
    local = {
        (row["name"], metric): value
        for row in json.loads(capsys.readouterr().out)["rows"]
        for metric, value in row["scores"].items()
    }
    submitted = cli.main(["submit", str(arena.phase.pk), str(upload), "--method-name", "upscaler"])
    submission = Submission.objects.get(team=team)
    assert submitted == cli.DONE and submission.status == "scored", [
        j.error_message for j in EvaluationJob.objects.filter(submission=submission)
    ]

    # The worker's rows are the local ones, and they are the metrics of each restored image alone.
    server = {
        (r.image_name, r.metric): r.value for r in ImageScore.objects.filter(job=submission.current_job)
    }
    assert server == local and len(server) == 3 * 2
    piqe = create_metric("piqe")
    for stem, image in restored.items():
        x = image.transpose(2, 0, 1)[None].astype(np.float64) / 255
        assert server[f"{stem}.png", "piqe"] == piqe(torch.from_numpy(x), None).item()

    # A reference baseline runs on the phase's inputs and is scored the same way.
    plan = baselines.baseline_plan(phases=[arena.phase], selection=["bicubic"])
    assert [item.skip_reason for item in plan] == [""]
    [entry] = baselines.baselines_run(plan=plan).entered
    entry = wait_for_submission(entry.pk, worker=cpu_worker, timeout=120)
    assert entry.status == "scored", entry.failure_reason

    board = _api(user).get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
    [row] = [r for r in board["rows"] if not r["is_reference"]]
    assert (row["rank"], row["team_name"], row["method_name"]) == (1, team.name, "upscaler")
    assert row["scores"]["piqe"] == pytest.approx(np.mean([server[f"{s}.png", "piqe"] for s in inputs]))
    [reference] = [r for r in board["rows"] if r["is_reference"]]  # shown, unranked
    assert reference["method_name"] == "bicubic" and reference["scores"]["piqe"] == entry.scores["piqe"]

    # The viewer: input and restored images; no ground-truth pane, no error map, for anyone.
    web = APIClient()
    for who in (user, arena.organizer):
        web.force_login(who)
        page = web.get(f"/submissions/{submission.pk}/compare/?image=im0").content.decode()
        assert "/im0/restored.png" in page and "/im0/input.png" in page
        assert "/truth.png" not in page and "/error.png" not in page and "has no ground truth" in page
        for kind in ("truth", "error"):
            assert web.get(f"/submissions/{submission.pk}/images/im0/{kind}.png").status_code == 404
    preview = storage.submission_preview_for_reading(arena.phase, submission.pk, "im0", hidden=False)
    assert np.array_equal(np.asarray(Image.open(preview)), restored["im0"])
    assert not list(storage.submission_previews_dir(arena.phase, submission.pk, hidden=True).glob("*.png"))
