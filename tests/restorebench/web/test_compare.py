"""The comparison viewer: the worker's previews (restored copies, error maps) and who may see which
image — restored and input for whoever sees the submission, ground truth and error map only where the
ground truth may be seen."""

import io

import numpy as np
import pytest
from PIL import Image
from rb_test_helpers import install_phase_data, png_bytes
from restorebench import storage
from restorebench.submissions.models import Submission
from restorebench.submissions.previews import ERROR_GAIN, previews_make
from restorebench.submissions.services import submission_create

pytestmark = pytest.mark.django_db


def _scored_upload(arena, user, noise: int = 6):
    restored = arena.restored(noise=noise, seed=4)
    submission = submission_create(
        phase=arena.phase, user=user, archive=io.BytesIO(arena.zip_of(restored)), method_name="net"
    )
    Submission.objects.filter(pk=submission.pk).update(status="scored", scores={"psnr": 30.0, "ssim": 0.9})
    submission.refresh_from_db()
    return submission, restored


def _png(response) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(b"".join(response.streaming_content))))


@pytest.fixture
def world(make_arena, make_participant):
    def make(hidden: bool):
        arena = make_arena(images=2, size=(20, 28), hidden_ground_truth=hidden)
        inputs = {name: png_bytes(gt // 2) for name, gt in arena.ground_truth.items()}
        arena.phase = install_phase_data(arena.phase, inputs=inputs)
        user, team = make_participant(arena)
        submission, restored = _scored_upload(arena, user)
        assert previews_make(submission=submission) == 2
        return arena, user, submission, restored

    return make


def test_previews_are_the_restored_pixels_and_the_error_map_of_the_ground_truth(world):
    arena, _, submission, restored = world(hidden=False)
    for name, gt in arena.ground_truth.items():
        stem = name.rsplit(".", 1)[0]
        copy = storage.submission_preview_for_reading(arena.phase, submission.pk, stem, hidden=False)
        assert np.array_equal(np.asarray(Image.open(copy)), restored[name])
        error = storage.submission_preview_for_reading(arena.phase, submission.pk, stem, hidden=True)
        expected = np.abs(restored[name].astype(float) - gt.astype(float)).mean(axis=2) * ERROR_GAIN
        assert np.array_equal(
            np.asarray(Image.open(error)), np.clip(expected, 0, 255).round().astype(np.uint8)
        )
        # the error map lives in the hidden tree, the copy in the served one
        assert error.is_relative_to(storage.hidden_root().resolve())
        assert copy.is_relative_to(storage.storage_root().resolve())


def test_with_public_ground_truth_the_team_sees_all_four_images(world, client):
    arena, user, submission, restored = world(hidden=False)
    client.force_login(user)
    base = f"/submissions/{submission.pk}/images/0000"
    assert np.array_equal(_png(client.get(f"{base}/restored.png")), restored["0000.png"])
    assert np.array_equal(_png(client.get(f"{base}/truth.png")), arena.ground_truth["0000.png"])
    assert np.array_equal(_png(client.get(f"{base}/input.png")), arena.ground_truth["0000.png"] // 2)
    assert client.get(f"{base}/error.png").status_code == 200
    page = client.get(f"/submissions/{submission.pk}/compare/?image=0001").content.decode()
    assert f"{base[:-4]}0001/truth.png" in page and 'id="slider"' in page


def test_in_a_hidden_phase_the_team_never_gets_ground_truth_or_error_maps(world, client, make_participant):
    arena, user, submission, _ = world(hidden=True)
    client.force_login(user)
    base = f"/submissions/{submission.pk}/images/0000"
    assert client.get(f"{base}/restored.png").status_code == 200
    assert client.get(f"{base}/input.png").status_code == 200
    assert client.get(f"{base}/truth.png").status_code == 404
    assert client.get(f"{base}/error.png").status_code == 404
    page = client.get(f"/submissions/{submission.pk}/compare/").content.decode()
    assert "truth.png" not in page and "error.png" not in page
    client.force_login(arena.organizer)
    assert client.get(f"{base}/truth.png").status_code == 200
    assert client.get(f"{base}/error.png").status_code == 200
    stranger, _ = make_participant(arena)
    client.force_login(stranger)
    assert client.get(f"{base}/restored.png").status_code == 404  # another team's submission


@pytest.mark.parametrize("stem", ["..", "../0000", ".hidden", "0000/../../x", "nope"])
def test_odd_image_names_are_not_found(world, client, stem):
    _, user, submission, _ = world(hidden=False)
    client.force_login(user)
    for kind in ("restored", "input", "truth", "error"):
        assert client.get(f"/submissions/{submission.pk}/images/{stem}/{kind}.png").status_code == 404
