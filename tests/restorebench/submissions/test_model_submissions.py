"""Model submissions: accepted through the API with the same rules as zips, refused formats and
manifests explained with nothing stored, the job run in-process through the evaluator's sandbox
(scores, runtime, parameters, peak memory), model failures as participant errors, platform errors
retried, routing, and the leaderboard's model columns. (The same path under a real worker and broker
is in tests/restorebench/pipeline/test_model_submission.py.)"""

import csv
import datetime as dt
import hashlib
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rb_test_helpers import psnr_uint8, stored_files
from rb_test_models import (
    IDENTITY_PARAMETERS,
    MANIFEST,
    custom_op_onnx,
    external_data_onnx,
    give_inputs,
    half_size_onnx,
    identity_conv_onnx,
    manifest_json,
    pickle_bytes,
    torchscript_bytes,
)
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.leaderboards.selectors import leaderboard_compute, leaderboard_csv_rows
from restorebench.submissions import jobs
from restorebench.submissions.models import EvaluationJob, ImageScore, Submission
from restorebench.submissions.services import (
    SubmissionLimitReached,
    SubmissionRefused,
    submission_create,
    submission_create_model,
    submission_limits_used,
)


@pytest.fixture
def sent(monkeypatch) -> list:
    """Record what would be sent to the broker instead of sending it (jobs run in-process here)."""
    calls = []
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: calls.append(kw) or True)
    return calls


@pytest.fixture
def model_arena(make_arena, platform_dirs):
    """An arena whose phase has participant inputs (PNGs) for a model to run on."""

    def make(**kwargs):
        arena = make_arena(**kwargs)
        arena.inputs = give_inputs(arena, platform_dirs / "storage")
        return arena

    return make


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def _post_model(client, phase, data: bytes, manifest: str = manifest_json(), **fields):
    return client.post(
        f"/api/phases/{phase.pk}/submissions/model/",
        {"file": SimpleUploadedFile("net.onnx", data), "manifest": manifest, **fields},
        format="multipart",
    )


def _submit(arena, user, data: bytes | None = None, manifest: dict | None = None) -> Submission:
    return submission_create_model(
        phase=arena.phase, user=user, model=[data or identity_conv_onnx()], manifest=manifest or MANIFEST
    )


# --- accepting ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_model_posted_to_the_api_is_stored_hashed_and_queued(
    model_arena, make_participant, platform_dirs, settings, sent
):
    arena = model_arena(images=2)
    user, team = make_participant(arena)
    data = identity_conv_onnx()
    response = _post_model(_client(user), arena.phase, data, method_name="conv net")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["status"], body["method_name"], body["team"]) == (
        "model",
        "queued",
        "conv net",
        team.name,
    )
    assert body["model"]["format"] == "onnx" and body["model"]["parameters"] == IDENTITY_PARAMETERS
    submission = Submission.objects.get(pk=body["id"])
    assert (submission.sha256, submission.archive_bytes) == (hashlib.sha256(data).hexdigest(), len(data))
    assert submission.archive_path.endswith(".onnx")
    assert (platform_dirs / "storage" / submission.archive_path).read_bytes() == data
    # The manifest is stored validated and complete (defaults filled in, format detected).
    assert submission.model_manifest["task"] == "denoise"
    assert (submission.model_manifest["format"], submission.model_manifest["tile_size"]) == ("onnx", None)
    assert submission.image_count == 2
    job = EvaluationJob.objects.get(submission=submission)
    assert (job.status, job.queue) == ("pending", settings.RESTOREBENCH_QUEUES["cpu"])


@pytest.mark.django_db
def test_model_jobs_go_to_the_gpu_queue_only_when_the_settings_say_gpu_workers_exist(
    model_arena, make_participant, settings, sent
):
    arena = model_arena(images=1)
    user, _ = make_participant(arena)
    settings.RESTOREBENCH_GPU_WORKERS = True
    model = _submit(arena, user)
    images = submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])
    assert EvaluationJob.objects.get(submission=model).queue == settings.RESTOREBENCH_QUEUES["gpu"]
    assert EvaluationJob.objects.get(submission=images).queue == settings.RESTOREBENCH_QUEUES["cpu"]
    settings.RESTOREBENCH_GPU_WORKERS = False
    assert (
        EvaluationJob.objects.get(submission=_submit(arena, user)).queue
        == settings.RESTOREBENCH_QUEUES["cpu"]
    )


