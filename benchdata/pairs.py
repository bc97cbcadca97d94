"""Organizer-supplied data: a folder of inputs and a folder of ground truth, checked and installed.

A phase's data may be pairs the organizer brings (real noise, low light, haze, rain, ...) instead of a
dataset plus a synthetic degradation. `check_pairs(inputs_dir, ground_truth_dir, task=..., scale=...)`
checks the whole set before anything is stored and reports every problem at once, each naming its file
(by a display label such as `dev/input/0001.png`, never a server path):

- every input has exactly one ground truth and vice versa; files are matched by stem, case-sensitively
  (`0001.png` <-> `0001.png`), and names that differ only in case or extension are refused;
- files decode: ground truth is PNG (8 or 16 bit, gray or RGB); an input is PNG or a float .npy array
  (H, W) or (H, W, 3) on the [0, 1] scale; for `burst_sr` an input is a folder of frames (PNG or .npy,
  all the same size); the pixel count is checked from the header before any pixels are decoded;
- sizes agree with the task's geometry: the same size, or for `sr` / `burst_sr` the ground truth is the
  input times `scale` (up to `scale - 1` extra rows or columns, which the evaluator's modcrop removes);
- counts are sane (`PairLimits`): at least one pair, at most `max_items` pairs, `max_frames` frames.

Hidden files (a leading dot) and `__MACOSX/` are ignored, as the evaluator ignores them; symbolic links,
other files and sub-folders are problems. Nothing is written by the check.

`install_pairs(pairs, public_dir, hidden_dir)` copies a checked set (re-verifying every file's SHA-256,
so a file changed since the check is refused) into:

    public_dir/inputs/<name>           what participants download (and a model runs on)
    public_dir/manifest.json           every public file's size and SHA-256
    hidden_dir/gt/<name>               ground truth: the evaluator's gt_dir
    hidden_dir/manifest.json           the items, every hidden file's size and SHA-256, and the public
                                       manifest's SHA-256

Both folders are staged beside their final place and moved in at the end: a failure leaves nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from benchdata.image_files import decode_image
from benchdata.manifests import scan_folder
from benchdata.staging import staged_folders
from benchdata.tasks import TaskError, get_task

PAIRS_FORMAT = 1
MANIFEST = "manifest.json"
_PNG = b"\x89PNG\r\n\x1a\n"
_NPY = b"\x93NUMPY"
INPUT_SUFFIXES = (".png", ".npy")
GROUND_TRUTH_SUFFIXES = (".png",)


class PairDataError(ValueError):
    """A pair set that cannot be used; `problems` lists every one, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in the data; nothing was stored"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


@dataclass(frozen=True)
class PairLimits:
    """Bounds on one pair set (an organizer's upload must not exhaust the disk or the checker)."""

    max_items: int = 10_000
    max_frames: int = 64
    max_pixels: int = 40_000_000  # per image, as the evaluator's ScoringSpec.max_pixels
    max_file_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 16 * 1024**3


@dataclass(frozen=True)
class CheckedFile:
    """A file as checked: its path relative to its folder, size and SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass
class PairItem:
    id: str  # the shared stem
    input: str  # file name, or for burst_sr a folder name
    ground_truth: str  # file name
    input_shape: list[int]
    output_shape: list[int]
    frames: list[str] = field(default_factory=list)  # burst_sr: frame names inside the input folder


@dataclass
class PairSet:
    task: str
    scale: int | None
    inputs_dir: Path
    ground_truth_dir: Path | None  # None: inputs only (`pair_inputs.check_inputs`): no ground truth
    items: list[PairItem]
    input_files: list[CheckedFile]  # relative to inputs_dir
    ground_truth_files: list[CheckedFile]  # relative to ground_truth_dir

    @property
    def ground_truth_names(self) -> list[str]:
        return [item.ground_truth for item in self.items]

    @property
    def expected_names(self) -> list[str]:
        """The file names a submission must hold: the ground truth's, or without ground truth the
        inputs' (PNG, named `<id>.png` like the outputs)."""
        if self.ground_truth_dir is None:
            return [item.input for item in self.items]
        return self.ground_truth_names


