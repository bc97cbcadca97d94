"""The broker is unreachable when a submission arrives: the submission is still accepted, its job
stays `pending` in the database, and once the broker is back the reaper sends it and it is scored."""

import datetime as dt

import pytest
from rb_test_helpers import wait_for_submission
from restorebench.celery_app import app
from restorebench.submissions.jobs import evaluation_jobs_reap
from restorebench.submissions.models import EvaluationJob
from restorebench.submissions.services import submission_create

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

# Nothing listens on port 1: connecting is refused at once, as when RabbitMQ is stopped.
DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1//"


def test_a_submission_made_while_the_broker_is_down_is_scored_once_it_is_back(
    make_arena, make_participant, cpu_worker, monkeypatch
):
    arena = make_arena(images=2)
    user, _ = make_participant(arena)
    live_broker = app.conf.broker_url
    monkeypatch.setattr(app.conf, "broker_url", DEAD_BROKER)

    submission = submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])

    job = EvaluationJob.objects.get(submission=submission)
    assert (job.status, job.enqueued_at) == ("pending", None)
    submission.refresh_from_db()
    assert submission.status == "queued"

    # Still down: the reaper tries, fails, and leaves the job pending for next time.
    later = job.created_at + dt.timedelta(minutes=5)
    assert evaluation_jobs_reap(now=later).sent_pending == 1
    job.refresh_from_db()
    assert job.status == "pending"

    monkeypatch.setattr(app.conf, "broker_url", live_broker)
    assert evaluation_jobs_reap(now=later).sent_pending == 1
    submission = wait_for_submission(submission.pk, worker=cpu_worker)
    assert submission.status == "scored", submission.failure_reason
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("done", 1)


def test_the_reaper_leaves_a_fresh_pending_job_alone(make_arena, make_participant, monkeypatch):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    monkeypatch.setattr(app.conf, "broker_url", DEAD_BROKER)
    submission = submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])
    job = EvaluationJob.objects.get(submission=submission)
    assert evaluation_jobs_reap(now=job.created_at + dt.timedelta(seconds=1)).sent_pending == 0
