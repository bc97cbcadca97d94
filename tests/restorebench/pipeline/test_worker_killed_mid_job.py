"""A worker killed (SIGKILL) in the middle of a job: the broker redelivers the unacknowledged task to a
restarted worker, which takes the job over; the job completes once, with no duplicate scores."""

import pytest
from rb_test_helpers import psnr_uint8, wait_for, wait_for_submission
from restorebench.submissions.models import EvaluationJob, ImageScore
from restorebench.submissions.services import submission_create

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def test_a_job_whose_worker_dies_mid_run_completes_once_after_restart(
    make_arena, make_participant, start_worker
):
    # The gpu queue has no other consumer in the suite, so the job can only go to the worker we kill.
    arena = make_arena(images=4, compute="gpu", delay_per_image_s=1.5)
    user, _ = make_participant(arena)
    first = start_worker("doomed", compute="gpu")
    restored = arena.restored(noise=5, seed=9)
    submission = submission_create(phase=arena.phase, user=user, archive=[arena.zip_of(restored)])
    job = EvaluationJob.objects.get(submission=submission)

    def running_with_progress():
        job.refresh_from_db()
        return job.status == "running" and job.progress_done >= 1

    wait_for(running_with_progress, timeout=60, why="the job to be running")
    first.kill()
    assert ImageScore.objects.filter(job=job).count() == 0

    second = start_worker("replacement", compute="gpu")
    submission = wait_for_submission(submission.pk, worker=second, timeout=120)
    second.stop()

    assert submission.status == "scored", submission.failure_reason
    job.refresh_from_db()
    assert job.status == "done"
    assert job.attempts == 2  # the killed run, then the takeover
    assert EvaluationJob.objects.filter(submission=submission).count() == 1
    rows = list(ImageScore.objects.filter(job=job).values_list("image_name", "metric"))
    assert len(rows) == len(set(rows)) == 4 * 2
    psnr = {r.image_name: r.value for r in ImageScore.objects.filter(job=job, metric="psnr")}
    assert psnr == pytest.approx({n: psnr_uint8(restored[n], gt) for n, gt in arena.ground_truth.items()})
    assert submission.counts_toward_limits
