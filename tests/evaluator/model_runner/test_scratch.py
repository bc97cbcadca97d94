"""Scratch folders are named for the process that owns them; the sweep deletes those whose owner is
gone (a pid that died, or a pid reused by a later process) and leaves the live ones."""

import os
import subprocess
import sys
import time
from pathlib import Path

from evaluator.model_runner.scratch import (
    SCRATCH_PREFIX,
    process_start_time,
    scratch_create,
    scratch_owner_alive,
    sweep_stale_scratch,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _folder(root: Path, name: str, age_s: float = 0.0) -> Path:
    folder = root / name
    (folder / "out").mkdir(parents=True)
    (folder / "out" / "000000.npy").write_bytes(b"x" * 100)
    if age_s:
        then = time.time() - age_s
        os.utime(folder, (then, then))
    return folder


def test_a_scratch_folder_is_named_for_its_live_owner(tmp_path):
    folder = scratch_create(tmp_path)
    assert folder.parent == tmp_path and folder.name.startswith(SCRATCH_PREFIX)
    assert folder.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}.{process_start_time(os.getpid())}-")
    assert scratch_owner_alive(folder) is True
    assert sweep_stale_scratch(tmp_path) == [] and folder.is_dir()


def test_the_sweep_deletes_folders_of_dead_or_reused_pids_and_keeps_the_rest(tmp_path):
    me, start = os.getpid(), process_start_time(os.getpid())
    live = _folder(tmp_path, f"{SCRATCH_PREFIX}{me}.{start}-live")
    dead = _folder(tmp_path, f"{SCRATCH_PREFIX}{_dead_pid()}.{start}-dead")
    reused = _folder(tmp_path, f"{SCRATCH_PREFIX}{me}.{start + 1}-reused")  # same pid, another process
    old_unowned = _folder(tmp_path, f"{SCRATCH_PREFIX}abcd1234", age_s=2 * 86400)
    new_unowned = _folder(tmp_path, f"{SCRATCH_PREFIX}efgh5678")
    other = _folder(tmp_path, "someone-else", age_s=2 * 86400)

    deleted = sweep_stale_scratch(tmp_path)

    assert sorted(deleted) == sorted([dead, reused, old_unowned])
    assert not any(p.exists() for p in deleted)
    assert live.is_dir() and new_unowned.is_dir() and other.is_dir()
