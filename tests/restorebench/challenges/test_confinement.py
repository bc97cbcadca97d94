"""An organizer is confined to their own challenge: no endpoint or admin form takes a data path, every
phase's data lives in its challenge's area, and every read re-checks that (no `..`, no link out).

The attacker is the organizer of challenge B (with a participant account in B); the victim is
challenge A, whose hidden test phase holds ground truth, inputs and other teams' result zips."""

import io
import json
import os
import shutil
import zipfile

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rb_test_helpers import install_phase_data, png_bytes, psnr_uint8
from rest_framework.test import APIClient
from restorebench import storage
from restorebench.challenges.models import Phase
from restorebench.challenges.phase_data import phase_data_install
from restorebench.submissions import jobs
from restorebench.submissions.models import EvaluationJob, ImageScore
from restorebench.submissions.services import submission_create


@pytest.fixture
def sent(monkeypatch) -> list:
    """Jobs run in-process here: record what would go to the broker instead of sending it."""
    calls = []
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: calls.append(kw) or True)
    return calls


@pytest.fixture
def a_and_b(make_arena, make_participant, make_user, sent):
    """Challenge A (hidden test phase with inputs and a team's stored result zip) and challenge B."""
    a = make_arena(images=2, hidden_ground_truth=True)
    a.phase = install_phase_data(a.phase, inputs={"inputs/0000.png": b"a-input-0", "manifest.json": b"{}"})
    a_user, _ = make_participant(a)
    a_submission = submission_create(phase=a.phase, user=a_user, archive=[a.submission_zip()])
    b = make_arena(images=2)
    b.phase = install_phase_data(b.phase, inputs={"inputs/0000.png": b"b-input-0"})
    b_participant, _ = make_participant(b, username="b-participant")
    return a, b, a_submission, b_participant


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _a_paths(a) -> list[str]:
    """Every way B might name A's data: relative to each root, absolute, and climbing out with `..`."""
    hidden_gt = storage.phase_ground_truth_dir(a.phase)
    inputs = storage.phase_inputs_dir(a.phase)
    return [
        ".",
        "..",
        hidden_gt.relative_to(storage.hidden_root().resolve()).as_posix(),
        inputs.relative_to(storage.storage_root().resolve()).as_posix(),
        str(hidden_gt),
        f"../hidden/{hidden_gt.relative_to(storage.hidden_root().resolve()).as_posix()}",
    ]


def _download(client, phase) -> dict[str, bytes] | int:
    response = client.get(f"/api/phases/{phase.pk}/inputs.zip")
    if response.status_code != 200:
        return response.status_code
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.django_db
def test_an_organizer_of_b_cannot_point_a_phase_of_b_at_any_data_through_the_api(a_and_b):
    a, b, _, _ = a_and_b
    client = _api(b.organizer)
    url = f"/api/phases/{b.phase.pk}/update/"
    for field in ("inputs_dir", "ground_truth_dir"):
        for path in _a_paths(a):
            response = client.patch(url, {field: path}, format="json")
            assert response.status_code == 400, (field, path, response.content)
            assert "placed by the platform" in response.json()["errors"][field][0]
    # Creating a phase cannot name a folder either, and an unknown field is a clear 400, not ignored.
    window = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
    fields = {"slug": "sneaky", "title": "S", **window, "ground_truth_dir": _a_paths(a)[2]}
    create = client.post(f"/api/tracks/{b.track.pk}/phases/create/", fields, format="json")
    assert create.status_code == 400 and "ground_truth_dir" in create.json()["errors"]
    assert not Phase.objects.filter(slug="sneaky").exists()
    bogus = client.patch(url, {"data_root": "/"}, format="json")
    assert bogus.status_code == 400 and bogus.json()["errors"] == {"data_root": ["unknown field"]}
    # B's inputs are still B's own, and nothing of A's is in what B downloads.
    assert _download(client, b.phase) == {"inputs/0000.png": b"b-input-0"}


@pytest.mark.django_db
def test_the_inputs_download_serves_only_the_phases_own_inputs_never_a_zip_or_upload_of_a(a_and_b):
    a, b, a_submission, b_participant = a_and_b
    files = _download(_api(b_participant), b.phase)
    assert files == {"inputs/0000.png": b"b-input-0"}
    a_zip = storage.submission_archive_path(a.phase, a_submission.archive_path).read_bytes()
    assert all(data != a_zip for data in files.values())
    # A's own download is A's inputs and nothing else (no result zips, no ground truth).
    assert _download(_api(a.organizer), a.phase) == {"inputs/0000.png": b"a-input-0", "manifest.json": b"{}"}


