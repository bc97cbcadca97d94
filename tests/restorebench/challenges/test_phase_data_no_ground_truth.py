"""A phase of a track without ground truth through the API: the organizer uploads inputs alone (a
ground-truth folder is refused, naming its files, nothing stored), the inputs name the expected images,
there is no ground truth to download, and a submission is checked against the inputs times the scale."""

import datetime as dt
import io
import zipfile

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rb_test_helpers import Arena, make_zip, png_bytes
from rest_framework.test import APIClient
from restorebench import storage
from restorebench.accounts.services import token_get_or_create
from restorebench.challenges.models import Phase
from restorebench.challenges.phase_data import phase_data_install
from restorebench.challenges.services import challenge_create, phase_create, track_create

pytestmark = pytest.mark.django_db

SPEC = {"ground_truth": False, "scale": 2, "metrics": ["piqe"], "ranking_metric": "piqe"}


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def _image(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def arena(make_user, platform_dirs) -> Arena:
    organizer = make_user("rw-organizer")
    challenge = challenge_create(slug="real-world", title="Real world", created_by=organizer)
    track = track_create(
        challenge=challenge, slug="rw", title="RW", task="sr", scoring_spec=SPEC, ranking_metrics=["piqe"]
    )
    now = timezone.now()
    phase = phase_create(
        track=track,
        slug="dev",
        title="Dev",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(1),
    )
    return Arena(challenge, track, phase, organizer, {})


def _upload(client, phase, members: dict):
    data = SimpleUploadedFile("data.zip", make_zip(members), "application/zip")
    return client.post(f"/api/phases/{phase.pk}/data/", {"file": data}, format="multipart")


def test_inputs_alone_are_installed_and_name_the_expected_images(arena):
    members = {f"inputs/{n}.png": png_bytes(_image(10, 12, i)) for i, n in enumerate(("b", "a"))}
    response = _upload(_client(arena.organizer), arena.phase, members)
    assert response.status_code == 200, response.content
    assert response.json()["has_ground_truth"] is False and response.json()["image_count"] == 2
    phase = Phase.objects.get(pk=arena.phase.pk)
    assert phase.expected_images == ["a.png", "b.png"] and phase.ground_truth_installed_at is None
    assert (storage.model_inputs_for_reading(phase) / "a.png").read_bytes() == members["inputs/a.png"]
    assert not storage.phase_area(phase, hidden=True).exists()
    client = _client(arena.organizer)
    assert client.get(f"/api/phases/{phase.pk}/ground-truth.zip").status_code == 404
    download = client.get(f"/api/phases/{phase.pk}/inputs.zip")
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        assert {"inputs/a.png", "inputs/b.png", "manifest.json"} <= set(archive.namelist())
    assert client.get(f"/api/phases/{phase.pk}/scoring-spec.json").json()["ground_truth"] is False


def test_a_ground_truth_folder_is_refused_naming_its_files_and_nothing_is_stored(arena, platform_dirs):
    members = {
        "inputs/a.png": png_bytes(_image(10, 12, 0)),
        "ground_truth/a.png": png_bytes(_image(20, 24, 1)),
    }
    response = _upload(_client(arena.organizer), arena.phase, members)
    assert response.status_code == 400
    assert "ground_truth/a.png: outside inputs/" in response.content.decode()
    assert "this track has no ground truth" in response.content.decode()
    assert not storage.phase_area(arena.phase).exists()
    with pytest.raises(ValidationError, match="this track has no ground truth"):
        phase_data_install(phase=arena.phase, inputs_src=None, ground_truth_src=platform_dirs, actor=None)


def test_a_submission_is_checked_against_its_inputs_size_times_the_scale(
    arena, make_participant, monkeypatch
):
    from restorebench.submissions import jobs

    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: True)
    inputs = {"inputs/a.png": png_bytes(_image(10, 12, 0))}
    assert _upload(_client(arena.organizer), arena.phase, inputs).status_code == 200
    user, _ = make_participant(arena)

    def submit(image):
        data = SimpleUploadedFile("r.zip", make_zip({"a.png": png_bytes(image)}), "application/zip")
        return _client(user).post(
            f"/api/phases/{arena.phase.pk}/submissions/create/", {"file": data}, format="multipart"
        )

    refused = submit(_image(10, 12, 1))  # the input's own size: not upscaled
    assert refused.status_code == 400
    assert "a.png: is 12×10 (W×H), expected 24×20, 2 × its input's size" in refused.content.decode()
    assert submit(_image(20, 24, 1)).status_code == 201
