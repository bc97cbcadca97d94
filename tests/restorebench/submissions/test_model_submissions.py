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
from rb_test_helpers import png_bytes, psnr_uint8, stored_files
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
from restorebench import storage
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
    # The same model with another manifest: not the content the team already submitted.
    tiled = _submit(arena, user, manifest={**MANIFEST, "tile_size": 64})
    assert EvaluationJob.objects.get(submission=tiled).queue == settings.RESTOREBENCH_QUEUES["cpu"]


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
    with pytest.raises(
        SubmissionRefused, match=r"this phase cannot run models: phase \d+'s inputs: not installed"
    ):
        _submit(arena, user)
    # A folder with no PNG or .npy inputs (TIFFs, say) gives a model nothing to run on.
    folder = _track_folder(arena, platform_dirs / "storage", "tif-inputs")
    (folder / "inputs" / "0000.tif").write_bytes(b"II*\x00")
    with pytest.raises(
        SubmissionRefused,
        match="it gives only .tif files, and the model runner reads 8-bit PNG or float .npy",
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
    shutil.rmtree(storage.phase_inputs_dir(arena.phase))  # storage lost under the job
    job = EvaluationJob.objects.get(submission=submission)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"
    job.refresh_from_db()
    submission.refresh_from_db()
    assert (job.error_kind, job.attempts) == ("platform", 1) and "inputs: not installed" in job.error_message
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


# --- float .npy inputs (default denoising tracks) -------------------------------------------------


def _affine_conv_onnx(a: float, b: float) -> bytes:
    """A 3->3 1x1 convolution computing a·x + b per channel."""
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, "H", "W"])
    w = numpy_helper.from_array((a * np.eye(3, dtype=np.float32)).reshape(3, 3, 1, 1), "w")
    bias = numpy_helper.from_array(np.full(3, b, dtype=np.float32), "b")
    node = helper.make_node("Conv", ["input", "w", "b"], ["output"])
    model = helper.make_model(
        helper.make_graph([node], "affine", [x], [y], [w, bias]), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    return model.SerializeToString()


def _track_folder(arena, storage_dir, name: str) -> "Path":  # noqa: F821 - pathlib.Path
    """An empty track-data public folder (inputs/ inside) where the platform keeps the arena's phase
    inputs, for the test to fill in place."""
    folder = storage.phase_inputs_dir(arena.phase)
    (folder / "inputs").mkdir(parents=True)
    return folder


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_model_on_a_default_denoising_phase_with_float_npy_inputs_is_scored(
    make_arena, make_participant, platform_dirs, sent
):
    from benchdata.degradations import DegradationSpec, degrade
    from benchdata.observations import write_observation

    arena = make_arena(images=2)
    user, _ = make_participant(arena)
    # The inputs exactly as benchdata/track_data.py writes them for the track's default denoising spec
    # (σ = 25, not clipped, not quantised): inputs/<id>.npy, float32 on the [0, 1] scale.
    spec = DegradationSpec.from_dict(arena.track.degradation_spec)
    assert not spec.clip and not spec.quantize
    folder = _track_folder(arena, platform_dirs / "storage", "npy-inputs")
    noisy = {}
    for i, (name, gt) in enumerate(sorted(arena.ground_truth.items())):
        image = degrade(gt.astype(np.float64) / 255.0, spec, seed=40 + i).image
        path = write_observation(folder / "inputs" / name.removesuffix(".png"), image, spec)
        assert path.suffix == ".npy"
        noisy[name] = np.load(path, allow_pickle=False)
    assert min(a.min() for a in noisy.values()) < 0 < 1 < max(a.max() for a in noisy.values())

    # y = 0.5·x + 0.25 keeps the unclipped noise inside the declared output range's tolerance.
    submission = _submit(arena, user, _affine_conv_onnx(0.5, 0.25))
    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "done"
    submission.refresh_from_db()
    job.refresh_from_db()
    assert submission.status == "scored", submission.failure_reason

    expected = {}
    for name, x in noisy.items():  # the network's float32 arithmetic, then clip and round to 8 bits
        y = (x * np.float32(0.5) + np.float32(0.25)).astype(np.float64)
        restored = np.floor(np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)
        expected[name] = psnr_uint8(restored, arena.ground_truth[name])
    rows = {s.image_name: s.value for s in ImageScore.objects.filter(job=job, metric="psnr")}
    assert rows == pytest.approx(expected, abs=1e-9)
    assert submission.scores["psnr"] == pytest.approx(np.mean(list(expected.values())), abs=1e-9)
    # Runtimes are reported under the output names, which the per-image scores use.
    assert sorted(i["name"] for i in job.model_run["images"]) == sorted(arena.ground_truth)


@pytest.mark.django_db(transaction=True)
def test_a_malformed_npy_input_is_a_platform_error_naming_the_file_not_the_models(
    make_arena, make_participant, platform_dirs, sent
):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    folder = _track_folder(arena, platform_dirs / "storage", "bad-npy-inputs")
    broken = np.full((24, 32, 3), 0.5, np.float32)
    broken[3, 4, 1] = np.nan
    np.save(folder / "inputs" / "0000.npy", broken)
    submission = _submit(arena, user)
    job = EvaluationJob.objects.get(submission=submission)

    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"  # retried, as a platform error
    job.refresh_from_db()
    submission.refresh_from_db()
    assert (job.error_kind, job.attempts) == ("platform", 1)
    assert "InputFileError: input 0000.npy: holds 1 NaN or infinite value(s)" in job.error_message
    assert submission.status == "queued"


# --- masks and kernels (non-blind models) ---------------------------------------------------------

INPAINT_MANIFEST = {"task": "inpaint", "color": "rgb", "mask_input": True}


def _masked_fill_onnx(fill: float) -> bytes:
    """RGB inpainting stand-in, the mask as a 4th input channel: y = x·(1 − m) + fill·m."""
    from onnx import TensorProto, helper, numpy_helper

    def const(name, value):  # noqa: ANN001, ANN202
        return numpy_helper.from_array(np.asarray(value), name)

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, "H", "W"])
    nodes = [
        helper.make_node("Slice", ["input", "zero", "three", "axis"], ["image"]),
        helper.make_node("Slice", ["input", "three", "four", "axis"], ["mask"]),
        helper.make_node("Sub", ["one", "mask"], ["known"]),
        helper.make_node("Mul", ["image", "known"], ["kept"]),
        helper.make_node("Mul", ["mask", "fill"], ["filled"]),
        helper.make_node("Add", ["kept", "filled"], ["output"]),
    ]
    inits = [
        const("zero", np.array([0], np.int64)),
        const("three", np.array([3], np.int64)),
        const("four", np.array([4], np.int64)),
        const("axis", np.array([1], np.int64)),
        const("one", np.float32(1)),
        const("fill", np.float32(fill)),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "fill", [x], [y], inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    return model.SerializeToString()


def _inpainting_arena(make_arena, platform_dirs, *, masks: bool):
    """An inpainting phase whose public folder has PNG inputs and, when `masks`, masks/<id>.png."""
    from restorebench.challenges.models import Track

    arena = make_arena(images=2)
    Track.objects.filter(pk=arena.track.pk).update(
        task="inpaint", degradation_spec={"task": "inpaint", "mask": {"type": "boxes"}}
    )
    arena.phase.refresh_from_db()
    folder = _track_folder(arena, platform_dirs / "storage", "inpaint-inputs")
    rng = np.random.default_rng(5)
    arena.inputs, arena.masks = {}, {}
    for name, gt in arena.ground_truth.items():
        missing = rng.random(gt.shape[:2]) < 0.25
        image = np.where(missing[:, :, None], 0, gt).astype(np.uint8)
        (folder / "inputs" / name).write_bytes(png_bytes(image))
        arena.inputs[name], arena.masks[name] = image, missing
        if masks:
            (folder / "masks").mkdir(exist_ok=True)
            (folder / "masks" / name).write_bytes(png_bytes(np.where(missing, 255, 0).astype(np.uint8)))
    return arena


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_mask_model_is_accepted_on_an_inpainting_phase_that_gives_masks_and_scored(
    make_arena, make_participant, platform_dirs, sent
):
    arena = _inpainting_arena(make_arena, platform_dirs, masks=True)
    user, _ = make_participant(arena)
    response = _post_model(
        _client(user), arena.phase, _masked_fill_onnx(0.5), manifest_json(**INPAINT_MANIFEST)
    )
    assert response.status_code == 201, response.content
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.model_manifest["mask_input"] is True
    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "done"
    submission.refresh_from_db()
    assert submission.status == "scored", submission.failure_reason
    # Known pixels kept, missing ones filled with 0.5 (128 in 8 bits): the model got each image's mask.
    expected = {
        name: psnr_uint8(
            np.where(arena.masks[name][:, :, None], 128, arena.inputs[name]).astype(np.uint8), gt
        )
        for name, gt in arena.ground_truth.items()
    }
    rows = {s.image_name: s.value for s in ImageScore.objects.filter(job=job, metric="psnr")}
    assert rows == pytest.approx(expected, abs=1e-9)


@pytest.mark.django_db
def test_a_mask_model_is_refused_at_upload_where_the_phase_gives_no_masks(
    make_arena, make_participant, platform_dirs, sent
):
    arena = _inpainting_arena(make_arena, platform_dirs, masks=False)
    user, team = make_participant(arena)
    before = stored_files(platform_dirs)
    response = _post_model(
        _client(user), arena.phase, _masked_fill_onnx(0.5), manifest_json(**INPAINT_MANIFEST)
    )
    assert response.status_code == 400, response.content
    text = response.content.decode()
    assert (
        "model refused (manifest): the manifest sets mask_input but this phase does not disclose masks"
        in text
    )
    assert "2 of 2 missing: masks/0000.png, masks/0001.png" in text
    assert Submission.objects.count() == 0 and stored_files(platform_dirs) == before
    assert submission_limits_used(team=team, phase=arena.phase, now=timezone.now()) == (0, 0)
    # A blind model (no mask_input) is still welcome there.
    blind = _submit(arena, user, identity_conv_onnx(), {"task": "inpaint", "color": "rgb"})
    assert blind.status == "queued"


@pytest.mark.django_db
def test_a_kernel_model_is_refused_where_the_deblurring_phase_gives_no_kernels(
    make_arena, make_participant, platform_dirs, sent
):
    from onnx import TensorProto, helper
    from restorebench.challenges.models import Track

    arena = make_arena(images=1)
    Track.objects.filter(pk=arena.track.pk).update(task="deblur", degradation_spec={"task": "deblur"})
    arena.phase.refresh_from_db()
    arena.inputs = give_inputs(arena, platform_dirs / "storage")
    user, _ = make_participant(arena)
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])
    k = helper.make_tensor_value_info("kernel", TensorProto.FLOAT, [1, 1, "kh", "kw"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, "H", "W"])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "k", [x, k], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with pytest.raises(
        SubmissionRefused,
        match=r"sets kernel_input but this phase does not disclose blur kernels .*kernels/0000.npy",
    ):
        _submit(
            arena, user, model.SerializeToString(), {"task": "deblur", "color": "rgb", "kernel_input": True}
        )
    assert Submission.objects.count() == 0