def task_geometry(task: str, scale: int | None) -> tuple[int, bool]:
    """(output size factor, whether an input is a folder of frames) for `task`, from the task table
    (a scaled task without a scale takes its default scale, if it has one)."""
    try:
        info = get_task(task)
    except TaskError as error:
        raise PairDataError([str(error)]) from None
    if not info.scaled:
        return 1, info.multi_frame
    scale = info.default_scale if scale is None else scale
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise PairDataError([f"task {task!r} needs a positive integer scale, got {scale!r}"])
    return scale, info.multi_frame


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _png_shape(data: bytes, label: str, limits: PairLimits) -> list[int]:
    """Decode a PNG safely (pixel budget checked from the header first); its (H, W[, 3]) shape."""
    if not data.startswith(_PNG):
        raise ValueError(f"{label}: not a PNG file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                width, height = image.size
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            raise ValueError(f"{label}: cannot read the PNG header ({error})") from None
    if width * height > limits.max_pixels:
        raise ValueError(
            f"{label}: {width}x{height} pixels exceeds the limit of {limits.max_pixels:,} per image"
        )
    try:
        pixels = decode_image(data, label)
    except (ValueError, OSError, SyntaxError) as error:
        raise ValueError(str(error) if label in str(error) else f"{label}: {error}") from None
    return list(pixels.shape)


def _npy_shape(data: bytes, label: str, limits: PairLimits) -> list[int]:
    """Check a float .npy input from its header, then load it (no pickles)."""
    handle = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"format version {version} is not accepted")
    except (ValueError, OSError, SyntaxError) as error:
        raise ValueError(f"{label}: not a readable .npy array ({error})") from None
    if dtype not in (np.dtype("<f4"), np.dtype("<f8")):
        raise ValueError(f"{label}: a .npy input must be float32 or float64, got {dtype}")
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)) or 0 in shape:
        raise ValueError(f"{label}: a .npy input must have shape (H, W) or (H, W, 3), got {tuple(shape)}")
    if shape[0] * shape[1] > limits.max_pixels:
        raise ValueError(f"{label}: {shape[1]}x{shape[0]} pixels exceeds the limit of {limits.max_pixels:,}")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{label}: the .npy data is truncated or corrupt ({error})") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{label}: the array holds NaN or infinite values")
    return list(array.shape)


class _Reader:
    """Reads and checks files, collecting problems and checksums; stops reading past the byte budget."""

    def __init__(self, limits: PairLimits) -> None:
        self.limits = limits
        self.problems: list[str] = []
        self.total = 0

    def entries(self, folder: Path, label: str, allow_folders: bool) -> dict[str, Path]:
        """The visible entries of `folder` by name; symlinks and unwanted folders are problems."""
        found: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if _ignored(path.name):
                continue
            where = f"{label}/{path.name}"
            if path.is_symlink():
                self.problems.append(f"{where}: symbolic links are not accepted; copy the file itself")
            elif path.is_dir() and not allow_folders:
                self.problems.append(f"{where}: a folder; put the files directly in {label}")
            elif path.is_file() or path.is_dir():
                found[path.name] = path
        return found

    def read(self, path: Path, label: str) -> bytes | None:
        size = path.stat().st_size
        if size > self.limits.max_file_bytes:
            self.problems.append(f"{label}: {size:,} bytes, over the limit of {self.limits.max_file_bytes:,}")
            return None
        self.total += size
        if self.total > self.limits.max_total_bytes:
            return None  # reported once, by check_pairs
        return path.read_bytes()

    def shape(self, path: Path, label: str, suffixes: tuple[str, ...], files: list, rel: str) -> list | None:
        suffix = path.suffix.lower()
        if suffix not in suffixes:
            self.problems.append(f"{label}: not an accepted file ({', '.join(suffixes)})")
            return None
        data = self.read(path, label)
        if data is None:
            return None
        try:
            shape = (_npy_shape if data.startswith(_NPY) else _png_shape)(data, label, self.limits)
        except ValueError as error:
            self.problems.append(str(error))
            return None
        files.append(CheckedFile(rel, len(data), _sha256(data)))
        return shape


