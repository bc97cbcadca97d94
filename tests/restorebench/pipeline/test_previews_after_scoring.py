"""A real worker makes the viewer's previews once it has stored the scores."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rb_test_helpers import wait_for_submission
from rest_framework.test import APIClient
from restorebench import storage
from restorebench.accounts.services import token_get_or_create

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_the_worker_makes_previews_after_scoring(make_arena, make_participant, cpu_worker):
    arena = make_arena(images=2)
    user, _ = make_participant(arena)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    restored = arena.restored(noise=5, seed=9)
    answer = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/create/",
        {"file": SimpleUploadedFile("r.zip", arena.zip_of(restored), "application/zip")},
        format="multipart",
    )
    assert answer.status_code == 201, answer.content
    submission = wait_for_submission(answer.json()["id"], worker=cpu_worker)
    assert submission.status == "scored"
    for name in arena.ground_truth:
        stem = name.rsplit(".", 1)[0]
        copy = storage.submission_preview_for_reading(arena.phase, submission.pk, stem, hidden=False)
        assert np.array_equal(np.asarray(Image.open(copy)), restored[name])
        assert storage.submission_preview_for_reading(arena.phase, submission.pk, stem, hidden=True).is_file()