@pytest.mark.django_db(transaction=True)
def test_submitting_to_b_scores_against_bs_ground_truth_never_as(a_and_b):
    a, b, _, b_participant = a_and_b
    client = _api(b.organizer)
    pointed = client.patch(
        f"/api/phases/{b.phase.pk}/update/", {"ground_truth_dir": _a_paths(a)[2]}, format="json"
    )
    assert pointed.status_code == 400
    # B's participant submits A's hidden ground truth itself: an oracle on A would score it as a perfect
    # match (infinite PSNR); scored against B's own ground truth it is an ordinary, finite score.
    submission = submission_create(phase=b.phase, user=b_participant, archive=[a.zip_of(a.ground_truth)])
    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "done"
    scores = _api(b.organizer).get(f"/api/submissions/{submission.pk}/scores/").json()
    by_image = {row["image"]: row["psnr"] for row in scores["images"]}
    expected = {name: psnr_uint8(a.ground_truth[name], gt) for name, gt in b.ground_truth.items()}
    assert by_image == pytest.approx(expected, abs=1e-9)
    assert all(np.isfinite(value) and value < 20 for value in by_image.values())


@pytest.mark.django_db
def test_the_admin_phase_form_takes_no_data_path_and_never_moves_a_phase_into_another_challenge(
    a_and_b, make_user
):
    a, b, _, b_participant = a_and_b
    b.organizer.is_staff = b.organizer.is_superuser = True
    b.organizer.save()
    client = Client()
    client.force_login(b.organizer)
    phase = b.phase
    form = {
        "track": phase.track_id, "slug": phase.slug, "title": phase.title, "description": "",
        "starts_at_0": f"{phase.starts_at:%Y-%m-%d}", "starts_at_1": f"{phase.starts_at:%H:%M:%S}",
        "ends_at_0": f"{phase.ends_at:%Y-%m-%d}", "ends_at_1": f"{phase.ends_at:%H:%M:%S}",
        "max_submissions_per_day": "", "max_submissions_total": "", "leaderboard_public": "on",
        "score_decimals": "4", "max_upload_bytes": str(phase.max_upload_bytes),
        "expected_images": json.dumps(phase.expected_images), "order": "0",
    }  # fmt: skip
    url = f"/admin/challenges/phase/{phase.pk}/change/"
    for field in ("inputs_dir", "ground_truth_dir"):
        response = client.post(url, form | {field: _a_paths(a)[2]})
        assert response.status_code == 200  # the form again, with the error: nothing saved
        assert "data folders are placed by the platform" in response.content.decode()
    # The track is read-only on the change form: posting A's track leaves B's phase in B.
    assert client.post(url, form | {"track": a.track.pk}).status_code == 302
    phase.refresh_from_db()
    assert phase.track_id == b.track.pk and storage.phase_key(phase).challenge_id == b.challenge.pk
    track_form = client.get(f"/admin/challenges/track/{b.track.pk}/change/").content.decode()
    assert 'name="challenge"' not in track_form and f"{b.challenge}" in track_form
    # A stored submission cannot be moved into another phase either.
    submission = submission_create(phase=b.phase, user=b_participant, archive=[b.submission_zip()])
    page = client.get(f"/admin/submissions/submission/{submission.pk}/change/").content.decode()
    assert 'name="phase"' not in page and 'name="method_name"' in page