@pytest.mark.django_db
def test_a_model_refusal_names_the_participants_file_not_a_temporary_one(model_arena, make_participant, sent):
    arena = model_arena(images=1)
    user, _ = make_participant(arena)
    client = _client(user)
    garbage = b"\x00\x01 not a model at all"
    direct = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/model/",
        {"file": SimpleUploadedFile("my-denoiser-v3.onnx", garbage), "manifest": manifest_json()},
        format="multipart",
    ).json()["detail"]
    assert "my-denoiser-v3.onnx is neither an ONNX model" in direct
    created = client.post(
        f"/api/phases/{arena.phase.pk}/uploads/create/",
        {
            "filename": "resumed-net.onnx",
            "total_bytes": len(garbage),
            "sha256": hashlib.sha256(garbage).hexdigest(),
        },
        format="json",
    ).json()
    client.put(
        f"/api/uploads/{created['id']}/chunk/?offset=0", data=garbage, content_type="application/octet-stream"
    )
    chunked = client.post(f"/api/uploads/{created['id']}/complete/", {"manifest": MANIFEST}, format="json")
    assert chunked.status_code == 400
    assert "resumed-net.onnx is neither an ONNX model" in chunked.json()["detail"]
    assert ".part" not in chunked.json()["detail"] and "upload-" not in direct


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_scored_model_run_leaves_previews_of_its_outputs_and_no_scratch(
    model_arena, make_participant, platform_dirs, sent
):
    from PIL import Image
    from restorebench import storage
    from restorebench.submissions.scratch_cleanup import model_job_scratch_dir

    arena = model_arena(images=2)
    user, _ = make_participant(arena)
    submission = _submit(arena, user)
    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "done"
    job.refresh_from_db()
    for name, restored in arena.inputs.items():  # the identity model gives back its inputs
        stem = name.rsplit(".", 1)[0]
        copy = storage.submission_preview_for_reading(arena.phase, submission.pk, stem, hidden=False)
        assert np.array_equal(np.asarray(Image.open(copy)), restored)
        assert storage.submission_preview_for_reading(arena.phase, submission.pk, stem, hidden=True).is_file()
    assert not model_job_scratch_dir(job_id=job.pk, token=job.attempts).exists()
