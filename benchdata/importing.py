"""Importing a dataset from a local folder: verify every file, then copy it into the data store.

`verify_folder` compares a folder with what is expected of a dataset and reports, by name, the files
that are missing, extra, or altered (size or SHA-256 differs). `import_dataset` runs it, refuses to go
on when anything is missing or altered, copies the expected files into `<data root>/<name>/`,
verifies the copies again, and writes `<data root>/<name>/manifest.json` -- the record every other part
of the project reads (`dataset_dir`).

What "expected" means:
1. the repository manifest lists checksums ("known"): they are the reference;
2. otherwise, a previous import of this dataset recorded checksums in the store: they are the
   reference ("trust on first import": the first copy imported defines the set, and any later import
   must be identical);
3. otherwise (first import of a set whose checksums nobody has pinned): every image file is accepted
   if the count -- and the file stems, when the manifest lists them -- match; the checksums found are
   recorded, and the import says that it trusted the folder.

Extra files are reported and not copied; they do not fail the import (dataset folders often carry a
README or thumbnails). The data root is $RESTOREBENCH_VAR_DIR/datasets (default `var/datasets`).
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from benchdata.manifests import (
    SCHEMA_VERSION,
    DatasetManifest,
    FileRecord,
    ManifestError,
    load_manifest,
    load_manifest_file,
    scan_folder,
    sha256_file,
)

IMAGE_EXTENSIONS = frozenset({".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".ppm", ".pgm"})
STORE_MANIFEST = "manifest.json"


def data_root() -> Path:
    """Where imported datasets live: $RESTOREBENCH_VAR_DIR/datasets, default <repo>/var/datasets."""
    var = os.environ.get("RESTOREBENCH_VAR_DIR")
    base = Path(var) if var else Path(__file__).resolve().parent.parent / "var"
    return base / "datasets"


@dataclass
class VerificationReport:
    """The outcome of comparing a folder with a dataset: names of missing, extra and altered files."""

    dataset: str
    folder: Path
    reference: str  # "repository manifest" | "recorded at first import" | "trust on first import"
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # count mismatches etc. (first import only)
    accepted: dict[str, FileRecord] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.problems)

    def summary(self) -> str:
        count = len(self.accepted)
        head = f"{self.dataset} from {self.folder}: {count} file(s) accepted"
        lines = [f"{head}, checked against the {self.reference}"]
        for label, names in (
            ("missing", self.missing),
            ("altered", self.altered),
            ("extra (ignored)", self.extra),
        ):
            if names:
                lines.append(
                    f"  {label} ({len(names)}): {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}"
                )
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


class DatasetVerificationError(ValueError):
    """A folder does not match its dataset; `.report` says which files and how."""

    def __init__(self, report: VerificationReport) -> None:
        super().__init__(report.summary())
        self.report = report


def _compare(
    expected: dict[str, FileRecord], found: dict[str, FileRecord], report: VerificationReport
) -> None:
    for name, record in expected.items():
        actual = found.get(name)
        if actual is None:
            report.missing.append(name)
        elif actual.size != record.size or actual.sha256 != record.sha256:
            sizes = f"size {actual.size} vs {record.size}"
            hashes = f"sha256 {actual.sha256[:12]}... vs {record.sha256[:12]}..."
            report.altered.append(f"{name} ({sizes}, {hashes})")
        else:
            report.accepted[name] = actual
    report.extra = sorted(set(found) - set(expected))


def _first_import(
    manifest: DatasetManifest, found: dict[str, FileRecord], report: VerificationReport
) -> None:
    images = {
        name: record
        for name, record in found.items()
        if PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS
    }
    report.extra = sorted(set(found) - set(images))
    stems = manifest.expected_stems
    if stems is not None:
        by_stem: dict[str, list[str]] = {}
        for name in images:
            by_stem.setdefault(PurePosixPath(name).stem, []).append(name)
        report.missing = [stem for stem in stems if stem not in by_stem]
        unexpected = sorted(name for stem, names in by_stem.items() if stem not in stems for name in names)
        report.extra = sorted(report.extra + unexpected)
        doubled = sorted(stem for stem, names in by_stem.items() if stem in stems and len(names) > 1)
        if doubled:
            report.problems.append(f"several files for the same image: {', '.join(doubled)}")
        images = {name: images[name] for stem in stems for name in by_stem.get(stem, [])}
    if not report.missing and len(images) != manifest.expected_count:
        report.problems.append(
            f"found {len(images)} image file(s), the dataset has {manifest.expected_count}"
        )
    report.accepted = dict(sorted(images.items()))


def _recorded(name: str, root: Path) -> DatasetManifest | None:
    path = root / name / STORE_MANIFEST
    return load_manifest_file(path) if path.is_file() else None


def verify_folder(name: str, folder: str | Path, root: str | Path | None = None) -> VerificationReport:
    """Compare `folder` with dataset `name` (see the module docstring for the reference used)."""
    manifest = load_manifest(name)
    if manifest.data["checksums"] == "built":
        raise ManifestError(f"dataset {manifest.name} is built, not imported: see build_starter")
    folder = Path(folder)
    root = Path(root) if root is not None else data_root()
    found = scan_folder(folder)
    if manifest.checksums_known:
        report = VerificationReport(manifest.name, folder, "repository manifest")
        _compare(manifest.files, found, report)
        return report
    recorded = _recorded(manifest.name, root)
    if recorded is not None:
        report = VerificationReport(manifest.name, folder, "checksums recorded at first import")
        _compare(recorded.files, found, report)
        return report
    report = VerificationReport(manifest.name, folder, "trust on first import (no checksums known yet)")
    _first_import(manifest, found, report)
    return report


@dataclass(frozen=True)
class ImportResult:
    """Where a dataset was imported, its store manifest, and the verification report."""

    dataset: str
    directory: Path
    manifest_path: Path
    report: VerificationReport
    trusted_on_first_import: bool


def import_dataset(name: str, folder: str | Path, root: str | Path | None = None) -> ImportResult:
    """Verify `folder` as dataset `name` and copy it into `<root>/<name>/` with a store manifest.

    Raises DatasetVerificationError (listing missing / altered files) before copying anything when the
    folder does not match. Re-importing the same files is harmless (the copy is replaced atomically).
    """
    root = Path(root) if root is not None else data_root()
    report = verify_folder(name, folder, root)
    if not report.ok:
        raise DatasetVerificationError(report)
    manifest = load_manifest(name)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{manifest.name}-", dir=root))
    try:
        for relative, record in report.accepted.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(folder) / relative, target)
            # Verify the copy too: the source could change between the check and the copy.
            if sha256_file(target) != record.sha256:
                raise DatasetVerificationError(
                    VerificationReport(
                        manifest.name,
                        Path(folder),
                        report.reference,
                        altered=[f"{relative} (changed while copying)"],
                    )
                )
        trusted = report.reference.startswith("trust on first import")
        store = dict(manifest.data)
        store.update(
            checksums="known",
            files=[record.to_dict() for record in report.accepted.values()],
            imported={
                "from": str(Path(folder).resolve()),
                "verified_against": report.reference,
                "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            },
        )
        store.pop("expected_count", None)
        store.pop("expected_stems", None)
        store["schema"] = SCHEMA_VERSION
        (staging / STORE_MANIFEST).write_text(
            DatasetManifest(manifest.name, store).to_json(), encoding="utf-8"
        )
        target_dir = root / manifest.name
        if target_dir.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{manifest.name}-old-", dir=root))
            target_dir.rename(retired / manifest.name)
            staging.rename(target_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(target_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ImportResult(manifest.name, target_dir, target_dir / STORE_MANIFEST, report, trusted)


def dataset_dir(name: str, root: str | Path | None = None) -> Path:
    """The folder of an imported dataset (its store manifest is `manifest.json` inside it)."""
    root = Path(root) if root is not None else data_root()
    key = name.lower()
    directory = root / key
    if not (directory / STORE_MANIFEST).is_file():
        raise ManifestError(
            f"dataset {name!r} is not imported under {root}; run `python manage.py import_dataset {key} PATH`"
            f" (or `python -m benchdata import {key} PATH`)"
        )
    return directory


def store_manifest(directory: str | Path) -> DatasetManifest:
    """The manifest written by `import_dataset` (or `build_starter`) inside a dataset folder."""
    return load_manifest_file(Path(directory) / STORE_MANIFEST)


def verify_store(directory: str | Path) -> VerificationReport:
    """Re-check an imported dataset folder against its own store manifest (e.g. before a track is made)."""
    directory = Path(directory)
    manifest = store_manifest(directory)
    report = VerificationReport(manifest.name, directory, "store manifest")
    _compare(manifest.files, scan_folder(directory), report)
    return report
