"""`manage.py run_baselines`: restores a phase's inputs with reference methods, enters the zips as
reference submissions through the normal pipeline (scored by the worker, unranked on the
leaderboard), and skips methods already entered at the same code version."""

import io
import json
import zipfile
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image
from rb_test_helpers import psnr_uint8, wait_for_submission
from restorebench import storage
from restorebench.baselines import services as baselines
from restorebench.baselines.services import planning
from restorebench.challenges.models import Phase
from restorebench.leaderboards.selectors import leaderboard_compute
from restorebench.submissions.models import Submission

from benchdata.image_files import read_image, to_uint8
from benchdata.track_data import load_public_input

BUNDLE = """\
format: 1
challenge: {slug: baselines-test, title: Baselines test}
tracks:
  - slug: denoise
    title: Denoising
    task: denoise
    degradation: {sigma: 25}
    scoring: {metrics: [psnr, ssim], ranking_metric: psnr}
    data: {dataset: starter, seed: 11}
    phases:
      - {slug: dev, title: Development, split: val,
         starts_at: 2020-01-01T00:00:00Z, ends_at: 2099-01-01T00:00:00Z}
"""


@pytest.fixture
def phase(load_bundle) -> Phase:
    return load_bundle(BUNDLE)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("run_baselines", "--challenge", "baselines-test", "--no-progress", *args, stdout=out)
    return out.getvalue()


def _archive_images(submission: Submission) -> dict[str, np.ndarray]:
    from django.conf import settings

    path = Path(settings.RESTOREBENCH_STORAGE_DIR) / submission.archive_path
    with zipfile.ZipFile(path) as archive:
        return {name: np.asarray(Image.open(io.BytesIO(archive.read(name)))) for name in archive.namelist()}


@pytest.mark.django_db
def test_methods_are_entered_once_per_code_version(phase, monkeypatch):
    first = _run("--methods", "identity,gaussian")
    assert "entered 2, skipped 0, failed 0" in first
    entered = Submission.objects.filter(phase=phase, is_reference=True)
    assert sorted(entered.values_list("method_name", flat=True)) == ["gaussian", "identity"]
    version = baselines.method_code_version("identity")
    assert f"Code version: {version}" in entered.get(method_name="identity").description

    again = _run("--methods", "identity,gaussian")
    assert "entered 0, skipped 2, failed 0" in again and "already entered at code version" in again
    assert entered.count() == 2

    # A changed module is a new code version: the method is entered again (patched where the plan
    # looks it up).
    real = baselines.method_code_version
    monkeypatch.setattr(
        planning, "method_code_version", lambda name: "0123456789ab" if name == "identity" else real(name)
    )
    assert "entered 1, skipped 1" in _run("--methods", "identity,gaussian")
    assert "entered 2, skipped 0" in _run("--methods", "identity,gaussian", "--force")
    assert entered.count() == 5


@pytest.mark.django_db
def test_the_identity_baseline_is_the_rounded_input(phase, settings):
    _run("--methods", "identity")
    submission = Submission.objects.get(phase=phase, method_name="identity")
    public = storage.phase_inputs_dir(phase)
    manifest = json.loads((public / "manifest.json").read_text())
    images = _archive_images(submission)
    assert sorted(images) == phase.expected_images
    for item in manifest["items"]:
        assert np.array_equal(
            images[item["id"] + ".png"], to_uint8(np.clip(load_public_input(public, item), 0, 1))
        )
    assert submission.runtime_per_mp is not None and submission.runtime_per_mp >= 0


@pytest.mark.django_db
def test_a_process_pool_gives_the_same_outputs(phase):
    _run("--methods", "gaussian", "--jobs", "2")
    _run("--methods", "gaussian", "--force")
    pooled, inline = (
        _archive_images(s) for s in Submission.objects.filter(phase=phase).order_by("created_at")
    )
    assert sorted(pooled) == sorted(inline) == phase.expected_images
    assert all(np.array_equal(pooled[name], inline[name]) for name in pooled)


@pytest.mark.django_db
def test_unknown_or_unsuitable_methods_are_refused(phase):
    with pytest.raises(CommandError, match="unknown method 'nosuch'; registered methods: .*identity"):
        _run("--methods", "nosuch")
    with pytest.raises(CommandError, match="bicubic serve none of the selected phases' tasks"):
        _run("--methods", "bicubic")
    assert not Submission.objects.filter(phase=phase).exists()


@pytest.mark.django_db
def test_fast_selection_is_the_table_as_registered():
    from reference_methods.registry import list_methods

    registered = {m.name for m in list_methods("sr")}
    assert baselines.methods_for_task("sr", "fast") == sorted(registered & baselines.FAST_METHODS)
    assert "bicubic" in baselines.methods_for_task("sr", "fast")
    assert "identity" not in baselines.methods_for_task("sr", "fast")  # fast, but not an sr method
    assert baselines.methods_for_task("sr", "all") == sorted(registered)


@pytest.mark.services
@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_baselines_are_scored_by_the_worker_and_shown_unranked(phase, cpu_worker, settings):
    out = _run("--methods", "identity", "--wait", "120")
    assert "entered 1" in out
    submission = Submission.objects.get(phase=phase, method_name="identity")
    submission = wait_for_submission(submission.pk, worker=cpu_worker)
    assert submission.status == "scored", submission.failure_reason
    gt_dir = storage.phase_ground_truth_dir(phase)
    images = _archive_images(submission)
    expected = np.mean([psnr_uint8(images[name], to_uint8(read_image(gt_dir / name))) for name in images])
    assert submission.scores["psnr"] == pytest.approx(expected, abs=1e-9)
    [row] = leaderboard_compute(phase=phase).rows
    assert (row.is_reference, row.rank, row.method_name) == (True, None, "identity")


BLIND = """\
format: 1
challenge: {slug: baselines-test, title: Baselines test}
tracks:
  - slug: blind
    title: Blind deblurring
    task: deblur
    degradation: {sigma: 2, kernel: {type: gaussian, size: 9, sigma: 1.6}}
    data: {dataset: starter, seed: 11, disclose_kernel: false}
    phases:
      - {slug: dev, title: Development, split: val,
         starts_at: 2020-01-01T00:00:00Z, ends_at: 2099-01-01T00:00:00Z}
"""


@pytest.mark.django_db
def test_a_blind_deblurring_track_refuses_kernel_methods_and_enters_identity(load_bundle):
    phase = load_bundle(BLIND)
    from restorebench import storage

    assert not (storage.phase_inputs_dir(phase) / "kernels").exists()
    plan = {item.method: item for item in baselines.baseline_plan(phases=[phase], selection="fast")}
    assert plan["identity"].skip_reason == ""
    assert plan["wiener"].skip_reason == (
        "method 'wiener' needs the kernel, which this deblur track does not disclose (a blind track); "
        "choose a method that does without it"
    )
    report = baselines.baselines_run(plan=[plan["identity"], plan["wiener"]])
    assert [s.method_name for s in report.entered] == ["identity"]
    assert any("wiener" in line and "blind" in line for line in report.skipped)


@pytest.mark.django_db
def test_a_blind_deblurring_track_plans_the_blind_l0_methods(load_bundle):
    phase = load_bundle(BLIND)
    plan = {item.method: item for item in baselines.baseline_plan(phases=[phase], selection="all")}
    for name in ("l0_deblur", "l0_text_deblur"):
        assert plan[name].skip_reason == ""
    assert plan["hyper_laplacian"].skip_reason.startswith("method 'hyper_laplacian' needs the kernel")
