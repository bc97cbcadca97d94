"""Finding a dataset on this machine: imported sets in the data store, starter sets built on demand."""

from __future__ import annotations

from pathlib import Path

from benchdata.importing import data_root, dataset_dir
from benchdata.starter import STARTER_VARIANTS, build_starter


def ensure_dataset(name: str, root: str | Path | None = None) -> Path:
    """The folder of dataset `name`: starter variants are built if needed, other sets must be imported.

    The folder holds the images and `manifest.json` (files with SHA-256, splits).
    """
    key = name.lower()
    root = Path(root) if root is not None else data_root()
    if key in STARTER_VARIANTS:
        return build_starter(root / key, key)
    return dataset_dir(key, root)
