"""What an upload can tell from file headers alone is checked at upload, before the attempt counts:
names that collide by stem, image sizes read from the headers against the ground truth's, and content
the team already submitted to the phase."""

import hashlib

import numpy as np
import pytest
from django.utils import timezone
from rb_test_helpers import make_zip, png_bytes, stored_files
from rb_test_models import MANIFEST, give_inputs, identity_conv_onnx
from restorebench.submissions.models import Submission
from restorebench.submissions.services import (
    SubmissionRefused,
    submission_create,
    submission_create_model,
    submission_limits_used,
    upload_session_create,
)

pytestmark = pytest.mark.django_db


def _refused_uncounted(arena, user, team, upload: bytes, message: str, platform_dirs) -> None:
    before = stored_files(platform_dirs)
    with pytest.raises(SubmissionRefused, match=message):
        submission_create(phase=arena.phase, user=user, archive=[upload])
    assert submission_limits_used(team=team, phase=arena.phase, now=timezone.now()) == (0, 0)
    assert stored_files(platform_dirs) == before


def test_names_that_collide_by_stem_are_refused_at_upload(make_arena, make_participant, platform_dirs):
    arena = make_arena(images=2)
    user, team = make_participant(arena)
    restored = arena.restored(noise=2)
    # Two files, as the phase expects, but both claim the ground truth "0000".
    upload = make_zip(
        {"0000.png": png_bytes(restored["0000.png"]), "0000.tif": png_bytes(restored["0001.png"])}
    )
    _refused_uncounted(
        arena, user, team, upload, r"'0000.png' and '0000.tif'.*by name without extension", platform_dirs
    )


def test_an_image_whose_header_gives_the_wrong_size_is_refused_at_upload(
    make_arena, make_participant, platform_dirs
):
    arena = make_arena(images=2, size=(24, 32))
    user, team = make_participant(arena)
    restored = arena.restored(noise=2)
    restored["0001.png"] = np.zeros((12, 16, 3), dtype=np.uint8)
    upload = arena.zip_of(restored)
    _refused_uncounted(
        arena, user, team, upload, r"0001.png: is 16×12 \(W×H\), expected 32×24", platform_dirs
    )


def test_the_size_check_reads_only_headers_and_accepts_the_right_sizes(make_arena, make_participant):
    arena = make_arena(images=2, size=(24, 32))
    user, _ = make_participant(arena)
    restored = arena.restored(noise=2)
    # Pixels after the header are not decoded at upload: a PNG cut after its IHDR still passes here.
    members = {name: png_bytes(array) for name, array in restored.items()}
    members["0001.png"] = members["0001.png"][:64]
    assert submission_create(phase=arena.phase, user=user, archive=[make_zip(members)]).image_count == 2


def test_a_zip_byte_identical_to_one_the_team_sent_is_refused_before_it_counts(
    make_arena, make_participant, platform_dirs
):
    arena = make_arena(images=1)
    user, team = make_participant(arena)
    upload = arena.submission_zip()
    first = submission_create(phase=arena.phase, user=user, archive=[upload])
    before = stored_files(platform_dirs)
    with pytest.raises(
        SubmissionRefused, match=rf"already submitted this content to this phase \(submission #{first.pk}\)"
    ):
        submission_create(phase=arena.phase, user=user, archive=[upload])
    assert submission_limits_used(team=team, phase=arena.phase, now=timezone.now()) == (1, 1)
    assert stored_files(platform_dirs) == before
    # Announced as a chunked upload, it is refused before a byte is sent.
    with pytest.raises(
        SubmissionRefused, match=rf"already submitted this file to this phase \(submission #{first.pk}\)"
    ):
        upload_session_create(
            phase=arena.phase, user=user, filename="again.zip", total_bytes=len(upload),
            sha256=hashlib.sha256(upload).hexdigest(),
        )  # fmt: skip


def test_content_the_platform_failed_may_be_sent_again(make_arena, make_participant):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    upload = arena.submission_zip()
    lost = submission_create(phase=arena.phase, user=user, archive=[upload])
    Submission.objects.filter(pk=lost.pk).update(
        status="failed", failure_kind="platform", counts_toward_limits=False
    )
    assert submission_create(phase=arena.phase, user=user, archive=[upload]).pk != lost.pk


def test_another_team_may_send_the_same_content(make_arena, make_participant):
    arena = make_arena(images=1)
    upload = arena.submission_zip()
    for _ in range(2):
        user, _ = make_participant(arena)
        submission_create(phase=arena.phase, user=user, archive=[upload])
    assert Submission.objects.count() == 2


def test_the_same_model_with_the_same_manifest_is_refused_before_it_counts(
    make_arena, make_participant, platform_dirs
):
    arena = make_arena(images=1)
    give_inputs(arena, platform_dirs / "storage")
    user, team = make_participant(arena)
    model = identity_conv_onnx()
    submission_create_model(phase=arena.phase, user=user, model=[model], manifest=MANIFEST)
    with pytest.raises(SubmissionRefused, match="already submitted this content"):
        submission_create_model(phase=arena.phase, user=user, model=[model], manifest=MANIFEST)
    assert submission_limits_used(team=team, phase=arena.phase, now=timezone.now()) == (1, 1)
