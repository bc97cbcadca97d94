"""The platform's side of the model sandbox: scratch folders a killed worker left are swept when a
worker starts and by the periodic cleanup job (only those no live run owns); each run's isolation
record is kept and shown; a host that cannot sandbox fails model jobs as platform errors unless
RESTOREBENCH_SANDBOX_ALLOW_WEAK says otherwise."""

import os
import subprocess
import sys
import tempfile

import pytest
from celery.signals import worker_ready
from rb_test_models import MANIFEST, give_inputs, identity_conv_onnx
from restorebench.submissions import jobs, tasks
from restorebench.submissions.models import EvaluationJob
from restorebench.submissions.selectors import submission_model_summary
from restorebench.submissions.services import submission_create, submission_create_model

from evaluator.model_runner.scratch import SCRATCH_PREFIX, process_start_time

FULL_ISOLATION = {
    "network": "netns",
    "filesystem": "landlock",
    "parent_death": "pdeathsig",
    "user": "nobody" if os.getuid() == 0 else "unprivileged",
}


@pytest.fixture
def sent(monkeypatch) -> list:
    """Record what would be sent to the broker instead of sending it (jobs run in-process here)."""
    calls = []
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: calls.append(kw) or True)
    return calls


@pytest.fixture
def scratch_world(settings, tmp_path, monkeypatch, make_arena, make_participant, sent) -> dict:
    """Scratch folders of every kind: the sandbox's (in the worker's temporary folder) of a live and of
    a dead process, and the platform's per-attempt work folders of a running attempt, of an attempt
    that was superseded, of a job that is not running and of a job that does not exist."""
    settings.RESTOREBENCH_STORAGE_DIR = tmp_path / "storage"
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))

    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    running = EvaluationJob.objects.get(
        submission=submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])
    )
    jobs.evaluation_job_claim(job_id=running.pk, worker="w1")
    jobs.evaluation_job_claim(job_id=running.pk, worker="w2", redelivered=True)  # attempt 2 runs now
    # Other results: the same zip again would be refused as already submitted.
    pending = EvaluationJob.objects.get(
        submission=submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip(seed=2)])
    )

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = os.getpid()
    folders = {
        "sandbox_live": system_tmp / f"{SCRATCH_PREFIX}{me}.{process_start_time(me)}-a",
        "sandbox_dead": system_tmp / f"{SCRATCH_PREFIX}{dead.pid}.{process_start_time(me)}-b",
        "job_running": tmp_path / "storage" / "tmp" / f"model-job-{running.pk}-2",
        "job_superseded": tmp_path / "storage" / "tmp" / f"model-job-{running.pk}-1",
        "job_pending": tmp_path / "storage" / "tmp" / f"model-job-{pending.pk}-1",
        "job_unknown": tmp_path / "storage" / "tmp" / "model-job-999999-1",
    }
    for folder in folders.values():
        (folder / "outputs").mkdir(parents=True)
        (folder / "outputs" / "0000.png").write_bytes(b"restored")
    return folders


def _left(folders: dict) -> set[str]:
    return {name for name, folder in folders.items() if folder.exists()}


@pytest.mark.django_db
def test_a_starting_worker_sweeps_the_model_scratch_no_live_run_owns(scratch_world):
    worker_ready.send(sender=None)
    assert _left(scratch_world) == {"sandbox_live", "job_running"}


@pytest.mark.django_db
def test_the_periodic_cleanup_job_sweeps_the_model_scratch_no_live_run_owns(scratch_world):
    report = tasks.cleanup_uploads()
    assert _left(scratch_world) == {"sandbox_live", "job_running"}
    assert (report["sandbox_folders_deleted"], report["job_folders_deleted"]) == (1, 3)


# --- isolation ------------------------------------------------------------------------------------


@pytest.fixture
def model_submission(make_arena, make_participant, platform_dirs, sent):
    arena = make_arena(images=1)
    give_inputs(arena, platform_dirs / "storage")
    user, _ = make_participant(arena)
    submission = submission_create_model(
        phase=arena.phase, user=user, model=[identity_conv_onnx()], manifest=MANIFEST
    )
    return submission, EvaluationJob.objects.get(submission=submission), user


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_model_run_keeps_its_isolation_record_for_organizers_and_the_submission_page(model_submission):
    submission, job, user = model_submission
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "done"
    job.refresh_from_db()
    assert job.model_run["sandbox"]["isolation"] == FULL_ISOLATION
    assert submission_model_summary(submission=submission)["isolation"] == FULL_ISOLATION

    from django.test import Client

    page = Client()
    page.force_login(user)
    html = page.get(f"/submissions/{submission.pk}/").content.decode()
    assert "network: netns, filesystem: landlock, parent_death: pdeathsig" in html


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_weak_sandbox_fails_model_jobs_as_a_platform_error_unless_the_site_allows_it(
    model_submission, settings
):
    submission, job, _ = model_submission
    # A host where the network namespace is not available (here: turned off in the limits).
    settings.RESTOREBENCH_MODEL_RUN_LIMITS = {"isolate_network": False}
    settings.RESTOREBENCH_SANDBOX_ALLOW_WEAK = False
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"  # retried later
    job.refresh_from_db()
    submission.refresh_from_db()
    assert job.error_kind == "platform"
    assert "model runs are refused on this host: the sandbox is incomplete" in job.error_message
    assert "RESTOREBENCH_SANDBOX_ALLOW_WEAK=1" in job.error_message
    assert submission.status == "queued"

    settings.RESTOREBENCH_SANDBOX_ALLOW_WEAK = True
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1", redelivered=True) == "done"
    job.refresh_from_db()
    assert job.model_run["sandbox"]["isolation"] == {**FULL_ISOLATION, "network": "none"}
    assert job.model_run["sandbox"]["network"] == "disabled by the caller"  # the detail, for organizers