def _by_stem(names: dict[str, Path], label: str, problems: list[str], stem_of) -> dict[str, str]:
    """name by stem; names whose stems collide ignoring case are problems (and are dropped)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(stem_of(name).casefold(), []).append(name)
    out = {}
    for group in groups.values():
        if len(group) > 1:
            listed = ", ".join(f"{label}/{n}" for n in sorted(group))
            problems.append(f"{listed}: names differ only in case or extension; keep exactly one")
        else:
            out[stem_of(group[0])] = group[0]
    return out


def _stem(name: str) -> str:
    return Path(name).stem


def _burst_frames(
    reader: _Reader, folder: Path, label: str, files: list, prefix: str
) -> tuple[list[str], list | None]:
    frames = reader.entries(folder, label, allow_folders=False)
    if not frames:
        reader.problems.append(f"{label}: a burst holds no frames")
        return [], None
    if len(frames) > reader.limits.max_frames:
        reader.problems.append(f"{label}: {len(frames)} frames, over the limit of {reader.limits.max_frames}")
        return [], None
    shapes = {}
    for name, path in frames.items():
        shapes[name] = reader.shape(path, f"{label}/{name}", INPUT_SUFFIXES, files, f"{prefix}/{name}")
    known = {tuple(s) for s in shapes.values() if s is not None}
    if len(known) > 1:
        sizes = ", ".join(f"{n} {s[1]}x{s[0]}" for n, s in shapes.items() if s is not None)
        reader.problems.append(f"{label}: frames of different sizes ({sizes})")
        return list(frames), None
    if None in shapes.values():
        return list(frames), None
    return list(frames), shapes[next(iter(frames))]


def _geometry_problem(item: PairItem, factor: int, labels: tuple[str, str]) -> str | None:
    (h, w), (gh, gw) = item.input_shape[:2], item.output_shape[:2]
    if factor == 1 and (h, w) != (gh, gw):
        return (
            f"{labels[0]}/{item.input} is {w}x{h} but {labels[1]}/{item.ground_truth} is {gw}x{gh}; "
            "this task keeps the size"
        )
    if factor > 1 and (gh // factor, gw // factor) != (h, w):
        return (
            f"{labels[1]}/{item.ground_truth} is {gw}x{gh}, the input {labels[0]}/{item.input} is "
            f"{w}x{h}: ground truth must be x{factor} the input ({w * factor}x{h * factor})"
        )
    return None


def check_pairs(
    inputs_dir: str | Path,
    ground_truth_dir: str | Path,
    *,
    task: str,
    scale: int | None = None,
    limits: PairLimits | None = None,
    labels: tuple[str, str] | None = None,
) -> PairSet:
    """Check an organizer's pair set; return it, or raise `PairDataError` listing every problem.

    labels: how messages name the two folders (default: their folder names), e.g. ("dev/input",
    "dev/gt") as a bundle writes them."""
    limits = limits or PairLimits()
    factor, bursts = task_geometry(task, scale)
    inputs_dir, ground_truth_dir = Path(inputs_dir), Path(ground_truth_dir)
    labels = labels or (inputs_dir.name, ground_truth_dir.name)
    problems = [
        f"{label}: not a folder"
        for folder, label in ((inputs_dir, labels[0]), (ground_truth_dir, labels[1]))
        if folder.is_symlink() or not folder.is_dir()
    ]
    if problems:
        raise PairDataError(problems)
    reader = _Reader(limits)
    inputs = reader.entries(inputs_dir, labels[0], allow_folders=bursts)
    truths = reader.entries(ground_truth_dir, labels[1], allow_folders=False)
    for entries, label in ((inputs, labels[0]), (truths, labels[1])):
        if not entries:
            reader.problems.append(f"{label}: holds no files")
        if len(entries) > limits.max_items:
            reader.problems.append(
                f"{label}: {len(entries):,} entries, over the limit of {limits.max_items:,}"
            )
    if reader.problems:
        raise PairDataError(reader.problems)

    def input_stem(name: str) -> str:  # a burst folder's whole name is its stem
        return name if inputs[name].is_dir() else _stem(name)

    by_input = _by_stem(inputs, labels[0], reader.problems, input_stem)
    by_truth = _by_stem(truths, labels[1], reader.problems, _stem)
    folded_truth = {stem.casefold(): name for stem, name in by_truth.items()}
    # A stem reported as ambiguous on the input side is not reported again as missing its input.
    folded_input = {input_stem(name).casefold() for name in inputs}
    for stem, name in sorted(by_input.items()):
        if stem not in by_truth:
            near = folded_truth.get(stem.casefold())
            hint = f" (found {labels[1]}/{near}: names are case-sensitive)" if near else ""
            reader.problems.append(
                f"{labels[0]}/{name}: no ground truth named {stem}.png in {labels[1]}{hint}"
            )
    for stem, name in sorted(by_truth.items()):
        if stem not in by_input and stem.casefold() not in folded_input:
            reader.problems.append(f"{labels[1]}/{name}: no input named {stem} in {labels[0]}")

    items, input_files, truth_files = [], [], []
    for stem in sorted(set(by_input) & set(by_truth)):
        in_name, gt_name = by_input[stem], by_truth[stem]
        in_label, gt_label = f"{labels[0]}/{in_name}", f"{labels[1]}/{gt_name}"
        frames: list[str] = []
        if bursts:
            if not inputs[in_name].is_dir():
                reader.problems.append(f"{in_label}: for burst_sr an input is a folder of frames")
                continue
            frames, in_shape = _burst_frames(reader, inputs[in_name], in_label, input_files, in_name)
        else:
            in_shape = reader.shape(inputs[in_name], in_label, INPUT_SUFFIXES, input_files, in_name)
        gt_shape = reader.shape(truths[gt_name], gt_label, GROUND_TRUTH_SUFFIXES, truth_files, gt_name)
        if in_shape is None or gt_shape is None:
            continue
        item = PairItem(stem, in_name, gt_name, in_shape, gt_shape, sorted(frames))
        problem = _geometry_problem(item, factor, labels)
        if problem:
            reader.problems.append(problem)
        items.append(item)
    if reader.total > limits.max_total_bytes:
        reader.problems.append(
            f"{labels[0]}, {labels[1]}: more than {limits.max_total_bytes:,} bytes in all, over the limit"
        )
    if reader.problems:
        raise PairDataError(reader.problems)
    return PairSet(
        task, scale if factor > 1 else None, inputs_dir, ground_truth_dir, items, input_files, truth_files
    )


def _copy_verified(files: list[CheckedFile], source: Path, target: Path, label: str) -> None:
    for record in files:
        data = (source / record.name).read_bytes()
        if _sha256(data) != record.sha256:
            raise PairDataError([f"{label}/{record.name}: changed since it was checked; nothing was stored"])
        out = target / record.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)


def _files_manifest(folder: Path) -> list[dict]:
    return [record.to_dict() for record in scan_folder(folder).values()]


def _dump(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _public_manifest(pairs: PairSet, items: list[dict], stage: Path, track: str | None) -> dict:
    return {
        "format": PAIRS_FORMAT,
        "track": track,
        "source": "organizer pairs" if pairs.ground_truth_dir is not None else "organizer inputs",
        "task": pairs.task,
        "scale": pairs.scale,
        **({} if pairs.ground_truth_dir is not None else {"ground_truth": False}),
        "items": items,
        "files": _files_manifest(stage),
    }


def _public_items(pairs: PairSet) -> list[dict]:
    """The public manifest's entry of each sample: its id, input (and frames), and shapes."""
    return [
        {
            "id": item.id,
            "input": f"inputs/{item.input}",
            **({"frames": [f"inputs/{item.input}/{f}" for f in item.frames]} if item.frames else {}),
            "input_shape": item.input_shape,
            "output_shape": item.output_shape,
        }
        for item in pairs.items
    ]


