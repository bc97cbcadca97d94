"""`manage.py run_baselines --deep-models`: a deep reference method exported to ONNX and entered as a
reference model submission, run by the worker's model path in the sandbox, scored, and shown on the
leaderboard unranked with its runtime and parameter count; the same file is not entered twice."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from rb_test_helpers import psnr_uint8
from restorebench import storage
from restorebench.baselines import services as baselines
from restorebench.challenges.models import Phase
from restorebench.leaderboards.selectors import leaderboard_compute
from restorebench.submissions import jobs
from restorebench.submissions.models import EvaluationJob, ImageScore, Submission

from benchdata.image_files import read_image, to_uint8
from benchdata.track_data import load_public_input

from .test_run_baselines import BUNDLE as IMAGE_BUNDLE

# Models read 8-bit PNG inputs: a denoising track whose noisy inputs are clipped and rounded.
BUNDLE = IMAGE_BUNDLE.replace(
    "degradation: {sigma: 25}", "degradation: {sigma: 25, clip: true, quantize: true}"
)
assert BUNDLE != IMAGE_BUNDLE


@pytest.fixture
def phase(load_bundle) -> Phase:
    return load_bundle(BUNDLE)


@pytest.fixture
def sent(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: calls.append(kw) or True)
    return calls


def _run(*args: str) -> str:
    out = StringIO()
    call_command("run_baselines", "--challenge", "baselines-test", "--no-progress", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_a_deep_method_is_entered_as_an_onnx_model_and_scored_through_the_sandbox(phase, sent):
    assert baselines.deep_model_entries(phase) == ["dncnn_s25", "ipt_denoise25"]
    out = _run("--methods", "none", "--deep-models", "dncnn_s25")
    assert "entered 1, skipped 0, failed 0" in out
    submission = Submission.objects.get(phase=phase, method_name="dncnn_s25")
    assert (submission.is_reference, submission.kind, submission.model_format) == (True, "model", "onnx")
    assert submission.model_manifest["color"] == "gray" and submission.model_manifest["task"] == "denoise"
    assert "Code version: " + submission.sha256[:12] in submission.description

    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w") == "done"
    submission.refresh_from_db()
    assert submission.status == "scored", submission.failure_reason

    # DnCNN (trained at sigma 25) must clearly beat its noisy inputs, computed here independently.
    public = storage.phase_inputs_dir(phase)
    hidden = storage.phase_ground_truth_dir(phase)
    items = json.loads((public / "manifest.json").read_text())["items"]
    noisy = np.mean(
        [
            psnr_uint8(
                to_uint8(load_public_input(public, item)),
                to_uint8(read_image(hidden / f"{item['id']}.png")),
            )
            for item in items
        ]
    )
    assert submission.scores["psnr"] > noisy + 3
    assert ImageScore.objects.filter(job=job, metric="psnr").count() == len(items)
    # The model card's 167,569, less what the ONNX export folds away (batch-norm statistics).
    assert 150_000 < submission.model_parameters <= 167_569
    assert submission.model_seconds_per_image > 0 and submission.model_peak_memory_bytes > 0

    [row] = leaderboard_compute(phase=phase, use_cache=False).rows
    assert (row.is_reference, row.rank, row.kind) == (True, None, "model")
    assert row.parameters == submission.model_parameters

    again = _run("--methods", "none", "--deep-models", "dncnn_s25")
    assert "entered 0, skipped 1" in again and "already entered" in again


@pytest.mark.django_db
def test_unknown_deep_entries_are_refused(phase):
    with pytest.raises(CommandError, match="unknown deep entry nosuch; exportable: .*dncnn_s25"):
        _run("--methods", "none", "--deep-models", "nosuch")
    assert not Submission.objects.filter(phase=phase).exists()
