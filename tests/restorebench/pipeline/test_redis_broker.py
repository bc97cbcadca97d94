"""Redis as the broker: a real worker on redis://127.0.0.1:6379/0 scores a submission end to end, and
the settings give Redis a visibility timeout longer than any job may run (a shorter one would hand a
running job to a second worker)."""

import os
import runpy
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from kombu import Connection
from rb_test_helpers import WorkerProcess, psnr_uint8, wait_for_submission
from restorebench.celery_app import app
from restorebench.submissions.models import EvaluationJob, ImageScore
from restorebench.submissions.services import submission_create

REDIS_URL = os.environ.get("RESTOREBENCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SETTINGS_FILE = Path(settings.BASE_DIR) / "restorebench" / "settings.py"


def _settings_with(monkeypatch, **environ: str) -> dict:
    """The settings module as a deployment with this environment reads it (not under pytest)."""
    monkeypatch.delenv("PYTEST_VERSION", raising=False)
    for name in ("RESTOREBENCH_BROKER_VISIBILITY_TIMEOUT_S", "RESTOREBENCH_JOB_TIME_LIMIT_S"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_a_redis_broker_gets_a_visibility_timeout_above_the_job_time_limit(monkeypatch):
    default = _settings_with(monkeypatch, RESTOREBENCH_BROKER_URL=REDIS_URL)
    assert default["CELERY_BROKER_URL"] == REDIS_URL
    assert default["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": 6 * 3600}
    assert (
        default["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] > default["CELERY_TASK_TIME_LIMIT"]
    )

    long_jobs = _settings_with(
        monkeypatch, RESTOREBENCH_BROKER_URL=REDIS_URL, RESTOREBENCH_JOB_TIME_LIMIT_S=str(8 * 3600)
    )
    assert long_jobs["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 8 * 3600 + 60 + 3600

    chosen = _settings_with(
        monkeypatch,
        RESTOREBENCH_BROKER_URL="rediss://cache:6380/2",
        RESTOREBENCH_BROKER_VISIBILITY_TIMEOUT_S="43200",
    )
    assert chosen["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": 43200.0}


def test_a_visibility_timeout_shorter_than_a_job_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="must exceed the job time limit"):
        _settings_with(
            monkeypatch, RESTOREBENCH_BROKER_URL=REDIS_URL, RESTOREBENCH_BROKER_VISIBILITY_TIMEOUT_S="3600"
        )


def test_rabbitmq_gets_no_redis_options(monkeypatch):
    amqp = _settings_with(monkeypatch, RESTOREBENCH_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//")
    assert "CELERY_BROKER_TRANSPORT_OPTIONS" not in amqp


@pytest.fixture
def redis_worker(worker_env, var_dir, monkeypatch):
    """A worker subprocess whose settings read the Redis URL, and this process sending to Redis too."""
    with Connection(REDIS_URL, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)  # fail loudly, not by a timeout, if Redis is not running
    env = {**worker_env, "RESTOREBENCH_BROKER_URL": REDIS_URL}
    worker = WorkerProcess(
        name="redis",
        queues=[settings.RESTOREBENCH_QUEUES["cpu"]],
        env=env,
        log_path=var_dir / "worker-redis.log",
    )
    monkeypatch.setattr(app.conf, "broker_url", REDIS_URL)
    worker.start()
    yield worker
    worker.stop()
    with Connection(REDIS_URL, connect_timeout=5) as conn:  # remove this run's queues from Redis
        channel = conn.default_channel
        for queue in settings.RESTOREBENCH_QUEUES.values():
            channel.queue_delete(queue)
            # kombu keeps each exchange's bindings in sets of their own, which queue_delete leaves.
            channel.client.delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.mark.services
@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_a_submission_is_scored_through_a_redis_broker(make_arena, make_participant, redis_worker):
    arena = make_arena(images=3)
    user, _team = make_participant(arena)
    restored = arena.restored(noise=5, seed=7)

    submission = submission_create(
        phase=arena.phase, user=user, archive=[arena.zip_of(restored)], method_name="via redis"
    )

    submission = wait_for_submission(submission.pk, worker=redis_worker)
    assert submission.status == "scored", submission.failure_reason
    job = EvaluationJob.objects.get(submission=submission)
    assert (job.status, job.attempts, job.progress_done) == ("done", 1, 3)
    assert job.worker.startswith("redis-")
    expected = {name: psnr_uint8(restored[name], gt) for name, gt in arena.ground_truth.items()}
    rows = ImageScore.objects.filter(job=job, metric="psnr")
    assert {r.image_name: r.value for r in rows} == pytest.approx(expected, abs=1e-9)
    assert "Connected to redis://" in redis_worker.log_tail(100_000)
