"""The migration to per-challenge data areas: rows whose old folders lie in their own challenge's old
area have their data moved into the new layout; rows pointing anywhere else (another challenge's
ground truth, the whole storage root, a link out) are refused, logged and audited, and move nothing."""

import datetime as dt
import logging
import os
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from restorebench import storage

BEFORE = [("challenges", "0002_audit_log_append_only"), ("submissions", "0003_model_submissions")]


def _migrate(targets) -> "object":
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] in ("challenges", "submissions")]


def _write(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_each_phases_data_into_its_area_and_refuses_paths_outside_it(
    platform_dirs, caplog
):
    storage_dir, hidden_dir = platform_dirs / "storage", platform_dirs / "hidden"
    latest = _latest()
    try:
        apps = _migrate(BEFORE)
        Challenge, Track = apps.get_model("challenges", "Challenge"), apps.get_model("challenges", "Track")
        Phase, Submission = apps.get_model("challenges", "Phase"), apps.get_model("submissions", "Submission")
        now = timezone.now()

        def phase(challenge_slug: str, slug: str, **paths):
            challenge, _ = Challenge.objects.get_or_create(slug=challenge_slug, defaults={"title": "C"})
            track, _ = Track.objects.get_or_create(
                challenge=challenge,
                slug="t",
                defaults={"title": "T", "task": "denoise", "ranking_metrics": []},
            )
            return Phase.objects.create(
                track=track, slug=slug, title=slug, starts_at=now, ends_at=now + dt.timedelta(days=1), **paths
            )

        # A's phase, in the bundle loader's old layout: it moves.
        old = "tracks/mig-a/t/test"
        _write(storage_dir / old, {"inputs/0000.png": b"a-input", "manifest.json": b"{}"})
        _write(hidden_dir / old, {"gt/0000.png": b"a-truth", "manifest.json": b'{"seed": 7}'})
        a = phase("mig-a", "test", inputs_dir=old, ground_truth_dir=f"{old}/gt")
        _write(storage_dir / f"submissions/phase-{a.pk}", {"x.zip": b"a-result"})
        stored = Submission.objects.create(
            phase=a, archive_path=f"submissions/phase-{a.pk}/x.zip", archive_bytes=8, sha256="0" * 64,
            content_fingerprint="f", image_count=1, is_reference=True,
        )  # fmt: skip
        # B's phases point at A's data, at the whole storage root, and through a link out: refused.
        b_to_a = phase("mig-b", "oracle", inputs_dir=".", ground_truth_dir=f"{old}/gt")
        (hidden_dir / "tracks/mig-b").mkdir(parents=True)
        os.symlink(hidden_dir / old / "gt", hidden_dir / "tracks/mig-b/link")
        b_link = phase("mig-b", "link", ground_truth_dir="tracks/mig-b/link")
        b_climb = phase("mig-b", "climb", ground_truth_dir="tracks/mig-b/../mig-a/t/test/gt")

        with caplog.at_level(logging.WARNING, logger="restorebench.migrations"):
            _migrate(latest)
    finally:
        _migrate(latest)

    from restorebench.challenges.models import AuditLogEntry, Phase
    from restorebench.submissions.models import Submission

    moved = Phase.objects.get(pk=a.pk)
    assert (storage.phase_inputs_for_reading(moved) / "inputs/0000.png").read_bytes() == b"a-input"
    assert (storage.phase_ground_truth_for_reading(moved) / "0000.png").read_bytes() == b"a-truth"
    assert storage.phase_hidden_manifest(moved).read_bytes() == b'{"seed": 7}'
    assert moved.inputs_installed_at is not None and moved.ground_truth_installed_at is not None
    submission = Submission.objects.get(pk=stored.pk)
    assert submission.archive_path == f"challenges/{moved.track.challenge_id}/phases/{a.pk}/submissions/x.zip"
    assert storage.submission_archive_for_reading(moved, submission.archive_path).read_bytes() == b"a-result"

    for refused in (b_to_a, b_link, b_climb):
        row = Phase.objects.get(pk=refused.pk)
        assert (row.inputs_installed_at, row.ground_truth_installed_at) == (None, None)
        assert not storage.phase_area(row).exists()
        assert not storage.phase_area(row, hidden=True).exists()
        entries = AuditLogEntry.objects.filter(action="phase.data_refused", target=f"phase:{row.pk}")
        assert entries.exists() and all(
            "install the phase's data again" in e.details["reason"] for e in entries
        )
        assert f"phase {row.pk}: ground_truth_dir not moved" in caplog.text
    assert f"phase {b_to_a.pk}: inputs_dir not moved" in caplog.text
    # Nothing of A's landed in B's area.
    b_area = storage.challenge_area(Phase.objects.get(pk=b_to_a.pk).track.challenge_id, hidden=True)
    assert not b_area.exists() or not any(p.is_file() for p in b_area.rglob("*"))
