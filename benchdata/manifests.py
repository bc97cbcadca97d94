"""Dataset manifests: one JSON file per dataset in the repository's `datasets/` folder.

A manifest says what a dataset is (title, source, licence, recommended use) and, when known, every
file it holds (relative name with "/" separators, size in bytes, SHA-256). Sets whose files we have
never seen carry `"checksums": "unknown"` and only what is publicly known (expected count, maybe the
file stems); the first import of such a set records the checksums it finds ("trust on first import",
see `benchdata.importing`).

Schema (version 1), fields in order:
    schema: 1
    name: lowercase id, equal to the file name without ".json"
    title, description: text; variant: text or null (which copy of the set this is)
    checksums: "known" | "unknown" | "built" (made at run time from a recipe, see benchdata.starter)
    files: [{"name", "size", "sha256"}, ...]        (checksums known; sorted by name)
    expected_count: int; expected_stems: [str] | null (checksums unknown; stems = names sans extension)
    splits: {"test": [names] or "all", ...} or null; "all" (as a split or a value) means every file
    source: {"homepage", "reference", "download": {...} | null, "note"}; download is
        {"url", "format": "zip" | "tar" | "tar.gz", "subdir": folder inside the archive, "sha256": of the
        archive or null} or {"url": base address, "format": "files", "extension"} (one request per file)
    licence, recommended_use: text

The manifests folder is `datasets/` beside this package, or $RESTOREBENCH_DATASETS_DIR.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
DOWNLOAD_FORMATS = ("zip", "tar", "tar.gz", "files")
IGNORED_FILE_NAMES = frozenset({"manifest.json", ".DS_Store", "Thumbs.db", "desktop.ini"})


class ManifestError(ValueError):
    """A manifest file is missing or malformed."""


@dataclass(frozen=True)
class FileRecord:
    """One file of a dataset: relative name ("/" separators), size in bytes, hex SHA-256."""

    name: str
    size: int
    sha256: str

    def to_dict(self) -> dict:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class DatasetManifest:
    """A parsed dataset manifest (see the module docstring for the schema)."""

    name: str
    data: dict

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def checksums_known(self) -> bool:
        return self.data["checksums"] == "known"

    @property
    def files(self) -> dict[str, FileRecord]:
        return {entry["name"]: FileRecord(**entry) for entry in self.data.get("files") or []}

    @property
    def expected_count(self) -> int:
        if self.data["checksums"] == "built":
            return len(self.data["recipe"])
        return len(self.data["files"]) if self.checksums_known else int(self.data["expected_count"])

    @property
    def expected_stems(self) -> list[str] | None:
        return self.data.get("expected_stems")

    @property
    def download(self) -> dict | None:
        return (self.data.get("source") or {}).get("download")

    def split(self, split: str) -> list[str]:
        """File names of `split` ("all" for every file) in sorted order."""
        splits = self.data.get("splits")
        if split == "all":
            return sorted(self.files)
        if not splits or split not in splits:
            valid = ["all"] + sorted(splits or {})
            raise ManifestError(f"dataset {self.name}: no split {split!r}; valid splits: {', '.join(valid)}")
        return sorted(self.files) if splits[split] == "all" else sorted(splits[split])

    def to_json(self) -> str:
        """Indented JSON with one line per file record (readable diffs), ending in a newline."""
        data = dict(self.data)
        files = data.pop("files", None)
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if files is None:
            return text + "\n"
        lines = ",\n".join("    " + json.dumps(entry, ensure_ascii=False) for entry in files)
        return text[:-2] + ',\n  "files": [\n' + lines + "\n  ]\n}\n"


def manifests_dir() -> Path:
    """The folder of dataset manifests: $RESTOREBENCH_DATASETS_DIR or `datasets/` in the repository."""
    override = os.environ.get("RESTOREBENCH_DATASETS_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "datasets"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def scan_folder(folder: str | Path) -> dict[str, FileRecord]:
    """Every regular file under `folder` (recursively; hidden files and OS clutter skipped) by name."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    records = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or path.name in IGNORED_FILE_NAMES:
            continue
        if path.is_symlink():
            raise ValueError(f"{path}: symbolic links are not accepted in a dataset folder")
        if path.is_file():
            name = relative.as_posix()
            records[name] = FileRecord(name=name, size=path.stat().st_size, sha256=sha256_file(path))
    return records


