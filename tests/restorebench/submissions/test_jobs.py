"""The evaluation job lifecycle, run in-process: claim, heartbeat, results written once, participant
and platform errors, capped attempts, the reaper, and rescoring. (The same code under a real worker
and broker is in tests/restorebench/pipeline.)"""

import datetime as dt
import shutil

import numpy as np
import pytest
from django.utils import timezone
from rb_test_helpers import png_bytes, psnr_uint8
from restorebench import storage
from restorebench.challenges.models import AuditLogEntry
from restorebench.challenges.services import track_update
from restorebench.leaderboards.selectors import rescore_changes
from restorebench.submissions import jobs
from restorebench.submissions.models import EvaluationJob, ImageScore, Submission
from restorebench.submissions.selectors import evaluation_problem_list, submission_progress
from restorebench.submissions.services import phase_rescore, storing, submission_cancel, submission_create


@pytest.fixture
def sent(monkeypatch) -> list:
    """Record what would be sent to the broker instead of sending it (these tests run jobs in-process)."""
    calls = []
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: calls.append(kw) or True)
    return calls


def _submit(arena, user, images=None):
    data = arena.zip_of(images) if images is not None else arena.submission_zip()
    submission = submission_create(phase=arena.phase, user=user, archive=[data])
    return submission, EvaluationJob.objects.get(submission=submission)


@pytest.mark.django_db(transaction=True)
def test_a_job_run_stores_each_score_once_and_a_second_delivery_does_nothing(
    make_arena, make_participant, sent
):
    arena = make_arena(images=3)
    user, _ = make_participant(arena)
    restored = arena.restored(noise=3, seed=5)
    submission, job = _submit(arena, user, restored)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "done"
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w2", redelivered=True) == ""

    job.refresh_from_db()
    submission.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == ("done", 1, "w1")
    assert submission.status == "scored" and submission.current_job_id == job.pk
    psnr = {s.image_name: s.value for s in ImageScore.objects.filter(job=job, metric="psnr")}
    assert psnr == pytest.approx({n: psnr_uint8(restored[n], gt) for n, gt in arena.ground_truth.items()})
    assert ImageScore.objects.filter(job=job).count() == 3 * 2
    assert submission.scores["psnr"] == pytest.approx(np.mean(list(psnr.values())))
    assert job.scoring_record["metrics"]["psnr"]["higher_is_better"] is True


@pytest.mark.django_db
def test_results_of_a_superseded_claim_are_discarded(make_arena, make_participant, sent):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    _, job = _submit(arena, user)
    first = jobs.evaluation_job_claim(job_id=job.pk, worker="w1")
    # The broker redelivered the message: w1 is presumed dead and w2 takes over.
    second = jobs.evaluation_job_claim(job_id=job.pk, worker="w2", redelivered=True)
    assert (first.token, second.token) == (1, 2)
    result = {"aggregates": {"psnr": 30.0}, "rows": [{"name": "0000.png", "scores": {"psnr": 30.0}}]}
    assert not jobs.evaluation_job_heartbeat(job_id=job.pk, token=1, done=1, total=1)
    assert not jobs.evaluation_job_complete(job_id=job.pk, token=1, result=result)
    assert ImageScore.objects.filter(job=job).count() == 0
    assert jobs.evaluation_job_complete(job_id=job.pk, token=2, result=result)
    assert not jobs.evaluation_job_complete(job_id=job.pk, token=2, result=result)
    assert ImageScore.objects.filter(job=job).count() == 1


@pytest.mark.django_db
def test_a_job_running_with_a_fresh_heartbeat_is_not_claimed_by_a_duplicate_message(
    make_arena, make_participant, sent
):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    _, job = _submit(arena, user)
    assert jobs.evaluation_job_claim(job_id=job.pk, worker="w1") is not None
    assert jobs.evaluation_job_claim(job_id=job.pk, worker="w2") is None
    EvaluationJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    assert jobs.evaluation_job_claim(job_id=job.pk, worker="w2").token == 2


