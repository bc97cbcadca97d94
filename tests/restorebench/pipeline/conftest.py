"""Pipeline tests leave jobs to real workers; before the test database is flushed, wait until no
worker is still writing to it (a TRUNCATE racing a worker's transaction can deadlock)."""

import pytest
from rb_test_helpers import wait_for


@pytest.fixture(autouse=True)
def _workers_idle_before_flush(request):
    yield
    if request.node.get_closest_marker("django_db") is None:
        return
    from restorebench.submissions.models import EvaluationJob

    wait_for(
        lambda: not EvaluationJob.objects.filter(status__in=("queued", "running")).exists(),
        timeout=120,
        why="workers to finish this test's jobs",
    )
