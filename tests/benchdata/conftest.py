"""Fixtures for benchdata tests: a private manifests folder, tiny datasets, the shared benchmark data."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from benchdata.image_files import write_image
from benchdata.manifests import manifest_from_folder

ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path | None:
    """The shared benchmark data: $RESTOREBENCH_SHARED_DATA if set, else ../shared/data beside the
    checkout (CI and development machines), when present."""
    explicit = os.environ.get("RESTOREBENCH_SHARED_DATA")
    for candidate in ([Path(explicit)] if explicit else []) + [ROOT.parent / "shared" / "data"]:
        if (candidate / "SHA256SUMS").is_file():
            return candidate
    return None


@pytest.fixture
def manifests(tmp_path, monkeypatch) -> Path:
    """An empty manifests folder used instead of the repository's datasets/."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    monkeypatch.setenv("RESTOREBENCH_DATASETS_DIR", str(folder))
    return folder


def make_images(folder: Path, count: int = 4, shape=(24, 20, 3), seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    return [write_image(folder / f"img{i}.png", rng.random(shape)) for i in range(count)]


@pytest.fixture
def tiny_known(tmp_path, manifests) -> Path:
    """A folder of 4 PNGs and a 'known' manifest named 'tiny' for it (splits: test = 3, train = 1)."""
    folder = tmp_path / "tiny_src"
    make_images(folder)
    manifest = manifest_from_folder(
        folder,
        name="tiny",
        title="Tiny",
        splits={"test": ["img0.png", "img1.png", "img2.png"], "train": ["img3.png"]},
        source={"homepage": None, "reference": "test", "download": None},
        licence="test data",
        recommended_use="tests",
    )
    (manifests / "tiny.json").write_text(manifest.to_json())
    return folder


def write_unknown_manifest(manifests: Path, name: str, count: int, stems=None, download=None) -> None:
    data = {
        "schema": 1,
        "name": name,
        "title": name,
        "description": "",
        "variant": None,
        "checksums": "unknown",
        "expected_count": count,
        "expected_stems": stems,
        "splits": {"test": "all"},
        "source": {"homepage": None, "reference": "test", "download": download},
        "licence": "test",
        "recommended_use": "tests",
    }
    (manifests / f"{name}.json").write_text(json.dumps(data))
