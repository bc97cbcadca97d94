"""A worker SIGKILLed while a participant's model runs in its sandbox: the sandboxed child dies with it
(not minutes later at its CPU limit), and the scratch folders the run left are swept by the next worker
to start and by the cleanup job."""

import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from rb_test_helpers import WorkerProcess, wait_for, wait_for_submission
from rb_test_models import give_inputs
from restorebench.submissions import tasks
from restorebench.submissions.models import EvaluationJob
from restorebench.submissions.services import submission_create_model

from evaluator.model_runner.process import CHILD
from evaluator.model_runner.scratch import SCRATCH_PREFIX
from tests.evaluator.model_runner.conftest import Models

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def _sandbox_children() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and str(CHILD).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def worker_tmp():
    """The workers' temporary folder (TMPDIR), reachable by `nobody`."""
    folder = Path(tempfile.mkdtemp(prefix="rb-worker-tmp-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_killed_workers_model_run_dies_with_it_and_its_scratch_is_swept(
    make_arena, make_participant, platform_dirs, worker_env, var_dir, worker_tmp, tmp_path, monkeypatch
):
    # The gpu queue has no other consumer in the suite, so the job can only go to our workers.
    arena = make_arena(images=1, compute="gpu")
    give_inputs(arena, platform_dirs / "storage")
    user, _ = make_participant(arena)
    before = set(_sandbox_children())
    env = {**worker_env, "TMPDIR": str(worker_tmp)}
    doomed = WorkerProcess(
        name="doomed-model",
        queues=[settings.RESTOREBENCH_QUEUES["gpu"]],
        env=env,
        log_path=var_dir / "worker-doomed-model.log",
    )
    doomed.start()
    children: list[int] = []
    try:
        forever = Models(tmp_path).loop(10**12).read_bytes()
        submission = submission_create_model(
            phase=arena.phase, user=user, model=[forever], manifest={"task": "denoise", "color": "gray"}
        )
        job = EvaluationJob.objects.get(submission=submission)
        children = wait_for(
            lambda: [pid for pid in _sandbox_children() if pid not in before and _alive(pid)],
            timeout=60,
            why="the model's sandboxed child to start",
        )
        time.sleep(1.0)  # confined and busy in the model
    finally:
        doomed.kill()  # SIGKILL to the worker's process group; the child has a group of its own

    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in children if _alive(pid)]
    for pid in survivors:  # never leave a runaway behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "the sandboxed child outlived its worker"
    assert [p.name for p in worker_tmp.iterdir() if p.name.startswith(SCRATCH_PREFIX)]
    job_folder = Path(settings.RESTOREBENCH_STORAGE_DIR) / "tmp" / f"model-job-{job.pk}-1"
    assert job_folder.is_dir()

    # The replacement sweeps the dead run's sandbox scratch as it starts, then takes the redelivered
    # job over (a short wall-time limit ends the endless model quickly).
    limits = json.dumps({"wall_seconds": 3})
    replacement = WorkerProcess(
        name="replacement-model",
        queues=[settings.RESTOREBENCH_QUEUES["gpu"]],
        env={**env, "RESTOREBENCH_MODEL_RUN_LIMITS": limits},
        log_path=var_dir / "worker-replacement-model.log",
    )
    replacement.start()
    try:
        submission = wait_for_submission(submission.pk, worker=replacement, timeout=120)
    finally:
        replacement.stop()
    assert submission.status == "failed" and "wall_time" in submission.failure_reason
    assert not [p for p in worker_tmp.iterdir() if p.name.startswith(SCRATCH_PREFIX)]
    # The killed attempt's work folder belongs to no running attempt now: the cleanup job takes it.
    assert job_folder.is_dir()
    monkeypatch.setattr(tempfile, "tempdir", str(worker_tmp))
    assert tasks.cleanup_uploads()["job_folders_deleted"] == 1
    assert not job_folder.exists()
