"""Twenty members of one team submit at the same moment: the per-day and total limits hold exactly
(the team row is locked while the limit is checked and the submission inserted)."""

import threading

import pytest
from django.db import connection
from restorebench.submissions.models import Submission
from restorebench.submissions.services import SubmissionLimitReached, submission_create

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

SUBMITTERS = 20


def _race(arena, users, uploads) -> tuple[list, list]:
    barrier = threading.Barrier(len(users))
    accepted, refused, crashed = [], [], []

    def submit(user, upload):
        try:
            barrier.wait()
            accepted.append(submission_create(phase=arena.phase, user=user, archive=[upload]).pk)
        except SubmissionLimitReached as error:
            refused.append(str(error))
        except Exception as error:  # anything else is a bug the test must show
            crashed.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(u, z)) for u, z in zip(users, uploads, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert crashed == []
    return accepted, refused


@pytest.mark.parametrize(
    ("limits", "allowed"),
    [({"max_submissions_total": 5}, 5), ({"max_submissions_per_day": 3, "max_submissions_total": 10}, 3)],
    ids=["total", "per-day"],
)
def test_concurrent_submitters_never_exceed_the_limit(
    make_arena, make_participant, cpu_worker, limits, allowed
):
    # (the worker scores the accepted submissions, so the test leaves nothing on the queue)
    arena = make_arena(images=1, **limits)
    first, team = make_participant(arena)
    users = [first] + [make_participant(arena, team=team)[0] for _ in range(SUBMITTERS - 1)]
    # Different results each: the same zip twice would be refused as already submitted.
    uploads = [arena.submission_zip(seed=i) for i in range(SUBMITTERS)]

    accepted, refused = _race(arena, users, uploads)

    assert len(accepted) == allowed
    assert len(refused) == SUBMITTERS - allowed
    assert all("limit reached" in message for message in refused)
    assert Submission.objects.filter(team=team, phase=arena.phase).count() == allowed
