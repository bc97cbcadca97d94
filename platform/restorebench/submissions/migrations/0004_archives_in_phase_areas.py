"""Stored uploads move into their challenge's area: `submissions/phase-<id>/<name>` becomes
`challenges/<challenge id>/phases/<phase id>/submissions/<name>` (restorebench.storage), where every
read now checks it is. A file is hard-linked (copied across file systems), so the old one stays until
deleted by hand; a row whose file is not in its own phase's old folder, or is reached through a
symbolic link, keeps its path, is logged, and is refused when read (its job fails as the platform's)."""

import logging
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.db import migrations

log = logging.getLogger("restorebench.migrations")


def _old_file(storage: Path, recorded: str, phase_id: int) -> Path | None:
    folder = storage / "submissions" / f"phase-{phase_id}"
    path = storage / recorded
    if os.path.isabs(recorded) or ".." in Path(recorded).parts or path.parent != folder:
        return None
    if any(p.is_symlink() for p in (storage / "submissions", folder, path)) or not path.is_file():
        return None
    return path


def move_archives(apps, schema_editor) -> None:
    Submission = apps.get_model("submissions", "Submission")
    storage = Path(settings.RESTOREBENCH_STORAGE_DIR)
    for submission in Submission.objects.select_related("phase__track").order_by("pk").iterator():
        phase = submission.phase
        new_relative = f"challenges/{phase.track.challenge_id}/phases/{phase.pk}/submissions/"
        if submission.archive_path.startswith(new_relative):
            continue
        old = _old_file(storage, submission.archive_path, phase.pk)
        if old is None:
            log.warning(
                "submission %s: stored file not in its phase's folder; left, reads refuse it", submission.pk
            )
            continue
        new = storage / new_relative / old.name
        new.parent.mkdir(parents=True, exist_ok=True)
        if not new.exists():
            try:
                os.link(old, new)
            except OSError:
                shutil.copy2(old, new)
        Submission.objects.filter(pk=submission.pk).update(archive_path=new_relative + old.name)


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0003_phase_data_areas"),
        ("submissions", "0003_model_submissions"),
    ]

    operations = [migrations.RunPython(move_archives, migrations.RunPython.noop)]