@pytest.mark.django_db(transaction=True)
def test_a_participant_error_fails_the_submission_with_a_reason_they_can_act_on(
    make_arena, make_participant, sent, monkeypatch
):
    # The upload refuses a wrong size it can read from the header; the evaluator must still catch one
    # the upload could not check (say, ground truth whose header was unreadable at upload).
    monkeypatch.setattr(storing, "expected_sizes", lambda phase: {})
    arena = make_arena(images=2, size=(24, 32))
    user, _ = make_participant(arena)
    restored = arena.restored(noise=2)
    restored["0001.png"] = np.zeros((12, 16, 3), dtype=np.uint8)  # wrong size
    submission, job = _submit(arena, user, restored)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "failed"

    submission.refresh_from_db()
    assert (submission.status, submission.failure_kind) == ("failed", "participant")
    assert "0001.png" in submission.failure_reason
    assert submission.counts_toward_limits
    assert EvaluationJob.objects.get(pk=job.pk).attempts == 1
    assert ImageScore.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_platform_error_is_retried_with_backoff_then_fails_without_using_up_a_submission(
    make_arena, make_participant, sent, platform_dirs, settings
):
    settings.RESTOREBENCH_RETRY_BACKOFF_S = 30
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    submission, job = _submit(arena, user)
    shutil.rmtree(storage.phase_ground_truth_dir(arena.phase))  # the platform's fault

    before = timezone.now()
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_kind) == ("pending", 1, "platform")
    assert "ground truth: not installed" in job.error_message
    assert before + dt.timedelta(seconds=29) < job.not_before < timezone.now() + dt.timedelta(seconds=31)
    assert sent[-1] == {"job_id": job.pk, "countdown": 30}
    assert submission_progress(submission=Submission.objects.get(pk=submission.pk))[
        "retrying_after_platform_error"
    ]

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"
    assert sent[-1]["countdown"] == 60  # exponential backoff
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "failed"

    submission.refresh_from_db()
    assert (submission.status, submission.failure_kind, submission.counts_toward_limits) == (
        "failed",
        "platform",
        False,
    )
    assert "not a problem with your files" in submission.failure_reason
    assert "does not exist" not in submission.failure_reason  # internals go to organizers only
    assert [j.pk for j in evaluation_problem_list(challenge_id=arena.challenge.pk)] == [job.pk]


@pytest.mark.django_db
def test_a_job_that_keeps_losing_its_worker_is_failed_at_the_attempt_cap(make_arena, make_participant, sent):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    submission, job = _submit(arena, user)
    for attempt in range(1, job.max_attempts + 1):
        assert (
            jobs.evaluation_job_claim(job_id=job.pk, worker=f"w{attempt}", redelivered=True).token == attempt
        )
    assert jobs.evaluation_job_claim(job_id=job.pk, worker="again", redelivered=True) is None
    job.refresh_from_db()
    submission.refresh_from_db()
    assert (job.status, job.error_kind) == ("failed", "platform")
    assert "gave up after 3 attempts" in job.error_message
    assert (submission.status, submission.counts_toward_limits) == ("failed", False)


@pytest.mark.django_db
def test_the_reaper_requeues_a_job_whose_worker_stopped_heartbeating(
    make_arena, make_participant, sent, settings
):
    settings.RESTOREBENCH_HEARTBEAT_TIMEOUT_S = 120
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    submission, job = _submit(arena, user)
    jobs.evaluation_job_claim(job_id=job.pk, worker="vanished")
    now = timezone.now()

    assert jobs.evaluation_jobs_reap(now=now + dt.timedelta(seconds=60)).requeued_lost == 0
    report = jobs.evaluation_jobs_reap(now=now + dt.timedelta(seconds=180))

    assert (report.requeued_lost, report.failed) == (1, 0)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == ("pending", 1, "")
    assert sent[-1] == {"job_id": job.pk}
    assert Submission.objects.get(pk=submission.pk).status == "queued"


