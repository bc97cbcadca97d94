"""`manage.py demo --no-serve` end to end on a tiny bundle: starter data, the challenge, the demo
accounts and team, an embedded worker of its own on the real broker, baselines scored onto the
leaderboard; and running it again duplicates nothing."""

import json
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rb_test_helpers import psnr_uint8
from restorebench import storage
from restorebench.accounts.models import Team, TrackEntry
from restorebench.challenges.models import Challenge, Phase
from restorebench.leaderboards.selectors import leaderboard_compute
from restorebench.submissions.models import EvaluationJob, Submission
from restorebench.web import demo

from benchdata.image_files import read_image, to_uint8
from benchdata.track_data import load_public_input

pytestmark = [pytest.mark.services, pytest.mark.timeout(300), pytest.mark.django_db(transaction=True)]

TINY_DEMO = """\
format: 1
challenge: {slug: demo-tiny, title: Tiny demo}
tracks:
  - slug: denoise
    title: Denoising
    task: denoise
    degradation: {sigma: 25}
    scoring: {metrics: [psnr, ssim], ranking_metric: psnr}
    data: {dataset: starter, seed: 3}
    phases:
      - slug: dev
        title: Development
        split: val
        starts_at: 2020-01-01T00:00:00Z
        ends_at: 2099-01-01T00:00:00Z
"""


def _counts() -> tuple[int, ...]:
    return (
        Challenge.objects.count(),
        Phase.objects.count(),
        Submission.objects.count(),
        EvaluationJob.objects.count(),
        get_user_model().objects.count(),
        Team.objects.count(),
    )


def test_demo_fills_the_leaderboard_and_reruns_without_duplicating(platform_dirs, settings, tmp_path):
    settings.VAR_DIR = platform_dirs
    settings.RESTOREBENCH_DATASETS_DIR = platform_dirs / "datasets"
    settings.RESTOREBENCH_SCORING_FUNCTION = "evaluator.jobs.run_scoring_job"
    bundle = tmp_path / "tiny.yaml"
    bundle.write_text(TINY_DEMO)
    args = [
        "--no-serve",
        "--bundle",
        str(bundle),
        "--examples",
        "none",
        "--methods",
        "identity,gaussian",
        "--deep-models",
        "dncnn_s25",
        "--jobs",
        "1",
        "--timeout",
        "150",
    ]

    out = StringIO()
    call_command("demo", *args, stdout=out)
    printed = out.getvalue()
    assert "RestoreBench demo is ready." in printed
    assert f"{demo.ORGANIZER[0]} / {demo.ORGANIZER[1]}" in printed
    assert f"{demo.PARTICIPANT[0]} / {demo.PARTICIPANT[1]}" in printed
    assert Client().login(username=demo.PARTICIPANT[0], password=demo.PARTICIPANT[1])
    assert Client().login(username=demo.ORGANIZER[0], password=demo.ORGANIZER[1])

    phase = Phase.objects.get(track__challenge__slug="demo-tiny")
    assert f"/phases/{phase.pk}/leaderboard/" in printed
    participant = get_user_model().objects.get(username=demo.PARTICIPANT[0])
    assert TrackEntry.objects.filter(team__memberships__user=participant, track=phase.track).exists()

    board = leaderboard_compute(phase=phase)
    assert sorted((row.method_name, row.rank, row.is_reference) for row in board.rows) == [
        ("dncnn_s25", None, True),
        ("gaussian", None, True),
        ("identity", None, True),
    ]
    # The deep baseline came through the model-submission sandbox, which measured it.
    dncnn = next(row for row in board.rows if row.method_name == "dncnn_s25")
    identity = next(row for row in board.rows if row.method_name == "identity")
    assert dncnn.scores["psnr"] > identity.scores["psnr"] + 3
    model = Submission.objects.get(phase=phase, method_name="dncnn_s25")
    assert model.kind == "model" and model.model_parameters > 100_000 and model.model_seconds_per_image > 0
    # The identity baseline is the input rounded to 8 bits: its PSNR, computed here independently.
    public = storage.phase_inputs_dir(phase)
    hidden = storage.phase_ground_truth_dir(phase)
    items = json.loads((public / "manifest.json").read_text())["items"]
    expected = np.mean(
        [
            psnr_uint8(
                to_uint8(np.clip(load_public_input(public, item), 0, 1)),
                to_uint8(read_image(hidden / f"{item['id']}.png")),
            )
            for item in items
        ]
    )
    identity = next(row for row in board.rows if row.method_name == "identity")
    assert identity.scores["psnr"] == pytest.approx(expected, abs=1e-9)
    assert (platform_dirs / "demo-worker.log").read_text().count(" ready.") >= 1

    before = _counts()
    again = StringIO()
    # Nothing is left to score, so the rerun needs no worker of its own (it would start one otherwise).
    call_command("demo", *args, "--no-worker", stdout=again)
    assert "already exists; left as it is" in again.getvalue()
    assert "0 to restore, 2 already entered" in again.getvalue()
    assert _counts() == before