def install_pairs(
    pairs: PairSet, public_dir: str | Path, hidden_dir: str | Path | None, *, track: str | None = None
) -> dict:
    """Copy a checked pair set into `public_dir` (inputs) and `hidden_dir` (ground truth) with their
    SHA-256 manifests; return the hidden manifest. Existing folders there are replaced. A set without
    ground truth (`pair_inputs.check_inputs`) has only the public folder (`hidden_dir` is unused), whose
    manifest is returned."""
    if pairs.ground_truth_dir is None:
        from benchdata.pair_inputs import install_inputs

        return install_inputs(pairs, Path(public_dir).resolve(), track)
    public_dir, hidden_dir = Path(public_dir).resolve(), Path(hidden_dir).resolve()
    if (
        public_dir == hidden_dir
        or hidden_dir.is_relative_to(public_dir)
        or public_dir.is_relative_to(hidden_dir)
    ):
        raise ValueError("the public and hidden folders must be separate")
    with staged_folders(public_dir, hidden_dir, prefix="pairs") as (public_stage, hidden_stage):
        _copy_verified(pairs.input_files, pairs.inputs_dir, public_stage / "inputs", "inputs")
        _copy_verified(pairs.ground_truth_files, pairs.ground_truth_dir, hidden_stage / "gt", "ground truth")
        items = _public_items(pairs)
        public = _public_manifest(pairs, items, public_stage, track)
        public_text = _dump(public)
        (public_stage / MANIFEST).write_text(public_text, encoding="utf-8")
        hidden = {
            **{key: value for key, value in public.items() if key != "files"},
            "items": [
                {**entry, "ground_truth": f"gt/{item.ground_truth}"}
                for entry, item in zip(items, pairs.items, strict=True)
            ],
            "public_manifest_sha256": _sha256(public_text.encode("utf-8")),
            "files": _files_manifest(hidden_stage),
        }
        (hidden_stage / MANIFEST).write_text(_dump(hidden), encoding="utf-8")
    return hidden
