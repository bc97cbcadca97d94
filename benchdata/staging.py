"""Folders replaced whole: written beside their final place first, then swapped in.

A reader of a track's or a phase's data folder sees either the old set or the new one, never half of
each, and a failure while writing leaves the old one untouched and no staging folder behind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_folders(*finals: Path, prefix: str) -> Iterator[list[Path]]:
    """One fresh empty folder beside each of `finals` (same file system, so the swap is a rename).
    When the block ends normally each replaces its final folder (an existing one is removed first);
    when it raises, the staging folders are removed and the finals are left as they were."""
    stages: list[Path] = []
    try:
        for final in finals:
            final.parent.mkdir(parents=True, exist_ok=True)
            stages.append(Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=final.parent)))
        yield stages
        for stage, final in zip(stages, finals, strict=True):
            if final.exists():
                shutil.rmtree(final)
            stage.rename(final)
    except BaseException:
        for stage in stages:
            shutil.rmtree(stage, ignore_errors=True)
        raise
