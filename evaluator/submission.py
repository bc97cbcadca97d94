"""Reading a submission (a folder or a .zip) and a ground-truth folder, and matching their file names.

Nothing here decodes pixels: it lists entries with their sizes, refuses archives that are not zips, are
encrypted, or would inflate past the limits (zip bombs), and pairs prediction files with ground-truth
files by name stem ("0801.png" ↔ "0801.png" or "0801.webp"), case-sensitively. Names that differ only in
case or extension ("a.png" and "A.png", "a.png" and "a.bmp") are ambiguous and reported as duplicates.
Hidden files, `__MACOSX/` and folders are ignored; files may sit in sub-folders of the archive.
"""

from __future__ import annotations

import threading
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from evaluator.errors import EvaluatorError, UnreadableSubmission
from evaluator.result import Problem
from evaluator.spec import ScoringSpec

MISSING = "missing"
EXTRA = "extra"
DUPLICATE = "duplicate_name"
TOO_LARGE = "too_large"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Entry:
    """One file of a submission or of the ground truth; `read()` returns its bytes (≤ max_bytes + 1)."""

    name: str  # path inside the submission, POSIX style
    size: int  # bytes (uncompressed, as declared)
    read: Callable[[], bytes]

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name


def _ignored(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _file_reader(path: Path, limit: int) -> Callable[[], bytes]:
    def read() -> bytes:
        with open(path, "rb") as fh:
            return fh.read(limit + 1)

    return read


def list_folder(folder: Path, limit: int, allow_symlinks: bool = False) -> list[Entry]:
    """Regular files under `folder` (recursively), hidden ones skipped; symlinks refused unless allowed
    (a participant's symlink could point anywhere; the organizer's ground truth may use them)."""
    entries = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if _ignored(rel.parts) or path.is_dir():
            continue
        if path.is_symlink() and not allow_symlinks:
            raise UnreadableSubmission(f"{rel.as_posix()}: symbolic links are not accepted in a submission")
        if path.is_file():
            entries.append(Entry(rel.as_posix(), path.stat().st_size, _file_reader(path, limit)))
    return entries


def list_zip(path: Path, spec: ScoringSpec) -> list[Entry]:
    """Members of a zip, after checking the declared sizes against the spec's limits."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableSubmission(f"{path.name}: not a readable zip archive ({exc})") from None
    infos = [i for i in zf.infolist() if not i.is_dir() and not _ignored(PurePosixPath(i.filename).parts)]
    if len(infos) > spec.max_files:
        raise UnreadableSubmission(f"{path.name}: {len(infos)} files exceed the limit of {spec.max_files}")
    total = sum(i.file_size for i in infos)
    if total > spec.max_total_bytes:
        raise UnreadableSubmission(
            f"{path.name}: inflates to {total:,} bytes, over the limit of {spec.max_total_bytes:,}"
        )
    lock = threading.Lock()
    entries = []
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnreadableSubmission(
                f"{path.name}: {info.filename} is encrypted; submit an unencrypted zip"
            )
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise UnreadableSubmission(f"{path.name}: unsafe member name {info.filename!r}")

        def read(info: zipfile.ZipInfo = info) -> bytes:
            # The declared size may lie: read at most limit + 1 bytes so the caller can tell.
            try:
                with lock:
                    handle = zf.open(info)
                with handle:
                    return handle.read(spec.max_file_bytes + 1)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise OSError(f"corrupt zip member: {exc}") from None

        entries.append(Entry(info.filename, info.file_size, read))
    return entries


def list_submission(pred: str | Path, spec: ScoringSpec) -> list[Entry]:
    """Entries of a prediction folder or .zip file."""
    path = Path(pred)
    if path.is_dir():
        entries = list_folder(path, spec.max_file_bytes)
        if len(entries) > spec.max_files:
            raise UnreadableSubmission(
                f"the submission has {len(entries)} files, over the limit of {spec.max_files}"
            )
    elif path.is_file():
        entries = list_zip(path, spec)
    else:
        raise UnreadableSubmission(f"submission {path.name!r} not found (expected a folder or a .zip file)")
    if not entries:
        raise UnreadableSubmission(f"the submission {path.name!r} contains no files")
    return entries


def list_ground_truth(gt_dir: str | Path, limit: int) -> list[Entry]:
    """Ground-truth files; an empty or ambiguous folder is a platform error, not the participant's."""
    folder = Path(gt_dir)
    if not folder.is_dir():
        raise EvaluatorError(f"ground-truth folder {folder} does not exist")
    entries = list_folder(folder, limit, allow_symlinks=True)
    if not entries:
        raise EvaluatorError(f"ground-truth folder {folder} holds no files")
    by_stem: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        by_stem[e.stem.casefold()].append(e.name)
    clashes = {k: v for k, v in by_stem.items() if len(v) > 1}
    if clashes:
        raise EvaluatorError(f"ground-truth folder {folder} has ambiguous names: {sorted(clashes.values())}")
    return entries


@dataclass(frozen=True)
class Pair:
    """A prediction matched to its ground truth; `name` is the ground truth's file name (the row key)."""

    name: str
    pred: Entry
    gt: Entry


def match(pred_entries: list[Entry], gt_entries: list[Entry]) -> tuple[list[Pair], list[Problem]]:
    """Pair predictions with ground truth by exact stem; report missing, extra and duplicate names."""
    problems: list[Problem] = []
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in pred_entries:
        groups[e.stem.casefold()].append(e)
    usable: dict[str, Entry] = {}
    for group in groups.values():
        if len(group) > 1:
            names = ", ".join(sorted(e.name for e in group))
            for e in group:
                problems.append(
                    Problem(
                        e.name,
                        DUPLICATE,
                        f"{e.name}: ambiguous — files {names} differ only in "
                        "case or extension; keep exactly one",
                    )
                )
        else:
            usable[group[0].stem] = group[0]
    pairs = []
    gt_stems = {g.stem for g in gt_entries}
    folded_preds = {e.stem.casefold(): e for e in pred_entries}
    for g in sorted(gt_entries, key=lambda e: e.name):
        if g.stem in usable:
            pairs.append(Pair(g.basename, usable[g.stem], g))
        elif g.stem.casefold() in groups and len(groups[g.stem.casefold()]) > 1:
            continue  # already reported as a duplicate
        else:
            hint = ""
            near = folded_preds.get(g.stem.casefold())
            if near is not None:
                hint = f" (found {near.name!r}: names are case-sensitive)"
            problems.append(Problem(g.basename, MISSING, f"{g.basename}: no prediction for this image{hint}"))
    for stem, e in sorted(usable.items()):
        if stem not in gt_stems:
            problems.append(
                Problem(
                    e.name,
                    EXTRA,
                    f"{e.name}: no ground-truth image of this name; ignored",
                    severity="warning",
                )
            )
    return pairs, problems