REFUSED = {
    "torchscript": (lambda tmp: torchscript_bytes(), "refused_format", "TorchScript"),
    "pickle": (lambda tmp: pickle_bytes(), "refused_format", "pickle"),
    "custom op": (lambda tmp: custom_op_onnx(), "custom_op", "com.example.evil"),
    "external data": (external_data_onnx, "external_data", "external"),
    "random bytes": (lambda tmp: b"\x00\x01 not a model at all", "invalid_file", "neither an ONNX"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("what", sorted(REFUSED))
def test_a_refused_model_format_is_explained_and_nothing_is_stored_or_counted(
    what, model_arena, make_participant, platform_dirs, tmp_path, sent
):
    arena = model_arena(images=1, max_submissions_total=1)
    user, team = make_participant(arena)
    build, kind, words = REFUSED[what]
    before = stored_files(platform_dirs)
    response = _post_model(_client(user), arena.phase, build(tmp_path))
    assert response.status_code == 400, response.content
    text = response.content.decode()
    assert f"model refused ({kind})" in text and words in text
    assert Submission.objects.count() == 0 and EvaluationJob.objects.count() == 0
    assert stored_files(platform_dirs) == before
    assert submission_limits_used(team=team, phase=arena.phase, now=timezone.now()) == (0, 0)
    # The one submission the phase allows is still there to use.
    assert _submit(arena, user).status == "queued"


BAD_MANIFESTS = {
    "not JSON": ("{task: denoise", "not valid JSON"),
    "not an object": ("[1, 2]", "must be a JSON object"),
    "unknown field": (manifest_json(colour="rgb"), "unknown field(s) colour"),
    "wrong task for the track": (manifest_json(task="sr", scale=4), "this track restores 'denoise'"),
    "bad range": (manifest_json(output_range=[1, 0]), "output_range must be [low, high]"),
    "architecture on ONNX": (manifest_json(architecture="srcnn"), "safetensors"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("what", sorted(BAD_MANIFESTS))
def test_a_bad_manifest_is_refused_naming_the_problem(what, model_arena, make_participant, sent):
    arena = model_arena(images=1)
    user, _ = make_participant(arena)
    manifest, words = BAD_MANIFESTS[what]
    response = _post_model(_client(user), arena.phase, identity_conv_onnx(), manifest)
    assert response.status_code == 400, response.content
    assert words in response.content.decode()
    assert Submission.objects.count() == 0


@pytest.mark.django_db
def test_a_safetensors_model_must_name_a_registered_architecture(model_arena, make_participant, sent):
    from safetensors.numpy import save

    arena = model_arena(images=1)
    user, _ = make_participant(arena)
    data = save({"w": np.zeros((3, 3, 1, 1), dtype=np.float32)})
    with pytest.raises(SubmissionRefused, match="unknown architecture 'resnet9000'; registered"):
        _submit(arena, user, data, {**MANIFEST, "architecture": "resnet9000"})
    with pytest.raises(SubmissionRefused, match="need 'architecture'"):
        _submit(arena, user, data, MANIFEST)


# --- the same rules as a zip ----------------------------------------------------------------------


@pytest.mark.django_db
def test_model_submissions_follow_the_team_window_and_limit_rules(
    model_arena, make_participant, make_user, sent
):
    arena = model_arena(images=1, max_submissions_per_day=2)
    user, team = make_participant(arena)
    outsider = make_user()
    assert APIClient().post(f"/api/phases/{arena.phase.pk}/submissions/model/").status_code == 401
    response = _post_model(_client(outsider), arena.phase, identity_conv_onnx())
    assert response.status_code == 400 and "not in a team" in response.content.decode()

    # A zip and a model draw on the same daily allowance.
    submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])
    _submit(arena, user)
    with pytest.raises(SubmissionLimitReached, match="daily submission limit"):
        _submit(arena, user)
    assert Submission.objects.filter(team=team).count() == 2

    closed = model_arena(images=1, ends_at=timezone.now() - dt.timedelta(minutes=1))
    late, _ = make_participant(closed)
    with pytest.raises(SubmissionRefused, match="is closed"):
        _submit(closed, late)


@pytest.mark.django_db
def test_a_model_can_come_through_a_chunked_upload_with_its_manifest(model_arena, make_participant, sent):
    arena = model_arena(images=1)
    user, _ = make_participant(arena)
    client = _client(user)
    data = identity_conv_onnx()
    created = client.post(
        f"/api/phases/{arena.phase.pk}/uploads/create/",
        {"filename": "net.onnx", "total_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        format="json",
    )
    assert created.status_code == 201, created.content
    upload = created.json()["id"]
    chunk = client.put(
        f"/api/uploads/{upload}/chunk/?offset=0", data=data, content_type="application/octet-stream"
    )
    assert chunk.status_code == 200, chunk.content
    # The manifest as a JSON object (the model endpoint's multipart form takes it as text).
    done = client.post(f"/api/uploads/{upload}/complete/", {"manifest": MANIFEST}, format="json")
    assert done.status_code == 201, done.content
    assert done.json()["kind"] == "model" and done.json()["model"]["parameters"] == IDENTITY_PARAMETERS


# --- running and scoring --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_model_job_runs_the_model_on_the_inputs_scores_it_and_records_its_measurements(
    model_arena, make_participant, platform_dirs, sent
):
    arena = model_arena(images=2)
    user, _ = make_participant(arena)
    inputs = arena.inputs
    submission = _submit(arena, user)
    job = EvaluationJob.objects.get(submission=submission)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "done"
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w2", redelivered=True) == ""

    submission.refresh_from_db()
    job.refresh_from_db()
    assert submission.status == "scored", submission.failure_reason
    # The identity model gives back its inputs: the scores are those of the inputs themselves.
    expected = {name: psnr_uint8(inputs[name], gt) for name, gt in arena.ground_truth.items()}
    rows = {s.image_name: s.value for s in ImageScore.objects.filter(job=job, metric="psnr")}
    assert rows == pytest.approx(expected, abs=1e-9)
    assert ImageScore.objects.filter(job=job).count() == 2 * 2
    assert submission.scores["psnr"] == pytest.approx(np.mean(list(expected.values())), abs=1e-9)
    # What the sandbox measured, on the submission and in the job's run report.
    assert submission.model_parameters == IDENTITY_PARAMETERS
    assert submission.model_seconds_per_image > 0
    assert submission.model_peak_memory_bytes > 10 * 2**20  # a Python with onnxruntime loaded
    assert job.model_run["ok"] and sorted(i["name"] for i in job.model_run["images"]) == sorted(inputs)
    assert job.model_run["seconds_per_image"] == pytest.approx(submission.model_seconds_per_image)
    assert (job.attempts, job.progress_done, job.progress_total) == (1, 4, 4)

    from django.test import Client

    page = Client()
    page.force_login(user)
    html = page.get(f"/submissions/{submission.pk}/").content.decode()
    assert "Runtime (s)" in html and "12 parameters" in html and "Peak memory" in html


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_model_that_fails_in_the_sandbox_is_the_participants_error_with_the_reason(
    model_arena, make_participant, platform_dirs, sent
):
    arena = model_arena(images=1)
    user, team = make_participant(arena)
    submission = _submit(arena, user, half_size_onnx())
    job = EvaluationJob.objects.get(submission=submission)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "failed"
    submission.refresh_from_db()
    job.refresh_from_db()
    assert (submission.status, submission.failure_kind) == ("failed", "participant")
    assert submission.failure_reason.startswith("Your model failed (output_shape): 0000.png: ")
    assert "returned shape (1, 3, 12, 16)" in submission.failure_reason
    # Not retried, and it counts toward the limits like a zip the evaluator rejects.
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1, "participant")
    assert submission.counts_toward_limits
    assert submission_limits_used(team=team, phase=arena.phase, now=timezone.now()) == (1, 1)
    assert job.model_run["error_kind"] == "output_shape" and submission.scores is None
    assert not ImageScore.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_a_phase_whose_inputs_a_model_cannot_read_refuses_models_and_says_why(
    make_arena, make_participant, platform_dirs, sent
):
    arena = make_arena(images=1)
    user, team = make_participant(arena)
    with pytest.raises(SubmissionRefused, match="this phase cannot run models: the phase has no inputs_dir"):
        _submit(arena, user)
    # Classic denoising tracks give unclipped float inputs as .npy, which the model runner cannot read.
    folder = platform_dirs / "storage" / "npy-inputs" / str(arena.phase.pk)
    (folder / "inputs").mkdir(parents=True)
    np.save(folder / "inputs" / "0000.npy", np.zeros((24, 32, 3), dtype=np.float32))
    arena.phase.inputs_dir = str(folder.relative_to(platform_dirs / "storage"))
    arena.phase.save()
    with pytest.raises(
        SubmissionRefused, match="its inputs are .npy files, and the model runner reads 8-bit PNG"
    ):
        _submit(arena, user)
    assert Submission.objects.count() == 0
    assert submission_limits_used(team=team, phase=arena.phase, now=timezone.now()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_inputs_gone_at_run_time_are_a_platform_error_that_is_retried(
    model_arena, make_participant, platform_dirs, sent
):
    import shutil

    arena = model_arena(images=1)
    user, _ = make_participant(arena)
    submission = _submit(arena, user)
    shutil.rmtree(platform_dirs / "storage" / arena.phase.inputs_dir)  # storage lost under the job
    job = EvaluationJob.objects.get(submission=submission)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"
    job.refresh_from_db()
    submission.refresh_from_db()
    assert (job.error_kind, job.attempts) == ("platform", 1) and "does not exist" in job.error_message
    assert submission.status == "queued" and submission.counts_toward_limits
    assert sent[-1]["job_id"] == job.pk  # sent again after the backoff


# --- leaderboard ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_leaderboard_shows_model_measurements_and_leaves_them_blank_for_images(
    model_arena, make_participant, platform_dirs, sent
):
    arena = model_arena(images=1)
    modeller, model_team = make_participant(arena)
    uploader, image_team = make_participant(arena)
    model = _submit(arena, modeller)
    images = submission_create(phase=arena.phase, user=uploader, archive=[arena.submission_zip(noise=1)])
    for submission in (model, images):
        assert jobs.evaluation_job_run(job_id=submission.jobs.get().pk, worker="w") == "done"
    model.refresh_from_db()

    board = leaderboard_compute(phase=arena.phase, use_cache=False)
    rows = {row.team_name: row for row in board.rows}
    assert board.has_models
    assert (rows[model_team.name].kind, rows[model_team.name].parameters) == ("model", IDENTITY_PARAMETERS)
    assert rows[model_team.name].seconds_per_image == model.model_seconds_per_image
    assert rows[model_team.name].peak_memory_bytes == model.model_peak_memory_bytes
    blank = rows[image_team.name]
    assert (blank.kind, blank.seconds_per_image, blank.parameters, blank.peak_memory_bytes) == (
        "images",
        None,
        None,
        None,
    )

    api = APIClient().get(f"/api/phases/{arena.phase.pk}/leaderboard/").json()
    by_team = {row["team_name"]: row for row in api["rows"]}
    assert by_team[model_team.name]["parameters"] == IDENTITY_PARAMETERS
    assert by_team[image_team.name]["seconds_per_image"] is None

    text = io.StringIO()
    csv.writer(text).writerows(leaderboard_csv_rows(board))
    lines = {row["team"]: row for row in csv.DictReader(io.StringIO(text.getvalue()))}
    assert lines[model_team.name]["parameters"] == str(IDENTITY_PARAMETERS)
    assert float(lines[model_team.name]["seconds_per_image"]) == model.model_seconds_per_image
    assert (lines[image_team.name]["kind"], lines[image_team.name]["parameters"]) == ("images", "")

    page = APIClient().get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    assert "Params" in page and "Peak memory" in page
