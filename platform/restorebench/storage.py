"""Every file path the platform uses, built here and only here, and the confinement check that every
read and write of a phase's data goes through.

Layout (ids, never names an organizer chose; docs/deployment.md):

    RESTOREBENCH_STORAGE_DIR/
      challenges/<challenge id>/phases/<phase id>/
        inputs/                participant inputs (what the inputs download zips; what a track
                               without ground truth is scored against)
        inputs.zip             that download, built on demand
        submissions/<uuid>.*   stored uploads and models
        previews/<submission id>/<stem>.png   web copies of restored images (made after scoring)
      uploads/<session id>.part  chunked uploads in flight (the platform's, not a phase's)
      tmp/                     scratch: direct uploads in flight, model runs, bundle staging
    RESTOREBENCH_HIDDEN_DIR/   (no URL serves it)
      challenges/<challenge id>/phases/<phase id>/
        ground_truth/          what submissions are scored against
        ground_truth.zip       its download, for a phase that publishes its ground truth
        manifest.json          a generated phase's hidden manifest (seed, degradation record)
        previews/<submission id>/<stem>.png   error maps (derived from the ground truth: hidden too)
        documents/<uuid>.*     teams' factsheets and code archives (organizers' material)
      tmp/                     staging of hidden data while a bundle loads

A challenge's area is `challenges/<id>/` under each root. A path is confined to an area when it is
built from plain components (no `..`, no absolute part), nothing between the root and it is a symbolic
link, and it resolves inside the area. Folders read as a whole (inputs, ground truth) must also hold
only regular files and folders: a link inside could point anywhere. Readers call the `*_for_reading`
functions, which re-check on every call; nothing else joins a storage path by hand.

Errors are `DataUnavailable` (a `FileNotFoundError`, so callers that refuse on missing data refuse on
a breach too); their messages never show server paths.
"""

import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from restorebench.challenges.models import Phase

CHALLENGES = "challenges"
PHASES = "phases"
INPUTS = "inputs"
GROUND_TRUTH = "ground_truth"
SUBMISSIONS = "submissions"
DOCUMENTS = "documents"
UPLOADS = "uploads"
PREVIEWS = "previews"
SCRATCH = "tmp"


class DataUnavailable(FileNotFoundError):
    """A phase's data is missing or failed the confinement check (the message names no server path)."""


class ConfinementError(DataUnavailable):
    """A path escapes its area: `..`, an absolute part, a symbolic link, or a special file."""


@dataclass(frozen=True)
class PhaseKey:
    """What a phase's paths are built from: its challenge's id and its own."""

    challenge_id: int
    phase_id: int


def phase_key(phase: "PhaseKey | Phase") -> PhaseKey:
    if isinstance(phase, PhaseKey):
        return phase
    return PhaseKey(int(phase.track.challenge_id), int(phase.pk))


def storage_root() -> Path:
    return Path(settings.RESTOREBENCH_STORAGE_DIR)


def hidden_root() -> Path:
    return Path(settings.RESTOREBENCH_HIDDEN_DIR)


def _root(hidden: bool) -> Path:
    return hidden_root() if hidden else storage_root()


# --- the check ------------------------------------------------------------------------------------


def confined(path: Path, area: Path, *, root: Path) -> Path:
    """`path`, checked to lie inside `area` (both built under `root`): no `..` or absolute part, no
    symbolic link from the root down to it, and resolving inside the area. Returns the resolved path."""
    path, area, root = Path(path), Path(area), Path(root)
    if not path.is_relative_to(root) or not area.is_relative_to(root):
        raise ConfinementError("a data path lies outside the platform's storage")
    relative = path.relative_to(root)
    if ".." in relative.parts:
        raise ConfinementError("a data path may not contain '..'")
    current = root
    for part in relative.parts:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            break  # nothing below a missing component can be a link
        if stat.S_ISLNK(mode):
            raise ConfinementError(f"a data path goes through a symbolic link ({part!r})")
    resolved = path.resolve()
    if not resolved.is_relative_to(area.resolve()):
        raise ConfinementError("a data path lies outside its challenge's area")
    return resolved


