"""A Redis broker restarted while a job waits in its queue: the worker is busy with one job, a second
waits in Redis, and Redis goes down and comes back (with its append-only file, as docs/deployment.md
asks of a Redis broker). Once it is back, the worker reconnects and scores the waiting job; each job is
scored exactly once, with the right values.

Redis is a private server the test starts on a free port (the machine's Redis on 6379 is never
touched), which also keeps every other test's worker away from these jobs.
"""

import time

import pytest
from django.conf import settings
from rb_private_services import PrivateRedis
from rb_test_helpers import WorkerProcess, psnr_uint8, wait_for, wait_for_submission
from restorebench.celery_app import app
from restorebench.submissions.models import EvaluationJob, ImageScore
from restorebench.submissions.services import submission_create

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]


@pytest.fixture
def private_redis(monkeypatch):
    redis = PrivateRedis(appendonly=True).start()
    monkeypatch.setattr(app.conf, "broker_url", redis.url())
    yield redis
    redis.destroy()


def test_a_job_queued_when_redis_restarts_is_scored_once_redis_is_back(
    private_redis, make_arena, make_participant, worker_env, var_dir
):
    busy = make_arena(images=3, delay_per_image_s=2.0)
    waiting = make_arena(images=2)
    busy_user, _ = make_participant(busy)
    waiting_user, _ = make_participant(waiting)
    worker = WorkerProcess(
        name="redis-restart", queues=[settings.RESTOREBENCH_QUEUES["cpu"]],
        env={**worker_env, "RESTOREBENCH_BROKER_URL": private_redis.url()},
        log_path=var_dir / "worker-redis-restart.log",
    ).start()  # fmt: skip
    try:
        first = submission_create(phase=busy.phase, user=busy_user, archive=[busy.submission_zip(seed=3)])
        first_job = EvaluationJob.objects.get(submission=first)
        wait_for(
            lambda: EvaluationJob.objects.filter(pk=first_job.pk, status="running").exists(),
            timeout=60,
            why="the first job to be running",
        )
        restored = waiting.restored(noise=6, seed=5)
        second = submission_create(phase=waiting.phase, user=waiting_user, archive=[waiting.zip_of(restored)])
        second_job = EvaluationJob.objects.get(submission=second)
        assert second_job.status == "queued"  # in Redis, behind the running job

        private_redis.stop()
        time.sleep(2.0)
        private_redis.start()

        second = wait_for_submission(second.pk, worker=worker, timeout=150)
        first = wait_for_submission(first.pk, worker=worker, timeout=60)
    finally:
        worker.stop()

    log = worker.log_tail(200_000)
    assert (first.status, second.status) == ("scored", "scored"), log[-4000:]
    for submission, images in ((first, 3), (second, 2)):
        assert EvaluationJob.objects.filter(submission=submission).count() == 1
        job = EvaluationJob.objects.get(submission=submission)
        assert (job.status, job.attempts) == ("done", 1), log[-4000:]
        rows = list(ImageScore.objects.filter(job=job).values_list("image_name", "metric"))
        assert len(rows) == len(set(rows)) == images * 2
    psnr = {r.image_name: r.value for r in ImageScore.objects.filter(job=second_job, metric="psnr")}
    expected = {n: psnr_uint8(restored[n], gt) for n, gt in waiting.ground_truth.items()}
    assert psnr == pytest.approx(expected, abs=1e-9)
    assert "Connection to broker lost" in log or "Cannot connect to redis" in log, log[-4000:]
