"""Phases stop naming their data folders: each phase's data moves into its challenge's own area
(`challenges/<challenge id>/phases/<phase id>/inputs` under the storage root, `.../ground_truth` under
the hidden root; restorebench.storage); 0004 then drops the free-form `inputs_dir` and
`ground_truth_dir` columns (a separate migration, so the table is altered after these row updates).

A row's old folder is moved only when it lies inside that challenge's old area, the bundle loader's
`tracks/<challenge slug>/`, and neither it nor anything on the way to it or inside it is a symbolic
link. Any other row (a folder of another challenge, the whole storage root, a link out) is refused:
its data is not moved, a warning is logged and an audit entry `phase.data_refused` tells the
organizers to install the phase's data again. Files are hard-linked (copied across file systems), so
the old folders stay as they were; once the site runs, they can be deleted.

The layout is spelled out here rather than imported: a migration keeps the layout of its time.
"""

import logging
import os
import shutil
import stat
from pathlib import Path

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

log = logging.getLogger("restorebench.migrations")


class Refused(Exception):
    pass


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def legacy_folder(root: Path, relative: str, slug: str) -> Path:
    """The old folder a row names, if it may move; raises Refused (a reason without paths) if not."""
    if os.path.isabs(relative) or ".." in Path(relative).parts:
        raise Refused("the old path was absolute or contained '..'")
    area = root / "tracks" / slug
    path = root / relative
    if not path.is_relative_to(area):
        raise Refused("the old folder was outside the challenge's own area")
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise Refused("the old path went through a symbolic link")
    if not path.is_dir():
        raise Refused("the old folder does not exist")
    if not path.resolve().is_relative_to(area.resolve()):
        raise Refused("the old folder was outside the challenge's own area")
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            mode = os.lstat(os.path.join(top, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise Refused("the old folder held a symbolic link or a special file")
    return path


def _install(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dst, copy_function=_link_or_copy)


def _refuse(AuditLogEntry, phase, field: str, reason: str) -> None:
    log.warning("phase %s: %s not moved (%s); install its data again", phase.pk, field, reason)
    AuditLogEntry.objects.create(
        challenge_id=phase.track.challenge_id,
        actor=None,
        action="phase.data_refused",
        target=f"phase:{phase.pk}",
        details={"field": field, "reason": f"{reason}; install the phase's data again"},
    )


def move_phase_data(apps, schema_editor) -> None:
    Phase = apps.get_model("challenges", "Phase")
    AuditLogEntry = apps.get_model("challenges", "AuditLogEntry")
    storage, hidden = Path(settings.RESTOREBENCH_STORAGE_DIR), Path(settings.RESTOREBENCH_HIDDEN_DIR)
    now = timezone.now()
    for phase in Phase.objects.select_related("track__challenge").order_by("pk"):
        challenge = phase.track.challenge
        area = Path("challenges") / str(challenge.pk) / "phases" / str(phase.pk)
        changed = []
        for field, root, target, stamp in (
            ("inputs_dir", storage, "inputs", "inputs_installed_at"),
            ("ground_truth_dir", hidden, "ground_truth", "ground_truth_installed_at"),
        ):
            relative = getattr(phase, field)
            if not relative:
                continue
            try:
                src = legacy_folder(root, relative, challenge.slug)
            except Refused as refusal:
                _refuse(AuditLogEntry, phase, field, str(refusal))
                continue
            _install(src, root / area / target)
            manifest = src.parent / "manifest.json"
            in_area = src.parent.is_relative_to(root / "tracks" / challenge.slug)
            if field == "ground_truth_dir" and in_area and manifest.is_file() and not manifest.is_symlink():
                shutil.copy2(manifest, root / area / "manifest.json")
            setattr(phase, stamp, now)
            changed.append(stamp)
        if changed:
            phase.save(update_fields=changed)
    # Built downloads of the old layout are rebuilt on demand in the new one.
    for old in (storage / "downloads").glob("phase-*-inputs.zip"):
        old.unlink(missing_ok=True)


class Migration(migrations.Migration):
    dependencies = [("challenges", "0002_audit_log_append_only")]

    operations = [
        migrations.AddField(
            model_name="phase",
            name="inputs_installed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="phase",
            name="ground_truth_installed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(move_phase_data, migrations.RunPython.noop),
    ]
