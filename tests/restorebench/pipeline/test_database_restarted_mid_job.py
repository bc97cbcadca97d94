"""PostgreSQL restarted while a worker is scoring: the worker's connections are cut mid-job, the server
is down for a few seconds, then back. The job must still finish exactly once (one job row, one set of
per-image scores, the right values) and nothing may be lost: the heartbeat resumes once the server is
back (a dead heartbeat would let the reaper hand a live job to a second worker), and the results
computed during the outage are stored by the same attempt instead of being thrown away and rescored.

The database is a private cluster the test starts itself (initdb + pg_ctl on a free port), so the
machine's shared PostgreSQL is never stopped; the broker is a private Redis, so no other test's worker
can take the job. Both the worker and this process use the private database for the test's duration.
"""

import time

import psycopg
import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connections
from rb_private_services import PrivatePostgres, PrivateRedis
from rb_test_helpers import WorkerProcess, psnr_uint8, wait_for, wait_for_submission
from restorebench.celery_app import app
from restorebench.submissions.models import EvaluationJob, ImageScore, Submission
from restorebench.submissions.services import submission_create

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

OUTAGE_S = 3.0
IMAGES = 8


@pytest.fixture
def private_database(transactional_db):
    """Point this process's default connection at a migrated database on a private cluster; put the
    test database back before pytest-django flushes it."""
    cluster = PrivatePostgres().init()
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE restorebench")
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(
        NAME="restorebench", HOST="127.0.0.1", PORT=str(cluster.port), USER="postgres", PASSWORD=""
    )
    ContentType.objects.clear_cache()
    try:
        call_command("migrate", verbosity=0)
        yield cluster
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        ContentType.objects.clear_cache()
        cluster.destroy()


@pytest.fixture
def private_broker(monkeypatch):
    redis = PrivateRedis().start()
    monkeypatch.setattr(app.conf, "broker_url", redis.url())
    yield redis
    redis.destroy()


def test_a_job_survives_a_database_restart_mid_run_and_finishes_exactly_once(
    private_database, private_broker, make_arena, make_participant, worker_env, var_dir
):
    arena = make_arena(images=IMAGES, delay_per_image_s=2.5)
    user, _ = make_participant(arena)
    env = {
        **worker_env,
        "RESTOREBENCH_DATABASE_URL": private_database.url("restorebench"),
        "RESTOREBENCH_BROKER_URL": private_broker.url(),
    }
    worker = WorkerProcess(
        name="pg-restart", queues=[settings.RESTOREBENCH_QUEUES["cpu"]], env=env,
        log_path=var_dir / "worker-pg-restart.log",
    ).start()  # fmt: skip
    try:
        restored = arena.restored(noise=5, seed=11)
        submission = submission_create(phase=arena.phase, user=user, archive=[arena.zip_of(restored)])
        job = EvaluationJob.objects.get(submission=submission)

        def running_with_progress():
            job.refresh_from_db()
            return job.status == "running" and job.progress_done >= 1

        wait_for(running_with_progress, timeout=90, why="the job to be running")
        connections["default"].close()
        private_database.stop("fast")  # cuts the worker's sessions, as an operator's restart does
        time.sleep(OUTAGE_S)
        private_database.start()
        job.refresh_from_db()
        progress_at_restart = job.progress_done

        def heartbeat_resumed():
            job.refresh_from_db()
            return job.attempts == 1 and (job.progress_done > progress_at_restart or job.status == "done")

        wait_for(heartbeat_resumed, timeout=60, why="the same attempt to report progress again")

        submission = wait_for_submission(submission.pk, worker=worker, timeout=150)
    finally:
        worker.stop()

    log = worker.log_tail(200_000)
    assert submission.status == "scored", (submission.failure_reason, log[-4000:])
    assert EvaluationJob.objects.filter(submission=submission).count() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("done", 1), log[-4000:]
    rows = list(ImageScore.objects.filter(job=job).values_list("image_name", "metric"))
    assert len(rows) == len(set(rows)) == IMAGES * 2
    assert ImageScore.objects.count() == IMAGES * 2  # no stray rows of an abandoned attempt
    psnr = {r.image_name: r.value for r in ImageScore.objects.filter(job=job, metric="psnr")}
    expected = {n: psnr_uint8(restored[n], gt) for n, gt in arena.ground_truth.items()}
    assert psnr == pytest.approx(expected, abs=1e-9)
    assert Submission.objects.get(pk=submission.pk).scores["psnr"] == pytest.approx(
        sum(expected.values()) / len(expected), abs=1e-9
    )
    assert "terminating connection due to administrator command" in log, log[-4000:]  # it was cut