@pytest.mark.django_db
def test_the_reaper_fails_a_lost_job_that_is_out_of_attempts(make_arena, make_participant, sent):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    submission, job = _submit(arena, user)
    EvaluationJob.objects.filter(pk=job.pk).update(
        status="running", attempts=3, max_attempts=3, heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert jobs.evaluation_jobs_reap().failed == 1
    submission.refresh_from_db()
    assert (submission.status, submission.failure_kind, submission.counts_toward_limits) == (
        "failed",
        "platform",
        False,
    )


@pytest.mark.django_db
def test_the_reaper_resends_a_job_that_sat_on_the_broker_too_long(
    make_arena, make_participant, sent, settings
):
    settings.RESTOREBENCH_QUEUED_TIMEOUT_S = 600
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    _, job = _submit(arena, user)
    EvaluationJob.objects.filter(pk=job.pk).update(status="queued", enqueued_at=timezone.now())
    assert jobs.evaluation_jobs_reap().resent_queued == 0
    assert jobs.evaluation_jobs_reap(now=timezone.now() + dt.timedelta(seconds=700)).resent_queued == 1
    assert sent[-1] == {"job_id": job.pk}


@pytest.mark.django_db
def test_a_cancelled_job_stops_accepting_heartbeats_and_results(make_arena, make_participant, sent):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    submission, job = _submit(arena, user)
    claim = jobs.evaluation_job_claim(job_id=job.pk, worker="w1")
    submission_cancel(submission=submission, actor=arena.organizer, reason="organizer stopped it")
    assert not jobs.evaluation_job_heartbeat(job_id=job.pk, token=claim.token, done=1, total=1)
    assert not jobs.evaluation_job_complete(job_id=job.pk, token=claim.token, result={"aggregates": {}})
    submission.refresh_from_db()
    assert (submission.status, submission.counts_toward_limits) == ("cancelled", False)


@pytest.mark.django_db(transaction=True)
def test_rescoring_a_phase_rescores_every_scored_submission_and_reports_what_changed(
    make_arena, make_participant, sent, platform_dirs
):
    arena = make_arena(images=2)
    u1, t1 = make_participant(arena)
    u2, t2 = make_participant(arena)
    s1, j1 = _submit(arena, u1, arena.restored(noise=2, seed=1))
    s2, j2 = _submit(arena, u2, arena.restored(noise=6, seed=2))
    for job in (j1, j2):
        assert jobs.evaluation_job_run(job_id=job.pk, worker="w") == "done"
    old_psnr = Submission.objects.get(pk=s1.pk).scores["psnr"]

    # A "metric fix": the track now scores luma only.
    track_update(
        track=arena.track,
        actor=arena.organizer,
        scoring_spec={"metrics": ["psnr", "ssim"], "color_space": "y"},
    )
    rescore = phase_rescore(phase=arena.phase, actor=arena.organizer, reason="score on Y as the paper does")
    new_jobs = list(EvaluationJob.objects.filter(rescore=rescore))
    assert len(new_jobs) == 2 and not rescore_changes(rescore=rescore)["finished"]
    for job in new_jobs:
        assert jobs.evaluation_job_run(job_id=job.pk, worker="w") == "done"

    report = rescore_changes(rescore=rescore)
    assert report["finished"] and report["jobs"] == {"done": 2}
    row = next(r for r in report["rows"] if r["submission_id"] == s1.pk)
    assert row["scores"]["psnr"]["before"] == pytest.approx(old_psnr)
    assert row["scores"]["psnr"]["after"] == pytest.approx(Submission.objects.get(pk=s1.pk).scores["psnr"])
    assert row["scores"]["psnr"]["after"] != pytest.approx(old_psnr)
    assert (row["rank_before"], row["rank_after"]) == (1, 1)
    assert ImageScore.objects.filter(job=j1).count() == 4  # the old rows stay, tied to the old job
    actions = list(AuditLogEntry.objects.filter(challenge=arena.challenge).values_list("action", flat=True))
    assert "phase.rescore" in actions and "track.update" in actions


def test_png_helper_round_trips():
    # Guards the helper the job tests build their zips with.
    import io

    from PIL import Image

    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(image)))), image)


@pytest.mark.django_db(transaction=True)
def test_a_job_over_its_time_limit_is_stopped_and_retried_as_a_platform_error(
    make_arena, make_participant, sent, settings
):
    settings.RESTOREBENCH_JOB_TIME_LIMIT_S = 0.5
    settings.RESTOREBENCH_HEARTBEAT_EVERY_S = 0.1
    arena = make_arena(images=3, delay_per_image_s=1.0)
    user, _ = make_participant(arena)
    submission, job = _submit(arena, user)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == ""

    job.refresh_from_db()
    assert (job.status, job.error_kind, job.attempts) == ("pending", "platform", 1)
    assert "exceeded the time limit of 0.5 s" in job.error_message
    assert ImageScore.objects.filter(job=job).count() == 0
    assert Submission.objects.get(pk=submission.pk).status == "queued"


@pytest.mark.django_db
def test_the_reaper_runs_from_celery_beat_and_from_a_management_command(make_arena, make_participant, sent):
    from io import StringIO

    from django.conf import settings
    from django.core.management import call_command
    from restorebench.celery_app import app

    app.loader.import_default_modules()  # what a worker or beat does at start: autodiscover tasks
    schedule = settings.CELERY_BEAT_SCHEDULE["reap-evaluation-jobs"]
    assert schedule["task"] in app.tasks and schedule["schedule"] == settings.RESTOREBENCH_REAP_EVERY_S
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    _, job = _submit(arena, user)
    EvaluationJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    out = StringIO()
    call_command("reap_evaluation_jobs", stdout=out)
    assert "sent_pending=1" in out.getvalue()
    assert sent[-1] == {"job_id": job.pk}
