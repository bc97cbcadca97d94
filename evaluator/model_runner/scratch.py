"""Scratch folders of model runs, and the sweep of those no live run owns.

Each run copies the model and the inputs into a fresh folder `<root>/restorebench-model-<pid>.<start>-*`
(root: the system's temporary folder), named for the process that owns it: its pid and its start time
in clock ticks since boot (field 22 of /proc/<pid>/stat), so a pid reused by another process does not
keep a dead run's folder alive. The run deletes its folder when it ends; a worker killed mid-run
cannot, and `sweep_stale_scratch()` (run when a platform worker starts and by the periodic cleanup
job) deletes every folder whose owner is no longer alive. Folders of the older naming, without an
owner, go once they are older than `unowned_older_than_s`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

SCRATCH_PREFIX = "restorebench-model-"
_OWNED = re.compile(rf"^{re.escape(SCRATCH_PREFIX)}(\d+)\.(\d+)-")


def default_scratch_root() -> Path:
    return Path(tempfile.gettempdir())


def process_start_time(pid: int) -> int | None:
    """Start time of a live process in clock ticks since boot, or None when there is none (zombies
    count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])  # field 22 of the whole line: state is field 3


def scratch_create(root: Path | None = None) -> Path:
    """A fresh scratch folder owned (by its name) by this process."""
    pid = os.getpid()
    prefix = f"{SCRATCH_PREFIX}{pid}.{process_start_time(pid)}-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root or default_scratch_root()))


def scratch_owner_alive(folder: Path) -> bool | None:
    """Whether the process named in the folder's name still runs; None for a folder without an owner."""
    match = _OWNED.match(folder.name)
    if match is None:
        return None
    pid, start = int(match.group(1)), int(match.group(2))
    return process_start_time(pid) == start


def sweep_stale_scratch(root: Path | None = None, *, unowned_older_than_s: float = 86400.0) -> list[Path]:
    """Delete the scratch folders under `root` whose owning process is gone (and owner-less ones older
    than `unowned_older_than_s`); return the folders deleted."""
    root = root or default_scratch_root()
    deleted = []
    try:
        candidates = sorted(p for p in root.iterdir() if p.name.startswith(SCRATCH_PREFIX))
    except FileNotFoundError:
        return []
    for folder in candidates:
        if folder.is_symlink() or not folder.is_dir():
            continue
        alive = scratch_owner_alive(folder)
        if alive is None:
            try:
                alive = time.time() - folder.stat().st_mtime < unowned_older_than_s
            except FileNotFoundError:
                continue
        if alive:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            deleted.append(folder)
    return deleted
