"""The evaluation task sends itself again when the database is briefly unavailable, instead of leaving
the job queued until the reaper's timeout."""

import pytest
from django.db import OperationalError
from restorebench.submissions import jobs
from restorebench.submissions.tasks import evaluate_submission


def test_a_locked_database_retries_the_task_until_it_runs(monkeypatch, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    calls = []

    def flaky_run(*, job_id: int, worker: str, redelivered: bool) -> str:
        calls.append(job_id)
        if len(calls) < 3:
            raise OperationalError("database is locked")
        return "done"

    monkeypatch.setattr(jobs, "evaluation_job_run", flaky_run)
    monkeypatch.setattr(evaluate_submission, "retry_backoff", False)  # no sleeping in the test
    result = evaluate_submission.apply(args=[7])
    assert result.get() == "done"
    assert calls == [7, 7, 7]


def test_other_errors_are_not_retried_by_the_task(monkeypatch):
    def broken_run(*, job_id: int, worker: str, redelivered: bool) -> str:
        raise ValueError("a bug")

    monkeypatch.setattr(jobs, "evaluation_job_run", broken_run)
    result = evaluate_submission.apply(args=[7])
    with pytest.raises(ValueError, match="a bug"):
        result.get()