@pytest.mark.django_db
def test_a_symbolic_link_out_of_a_phase_area_is_refused_on_every_read(a_and_b):
    a, b, _, b_participant = a_and_b
    client = _api(b_participant)
    # B's inputs folder replaced by a link to A's hidden ground truth: the download serves nothing.
    inputs = storage.phase_inputs_dir(b.phase)
    shutil.rmtree(inputs)
    os.symlink(storage.phase_ground_truth_dir(a.phase), inputs)
    storage.phase_inputs_zip(b.phase).unlink(missing_ok=True)
    assert _download(client, b.phase) == 404
    with pytest.raises(storage.ConfinementError, match="symbolic link"):
        storage.model_inputs_for_reading(b.phase)
    # A link inside a real folder is refused too.
    os.unlink(inputs)
    inputs.mkdir()
    os.symlink(storage.phase_ground_truth_dir(a.phase) / "0000.png", inputs / "0000.png")
    assert _download(client, b.phase) == 404
    # A ground-truth file of B swapped for a link to A's: the read is refused before anything is scored.
    gt = storage.phase_ground_truth_dir(b.phase)
    (gt / "0000.png").unlink()
    os.symlink(storage.phase_ground_truth_dir(a.phase) / "0000.png", gt / "0000.png")
    with pytest.raises(storage.ConfinementError, match="symbolic link"):
        storage.phase_ground_truth_for_reading(b.phase)
    # And the whole challenge area of B made a link to A's: every path of B is refused.
    area = storage.challenge_area(b.challenge.pk, hidden=True)
    shutil.rmtree(area)
    os.symlink(storage.challenge_area(a.challenge.pk, hidden=True), area)
    with pytest.raises(storage.ConfinementError):
        storage.phase_ground_truth_dir(b.phase)


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_ground_truth_links_out_fails_as_the_platforms_and_scores_nothing(a_and_b):
    a, b, _, b_participant = a_and_b
    submission = submission_create(phase=b.phase, user=b_participant, archive=[a.zip_of(a.ground_truth)])
    gt = storage.phase_ground_truth_dir(b.phase)
    shutil.rmtree(gt)
    os.symlink(storage.phase_ground_truth_dir(a.phase), gt)
    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"  # a platform error, retried
    job.refresh_from_db()
    assert job.error_kind == "platform" and "symbolic link" in job.error_message
    assert str(storage.hidden_root()) not in job.error_message
    assert not ImageScore.objects.filter(job__submission=submission).exists()


@pytest.mark.django_db(transaction=True)
def test_a_recorded_archive_path_climbing_out_with_dotdot_is_never_read(a_and_b):
    a, b, a_submission, b_participant = a_and_b
    submission = submission_create(phase=b.phase, user=b_participant, archive=[b.submission_zip()])
    # A row pointing at A's stored zip (say, edited in the database): refused when the job reads it.
    own = storage.submission_archive_path(b.phase, submission.archive_path).parent
    climbing = os.path.relpath(storage.storage_root() / a_submission.archive_path, own)
    submission.archive_path = f"{own.relative_to(storage.storage_root().resolve()).as_posix()}/{climbing}"
    submission.save(update_fields=["archive_path"])
    assert ".." in submission.archive_path
    with pytest.raises(storage.ConfinementError, match=r"'\.\.'"):
        storage.submission_archive_path(b.phase, submission.archive_path)
    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "pending"
    job.refresh_from_db()
    assert job.error_kind == "platform" and "'..'" in job.error_message
    assert not ImageScore.objects.filter(job__submission=submission).exists()


@pytest.mark.django_db
def test_installing_data_refuses_a_source_with_a_link_and_leaves_the_phase_as_it_was(a_and_b, tmp_path):
    a, b, _, _ = a_and_b
    before = storage.phase_ground_truth_dir(b.phase)
    stamp = {p.name: p.read_bytes() for p in before.iterdir()}
    source = tmp_path / "gt"
    source.mkdir()
    (source / "0000.png").write_bytes(png_bytes(np.zeros((24, 32, 3), np.uint8)))
    os.symlink(storage.phase_ground_truth_dir(a.phase) / "0001.png", source / "0001.png")
    with pytest.raises(ValidationError) as caught:
        phase_data_install(phase=b.phase, inputs_src=None, ground_truth_src=source, actor=b.organizer)
    assert "symbolic link (0001.png)" in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert {p.name: p.read_bytes() for p in before.iterdir()} == stamp
    linked = tmp_path / "linked"
    os.symlink(storage.phase_ground_truth_dir(a.phase), linked)
    with pytest.raises(ValidationError, match="not a symbolic link"):
        phase_data_install(phase=b.phase, inputs_src=None, ground_truth_src=linked, actor=b.organizer)


@pytest.mark.django_db
def test_installed_data_lands_in_the_phases_own_area_and_is_recorded(a_and_b):
    _, b, _, _ = a_and_b
    phase = Phase.objects.get(pk=b.phase.pk)
    area = storage.challenge_area(b.challenge.pk)
    hidden_area = storage.challenge_area(b.challenge.pk, hidden=True)
    assert storage.phase_inputs_dir(phase).is_relative_to(area.resolve())
    assert storage.phase_ground_truth_dir(phase).is_relative_to(hidden_area.resolve())
    assert phase.inputs_installed_at is not None and phase.ground_truth_installed_at is not None
    assert sorted(p.name for p in storage.phase_ground_truth_dir(phase).iterdir()) == phase.expected_images
    entries = b.challenge.audit_log.filter(action="phase.data_install", target=f"phase:{phase.pk}")
    assert [e.details for e in entries.order_by("created_at", "id")] == [
        {"ground_truth_files": 2},
        {"inputs_files": 1},
    ]