def tree_check(folder: Path, what: str) -> None:
    """Refuse a folder holding anything but regular files and folders (links, fifos, devices)."""
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            mode = os.lstat(os.path.join(top, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                inside = os.path.relpath(os.path.join(top, name), folder)
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "a special file"
                raise ConfinementError(f"{what} contains {kind} ({inside}): refused")


# --- areas ----------------------------------------------------------------------------------------


def challenge_area(challenge_id: int, *, hidden: bool = False) -> Path:
    return _root(hidden) / CHALLENGES / str(int(challenge_id))


def phase_area(phase: "PhaseKey | Phase", *, hidden: bool = False) -> Path:
    return _in_phase_area(phase, hidden=hidden)


def _in_phase_area(phase: "PhaseKey | Phase", *parts: str, hidden: bool = False) -> Path:
    key = phase_key(phase)
    area = challenge_area(key.challenge_id, hidden=hidden)
    path = area / PHASES / str(key.phase_id)
    for part in parts:
        path = path / part
    return confined(path, area, root=_root(hidden))


def phase_inputs_dir(phase: "PhaseKey | Phase") -> Path:
    """Where the phase's participant inputs are installed (may not exist yet)."""
    return _in_phase_area(phase, INPUTS)


def phase_ground_truth_dir(phase: "PhaseKey | Phase") -> Path:
    """Where the phase's hidden ground truth is installed (may not exist yet)."""
    return _in_phase_area(phase, GROUND_TRUTH, hidden=True)


def phase_hidden_manifest(phase: "PhaseKey | Phase") -> Path:
    return _in_phase_area(phase, "manifest.json", hidden=True)


def phase_inputs_zip(phase: "PhaseKey | Phase") -> Path:
    return _in_phase_area(phase, "inputs.zip")


def phase_ground_truth_zip(phase: "PhaseKey | Phase") -> Path:
    """A download of the ground truth, for phases that publish it (built in the hidden area)."""
    return _in_phase_area(phase, "ground_truth.zip", hidden=True)


def phase_install_slot(phase: "PhaseKey | Phase", name: str, *, hidden: bool) -> Path:
    """A sibling of the phase's data folders where a new copy is staged before it is swapped in."""
    return _in_phase_area(phase, f".{name}-{uuid.uuid4().hex}", hidden=hidden)


def submission_archive_new(phase: "PhaseKey | Phase", suffix: str) -> tuple[Path, str]:
    """A fresh place for a stored upload: (absolute path, the path to record, relative to storage)."""
    path = _in_phase_area(phase, SUBMISSIONS, f"{uuid.uuid4().hex}{suffix}")
    return path, path.relative_to(storage_root().resolve()).as_posix()


def submission_archive_path(phase: "PhaseKey | Phase", recorded: str) -> Path:
    """The stored upload a submission records, checked to be in its phase's submissions folder."""
    key = phase_key(phase)
    path = storage_root() / recorded
    return confined(path, _in_phase_area(key, SUBMISSIONS), root=storage_root())


def team_document_new(phase: "PhaseKey | Phase", suffix: str) -> tuple[Path, str]:
    """A fresh place for a team's factsheet or code archive, in the hidden tree: (absolute path, the
    path to record, relative to the hidden root)."""
    path = _in_phase_area(phase, DOCUMENTS, f"{uuid.uuid4().hex}{suffix}", hidden=True)
    return path, path.relative_to(hidden_root().resolve()).as_posix()


def team_document_path(phase: "PhaseKey | Phase", recorded: str) -> Path:
    """A stored team document, checked to be in its phase's documents folder."""
    key = phase_key(phase)
    path = hidden_root() / recorded
    return confined(path, _in_phase_area(key, DOCUMENTS, hidden=True), root=hidden_root())


def upload_session_file(session_id: "uuid.UUID | int | str") -> Path:
    """A chunked upload's partial file, named by its session's id (a UUID: letters, digits, dashes)."""
    name = str(session_id)
    if not name or not all(c.isascii() and (c.isalnum() or c == "-") for c in name):
        raise ConfinementError("an upload session id must be letters, digits and dashes")
    return storage_root() / UPLOADS / f"{name}.part"


def scratch_dir(*, hidden: bool = False) -> Path:
    """The scratch folder under a root (created on demand)."""
    path = _root(hidden) / SCRATCH
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- reads (re-checked every time) ---------------------------------------------------------------


def _folder_for_reading(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DataUnavailable(f"{what}: not installed")
    tree_check(path, what)
    return path


def phase_inputs_for_reading(phase: "PhaseKey | Phase") -> Path:
    """The phase's inputs folder, re-checked (confined, no links inside); `DataUnavailable` if absent."""
    return _folder_for_reading(phase_inputs_dir(phase), f"phase {phase_key(phase).phase_id}'s inputs")


def phase_ground_truth_for_reading(phase: "PhaseKey | Phase") -> Path:
    what = f"phase {phase_key(phase).phase_id}'s ground truth"
    return _folder_for_reading(phase_ground_truth_dir(phase), what)


def phase_scored_against_for_reading(phase: "PhaseKey | Phase", *, ground_truth: bool) -> Path:
    """The folder a phase's submissions are scored against: its ground truth, or for a track without
    ground truth (`ground_truth=False`: its scoring spec says so) its inputs, which name and size the
    expected outputs. Re-checked like the folder it is."""
    if ground_truth:
        return phase_ground_truth_for_reading(phase)
    return model_inputs_for_reading(phase)


def model_inputs_for_reading(phase: "PhaseKey | Phase") -> Path:
    """The folder of inputs a model runs on: track data keeps them in `inputs/` (with `masks/` and
    `kernels/` beside it); a plain folder of inputs is used as it is."""
    folder = phase_inputs_for_reading(phase)
    return folder / "inputs" if (folder / "inputs").is_dir() else folder


def submission_archive_for_reading(phase: "PhaseKey | Phase", recorded: str) -> Path:
    path = submission_archive_path(phase, recorded)
    if not path.is_file() or os.path.islink(path):
        raise DataUnavailable("the submission's stored file is missing")
    return path


def _single_name(name: str, missing: str) -> None:
    """A file name asked for by a URL: one plain component (no separator, no leading dot)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise DataUnavailable(missing)


def submission_previews_dir(phase: "PhaseKey | Phase", submission_id: int, *, hidden: bool) -> Path:
    """Web copies made after scoring: restored images (served like the submission), or error maps
    (`hidden`: derived from the ground truth, served like it)."""
    return _in_phase_area(phase, PREVIEWS, str(int(submission_id)), hidden=hidden)


def submission_preview_for_reading(
    phase: "PhaseKey | Phase", submission_id: int, stem: str, *, hidden: bool
) -> Path:
    """One preview PNG, re-checked (confined, a regular file); `DataUnavailable` when there is none."""
    _single_name(stem, "no such image")
    path = confined(
        submission_previews_dir(phase, submission_id, hidden=hidden) / f"{stem}.png",
        phase_area(phase, hidden=hidden),
        root=_root(hidden),
    )
    if not path.is_file():
        raise DataUnavailable("no preview of this image")
    return path


def phase_input_for_reading(phase: "PhaseKey | Phase", stem: str) -> Path:
    """The participant input (PNG) of image `stem`: a file of the inputs folder, or the first frame of
    a folder of frames (burst tasks)."""
    _single_name(stem, "no such input")
    folder = model_inputs_for_reading(phase)
    frames = folder / stem
    if frames.is_dir():
        candidates = sorted(p for p in frames.iterdir() if p.suffix.lower() == ".png")
    else:
        candidates = [folder / f"{stem}.png"]
    for candidate in candidates:
        path = confined(candidate, phase_area(phase), root=storage_root())
        if path.is_file():
            return path
    raise DataUnavailable("no PNG input for this image")


def phase_ground_truth_file_for_reading(phase: "PhaseKey | Phase", name: str) -> Path:
    """One ground-truth image, by its file name (callers decide who may see it)."""
    _single_name(name, "no such image")
    folder = phase_ground_truth_for_reading(phase)
    path = confined(folder / name, phase_area(phase, hidden=True), root=hidden_root())
    if not path.is_file():
        raise DataUnavailable("no such image")
    return path
