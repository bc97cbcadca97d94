"""A phase's data through the API: organizer pairs uploaded as a zip (organizers of that challenge
only; every problem named in one 400, nothing left behind), public ground truth offered as a download
(hidden never), and the exact scoring spec the workers use."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rb_test_helpers import make_zip, png_bytes
from rest_framework.test import APIClient
from restorebench import storage
from restorebench.accounts.services import token_get_or_create
from restorebench.challenges.models import AuditLogEntry, Phase
from restorebench.submissions.jobs import evaluation_job_claim

pytestmark = pytest.mark.django_db


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def _image(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _data_zip(names=("a", "b"), size=(6, 8), extra: dict | None = None) -> bytes:
    members = {}
    for i, name in enumerate(names):
        members[f"inputs/{name}.png"] = png_bytes(_image(*size, seed=i))
        members[f"ground_truth/{name}.png"] = png_bytes(_image(*size, seed=100 + i))
    members.update(extra or {})
    return make_zip(members)


def _upload(client, phase, data: bytes):
    return client.post(
        f"/api/phases/{phase.pk}/data/",
        {"file": SimpleUploadedFile("data.zip", data, "application/zip")},
        format="multipart",
    )


def _all_files(var_dir: Path) -> list[Path]:
    return sorted(p for p in var_dir.rglob("*") if p.is_file())


def test_an_organizer_replaces_a_phases_data_with_checked_pairs(make_arena, platform_dirs):
    arena = make_arena(images=2)
    data = _data_zip(names=("x", "y", "z"))
    response = _upload(_client(arena.organizer), arena.phase, data)
    assert response.status_code == 200, response.content
    phase = Phase.objects.get(pk=arena.phase.pk)
    assert phase.expected_images == ["x.png", "y.png", "z.png"]
    assert response.json()["image_count"] == 3
    truth, inputs = storage.phase_ground_truth_dir(phase), storage.phase_inputs_dir(phase)
    assert sorted(p.name for p in truth.iterdir()) == ["x.png", "y.png", "z.png"]  # the old ones gone
    assert (truth / "y.png").read_bytes() == png_bytes(_image(6, 8, seed=101))
    assert (inputs / "inputs" / "z.png").read_bytes() == png_bytes(_image(6, 8, seed=2))
    public = json.loads((inputs / "manifest.json").read_text())
    digests = {
        f["name"]: f["sha256"] for f in json.loads(storage.phase_hidden_manifest(phase).read_text())["files"]
    }
    assert digests["gt/x.png"] == hashlib.sha256(png_bytes(_image(6, 8, seed=100))).hexdigest()
    assert [item["id"] for item in public["items"]] == ["x", "y", "z"]
    entry = AuditLogEntry.objects.get(action="phase.data_upload")
    assert entry.actor == arena.organizer and entry.details["pairs"] == 3
    assert AuditLogEntry.objects.filter(action="phase.data_install", target=f"phase:{phase.pk}").count() == 2
    for scratch in (platform_dirs / "storage" / "tmp", platform_dirs / "hidden" / "tmp"):
        assert not list(scratch.rglob("*"))

    # A second upload replaces the first.
    assert _upload(_client(arena.organizer), phase, _data_zip(names=("q",))).status_code == 200
    phase.refresh_from_db()
    assert phase.expected_images == ["q.png"]
    assert sorted(p.name for p in storage.phase_inputs_dir(phase).rglob("*.png")) == ["q.png"]


@pytest.mark.parametrize(
    ("data", "messages"),
    [
        (
            _data_zip(extra={"ground_truth/c.png": png_bytes(_image(6, 8, 9))}),
            ["ground_truth/c.png: no input named c in inputs"],
        ),
        (
            _data_zip(
                extra={
                    "inputs/c.png": png_bytes(_image(6, 8, 9)),
                    "ground_truth/a.png": png_bytes(_image(7, 8, 9)),
                }
            ),
            [
                "inputs/c.png: no ground truth named c.png in ground_truth",
                "inputs/a.png is 8x6 but ground_truth/a.png is 8x7; this task keeps the size",
            ],
        ),
        (
            _data_zip(extra={"inputs/b.npy": b"\x93NUMPYjunk"}),
            ["file names that differ only by extension or case: 'inputs/b.png' and 'inputs/b.npy'"],
        ),
        (
            _data_zip(extra={"ground_truth/b.png": png_bytes(_image(7, 8, 9))}),
            ["inputs/b.png is 8x6 but ground_truth/b.png is 8x7; this task keeps the size"],
        ),
        (
            _data_zip(extra={"ground_truth/a.png": b"\x89PNG\r\n\x1a\ntruncated"}),
            ["ground_truth/a.png: cannot read the PNG header"],
        ),
        (_data_zip(extra={"readme.png": b"x"}), ["readme.png: outside inputs/ and ground_truth/"]),
        (_data_zip(extra={"inputs/notes.txt": b"x"}), ["not an image file: 'inputs/notes.txt'"]),
        (_data_zip(extra={"../evil.png": b"x"}), ["path traversal in the zip: '../evil.png'"]),
        (_data_zip(extra={"inputs/deep/a.png": b"x"}), ["unexpected folder in the zip: 'inputs/deep/a.png'"]),
        (b"not a zip", ["not a zip archive"]),
        (make_zip({"inputs/a.png": png_bytes(_image(6, 8, 0))}), ["ground_truth: not a folder"]),
    ],
)
def test_a_bad_data_zip_is_refused_naming_each_file_and_stores_nothing(
    make_arena, platform_dirs, data, messages
):
    arena = make_arena(images=2)
    before_files = _all_files(platform_dirs)
    before = Phase.objects.values().get(pk=arena.phase.pk)
    response = _upload(_client(arena.organizer), arena.phase, data)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]["non_field_errors"]
    assert len(errors) == len(messages)
    for error, message in zip(errors, messages, strict=True):
        assert error.startswith(message)
    assert str(platform_dirs) not in response.content.decode()
    assert Phase.objects.values().get(pk=arena.phase.pk) == before
    assert _all_files(platform_dirs) == before_files
    assert not AuditLogEntry.objects.filter(action="phase.data_upload").exists()


def test_only_the_challenges_organizers_may_upload_its_data(make_arena, make_participant, platform_dirs):
    arena, other = make_arena(), make_arena()
    participant, _ = make_participant(arena)
    before = _all_files(platform_dirs)
    for user in (participant, other.organizer):
        assert _upload(_client(user), arena.phase, _data_zip()).status_code == 403
    assert _upload(_client(), arena.phase, _data_zip()).status_code in (401, 403)
    assert _all_files(platform_dirs) == before
    assert Phase.objects.get(pk=arena.phase.pk).expected_images == arena.phase.expected_images


def test_public_ground_truth_is_a_download_next_to_the_inputs(make_arena, make_participant):
    import io
    import zipfile

    arena = make_arena(images=3, hidden_ground_truth=False)
    user, _ = make_participant(arena)
    response = _client(user).get(f"/api/phases/{arena.phase.pk}/ground-truth.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(arena.ground_truth)
    for name, array in arena.ground_truth.items():
        assert archive.read(name) == png_bytes(array)
    assert _client().get(f"/api/phases/{arena.phase.pk}/ground-truth.zip").status_code in (401, 403)
    page = _page(user, f"/tracks/{arena.track.pk}/")
    assert f'href="/api/phases/{arena.phase.pk}/ground-truth.zip"' in page
    assert f'href="/api/phases/{arena.phase.pk}/inputs.zip"' in page


def test_new_data_rebuilds_both_download_zips_and_leaves_no_partial_file(make_arena, make_participant):
    import io
    import zipfile

    arena = make_arena(images=2, hidden_ground_truth=False)
    user, _ = make_participant(arena)
    participant = _client(user)

    def downloaded(name: str) -> dict[str, bytes]:
        response = participant.get(f"/api/phases/{arena.phase.pk}/{name}")
        assert response.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        return {n: archive.read(n) for n in archive.namelist()}

    assert _upload(_client(arena.organizer), arena.phase, _data_zip(names=("a", "b"))).status_code == 200
    before = downloaded("inputs.zip"), downloaded("ground-truth.zip")
    assert _upload(_client(arena.organizer), arena.phase, _data_zip(names=("p", "q", "r"))).status_code == 200
    inputs, truth = downloaded("inputs.zip"), downloaded("ground-truth.zip")
    assert (inputs, truth) != before
    assert {n for n in inputs if n.endswith(".png")} == {"inputs/p.png", "inputs/q.png", "inputs/r.png"}
    assert sorted(truth) == ["p.png", "q.png", "r.png"]
    assert truth["q.png"] == png_bytes(_image(6, 8, seed=101))
    # Served twice, built once: the second request reuses the stored zip.
    stored = storage.phase_inputs_zip(arena.phase).stat().st_mtime_ns
    downloaded("inputs.zip")
    assert storage.phase_inputs_zip(arena.phase).stat().st_mtime_ns == stored
    leftovers = [p for p in storage.phase_inputs_zip(arena.phase).parent.rglob("*zip*") if "slot" in p.name]
    assert leftovers == []


def _page(user, url: str) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_hidden_ground_truth_is_never_downloadable_not_even_by_an_organizer(
    make_arena, make_participant, platform_dirs
):
    arena = make_arena(images=2, hidden_ground_truth=True)
    user, _ = make_participant(arena)
    for who in (user, arena.organizer):
        assert _client(who).get(f"/api/phases/{arena.phase.pk}/ground-truth.zip").status_code == 404
    assert not storage.phase_ground_truth_zip(arena.phase).exists()  # never even built
    page = _page(user, f"/tracks/{arena.track.pk}/")
    assert f"/api/phases/{arena.phase.pk}/ground-truth.zip" not in page
    assert f"/api/phases/{arena.phase.pk}/scoring-spec.json" in page


def test_the_published_scoring_spec_is_the_one_the_worker_is_given(make_arena, make_participant):
    arena = make_arena(metrics=("psnr", "ssim"))
    response = _client().get(f"/api/phases/{arena.phase.pk}/scoring-spec.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    user, _ = make_participant(arena)
    from restorebench.submissions.services import submission_create

    submission = submission_create(phase=arena.phase, user=user, archive=[arena.submission_zip()])
    claim = evaluation_job_claim(job_id=submission.current_job_id or submission.jobs.get().pk, worker="t")
    assert response.json() == claim.spec == arena.track.scoring_spec


def test_a_model_for_a_pairs_sr_phase_must_match_the_scale_its_scoring_states(
    make_user, make_participant, platform_dirs, monkeypatch
):
    """A track of organizer pairs has no degradation; its scale comes from the scoring spec."""
    import datetime as dt

    from django.utils import timezone
    from rb_test_helpers import Arena
    from rb_test_models import identity_conv_onnx, manifest_json
    from restorebench.challenges.services import challenge_create, phase_create, track_create
    from restorebench.submissions import jobs

    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: True)
    organizer = make_user("sr-organizer")
    challenge = challenge_create(slug="pairs-sr", title="SR pairs", created_by=organizer)
    track = track_create(
        challenge=challenge,
        slug="sr",
        title="SR",
        task="sr",
        scoring_spec={"task": "sr", "scale": 4},
        ranking_metrics=[{"metric": "psnr"}],
        actor=organizer,
    )
    now = timezone.now()
    phase = phase_create(
        track=track,
        slug="dev",
        title="Dev",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(1),
    )
    data = make_zip(
        {"inputs/a.png": png_bytes(_image(6, 8, 0)), "ground_truth/a.png": png_bytes(_image(24, 32, 1))}
    )
    assert _upload(_client(organizer), phase, data).status_code == 200
    user, _ = make_participant(Arena(challenge, track, phase, organizer, {}))
    response = _client(user).post(
        f"/api/phases/{phase.pk}/submissions/model/",
        {
            "file": SimpleUploadedFile("net.onnx", identity_conv_onnx()),
            "manifest": manifest_json(task="sr", scale=2),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "the manifest's scale is 2 but this track's scale is 4" in response.content.decode()