def validate_manifest_data(data: Any, where: str) -> dict:
    """Check a manifest dict against the schema; raise ManifestError naming the field."""
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: a manifest must be a JSON object")
    for key in ("schema", "name", "title", "checksums", "source", "licence", "recommended_use"):
        if key not in data:
            raise ManifestError(f"{where}: missing field {key!r}")
    if data["schema"] != SCHEMA_VERSION:
        raise ManifestError(f"{where}: schema must be {SCHEMA_VERSION}, got {data['schema']!r}")
    if not isinstance(data["name"], str) or not _NAME_RE.match(data["name"]):
        raise ManifestError(f"{where}: name must be a lowercase identifier, got {data['name']!r}")
    if data["checksums"] == "known":
        files = data.get("files")
        if not isinstance(files, list) or not files:
            raise ManifestError(f"{where}: checksums are 'known' but 'files' is empty or missing")
        seen = set()
        for entry in files:
            if not isinstance(entry, dict) or set(entry) != {"name", "size", "sha256"}:
                raise ManifestError(f"{where}: each file needs exactly name, size, sha256; got {entry!r}")
            name = entry["name"]
            if not isinstance(name, str) or name.startswith("/") or ".." in name.split("/") or "\\" in name:
                raise ManifestError(f"{where}: unsafe file name {name!r}")
            if name in seen:
                raise ManifestError(f"{where}: file {name!r} listed twice")
            seen.add(name)
            if not isinstance(entry["size"], int) or entry["size"] < 0:
                raise ManifestError(f"{where}: file {name}: size must be a non-negative integer")
            if not isinstance(entry["sha256"], str) or not _SHA_RE.match(entry["sha256"]):
                raise ManifestError(f"{where}: file {name}: sha256 must be 64 lowercase hex digits")
        splits = data.get("splits")
        if splits is not None:
            if not isinstance(splits, dict):
                raise ManifestError(f"{where}: splits must be an object of name -> file list")
            for split, names in splits.items():
                if names == "all":
                    continue
                if not isinstance(names, list):
                    raise ManifestError(f"{where}: split {split!r} must be a list of file names or 'all'")
                unknown = sorted(set(names) - seen)
                if unknown:
                    raise ManifestError(
                        f"{where}: split {split!r} names files not in the manifest: {unknown[:5]}"
                    )
    elif data["checksums"] == "built":
        recipe = data.get("recipe")
        if not isinstance(recipe, list) or not recipe:
            raise ManifestError(f"{where}: checksums are 'built', so 'recipe' must list the images to build")
        for entry in recipe:
            missing = {"name", "package", "file", "mode", "crop", "split", "pixels_sha256"} - set(entry)
            if missing:
                raise ManifestError(
                    f"{where}: recipe entry {entry.get('name')!r} lacks {', '.join(sorted(missing))}"
                )
    elif data["checksums"] == "unknown":
        count = data.get("expected_count")
        if not isinstance(count, int) or count < 1:
            raise ManifestError(
                f"{where}: checksums are 'unknown', so expected_count must be a positive integer"
            )
        stems = data.get("expected_stems")
        if stems is not None and (not isinstance(stems, list) or len(stems) != count):
            raise ManifestError(f"{where}: expected_stems must list expected_count ({count}) stems")
    else:
        raise ManifestError(
            f"{where}: checksums must be 'known', 'unknown' or 'built', got {data['checksums']!r}"
        )
    download = (data.get("source") or {}).get("download")
    if download is not None:
        if not isinstance(download, dict) or not isinstance(download.get("url"), str):
            raise ManifestError(f"{where}: source.download must be null or an object with a url")
        if download.get("format") not in DOWNLOAD_FORMATS:
            raise ManifestError(
                f"{where}: source.download.format must be one of {', '.join(DOWNLOAD_FORMATS)}"
            )
        if download["format"] == "files" and (
            data["checksums"] == "unknown" and not data.get("expected_stems")
        ):
            raise ManifestError(f"{where}: a 'files' download needs the file names (files or expected_stems)")
    return data


def load_manifest_file(path: str | Path) -> DatasetManifest:
    """Parse and validate one manifest file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ManifestError(f"{path}: manifest not found") from error
    except json.JSONDecodeError as error:
        raise ManifestError(f"{path}: not valid JSON ({error})") from error
    validate_manifest_data(data, str(path))
    return DatasetManifest(name=data["name"], data=data)


def list_datasets() -> list[str]:
    """Names of every dataset with a manifest, sorted."""
    return sorted(path.stem for path in manifests_dir().glob("*.json"))


def load_manifest(name: str) -> DatasetManifest:
    """The manifest of dataset `name` (case-insensitive); an unknown name lists the valid ones."""
    key = name.lower()
    path = manifests_dir() / f"{key}.json"
    if not path.is_file():
        raise ManifestError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    manifest = load_manifest_file(path)
    if manifest.name != key:
        raise ManifestError(f"{path}: name field {manifest.name!r} differs from the file name {key!r}")
    return manifest


def manifest_from_folder(folder: str | Path, **metadata: Any) -> DatasetManifest:
    """A 'known' manifest for the files of `folder` plus the given metadata fields (for organizers)."""
    records = scan_folder(folder)
    if not records:
        raise ManifestError(f"{folder}: no files to put in a manifest")
    data = {
        "schema": SCHEMA_VERSION,
        "name": metadata.pop("name"),
        "title": metadata.pop("title"),
        "description": metadata.pop("description", ""),
        "variant": metadata.pop("variant", None),
        "checksums": "known",
        "files": [record.to_dict() for record in records.values()],
        "splits": metadata.pop("splits", None),
        "source": metadata.pop("source", {}),
        "licence": metadata.pop("licence", "unknown"),
        "recommended_use": metadata.pop("recommended_use", ""),
    }
    data.update(metadata)
    validate_manifest_data(data, f"manifest for {folder}")
    return DatasetManifest(name=data["name"], data=data)
