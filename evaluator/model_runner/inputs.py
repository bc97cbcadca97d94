"""The input images a model runs on: 8-bit PNGs, or unclipped float `.npy` arrays (parent side).

Track folders (benchdata/track_data.py) give each image as `inputs/<id>.png` when the track quantises,
else as `inputs/<id>.npy` (float32 on the [0, 1] scale, **not clipped**: the DnCNN protocol's
noisy = clean + σ·N(0, 1)). Both go to the model the same way: (H, W) or (H, W, 3) on [0, 1], mapped to
the manifest's `input_range`; a `.npy` keeps its values below 0 and above 1. Every output is an 8-bit
PNG named like the ground truth, `<id>.png`, whatever the input's suffix.

A `.npy` input is checked here before the model starts, header first so a huge or hostile file costs no
memory: a plain array (no pickled objects: `allow_pickle=False`), C order, shape (H, W) or (H, W, 3),
dtype float32, float64 or uint8 (divided by 255), at most `max_pixels` pixels and at least 1×1, the
file size the header implies, finite, and float values inside NPY_VALUE_LIMITS (a wider value is a
file on the 0–255 scale, or garbage). A problem raises InputFileError naming the file: inputs belong to
the phase, not to the participant, so it is the caller's mistake, not the model's.

A multi-frame sample (burst_sr) is a folder `<id>/` of PNG frames (`00.png`, `01.png`, ... in burst
order); every frame is checked like a PNG input, and all must share one size and colour kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

INPUT_SUFFIXES = (".png", ".npy")
NPY_DTYPES = (np.dtype("<f4"), np.dtype("<f8"), np.dtype("u1"))
# Float .npy values allowed, on the [0, 1] scale: Gaussian noise of σ = 100/255 stays inside with
# ~10 standard deviations to spare; a 0–255 array does not.
NPY_VALUE_LIMITS = (-4.0, 5.0)
_GRAY_MODES = ("L", "I", "I;16", "I;16B")


class InputFileError(ValueError):
    """An input file of the phase is unreadable or not a valid image array; the message names it."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class InputImage:
    """One checked input: its path, PIL-style size (W, H), whether it has 3 channels, and the names of
    its output PNG and mask (`<id>.png` for either kind of input)."""

    path: Path
    size: tuple[int, int]
    is_rgb: bool

    @property
    def output_name(self) -> str:
        return png_name(self.path)


def png_name(path: Path | str) -> str:
    """The PNG that goes with an input: a PNG's own name, `<stem>.png` for `<stem>.npy`, `<id>.png`
    for a folder of frames `<id>/`."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        return path.name
    return f"{path.name}.png" if path.is_dir() else f"{path.stem}.png"


def frame_files(folder: Path) -> list[Path]:
    """The PNG frames of a multi-frame sample, in burst (name) order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png")


def check_frames(folder: Path, max_pixels: int, count: int) -> InputImage:
    """Check a multi-frame sample: `count` PNG frames of one size and colour kind; raise
    InputFileError naming the sample."""
    files = frame_files(folder)
    if len(files) != count:
        raise InputFileError(
            f"input {folder.name}: holds {len(files)} PNG frame(s); the model takes {count}", folder.name
        )
    frames = [check_input(p, max_pixels) for p in files]
    if len({(f.size, f.is_rgb) for f in frames}) != 1:
        raise InputFileError(f"input {folder.name}: its frames differ in size or colour", folder.name)
    return InputImage(folder, frames[0].size, frames[0].is_rgb)


def list_inputs(images_dir: Path, frames: bool = False) -> list[Path]:
    """The input files (PNG and .npy) of a folder, sorted by name — or with `frames` its sub-folders,
    one multi-frame sample each; raise if there are none, or if two would give the same output name
    (`a.png` and `a.npy`)."""
    if not images_dir.is_dir():
        raise FileNotFoundError(f"inputs folder {images_dir} does not exist")
    if frames:
        files = sorted(p for p in images_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    else:
        files = sorted(p for p in images_dir.iterdir() if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
    if not files:
        what = "folders of frames" if frames else "PNG or .npy inputs"
        raise ValueError(f"inputs folder {images_dir} holds no {what}")
    seen: dict[str, str] = {}
    for path in files:
        other = seen.setdefault(png_name(path), path.name)
        if other != path.name:
            raise ValueError(
                f"inputs folder {images_dir}: {other} and {path.name} would both be restored as "
                f"{png_name(path)}"
            )
    return files


def npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, data offset) of a .npy file, from its header alone: a huge or
    hostile file costs no memory before its shape and dtype are checked."""
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:  # pragma: no cover - read_magic refuses unknown versions already
            raise ValueError(f"unsupported .npy version {version}")
        return tuple(shape), fortran, dtype, f.tell()


def check_npy(path: Path, max_pixels: int) -> InputImage:
    """Check a `.npy` input (see the module docstring); raise InputFileError naming the file."""
    name = path.name

    def refuse(problem: str) -> InputFileError:
        return InputFileError(f"input {name}: {problem}", name)

    try:
        shape, fortran, dtype, offset = npy_header(path)
    except (OSError, ValueError, SyntaxError) as exc:
        raise refuse(f"is not a readable .npy array: {exc}") from None
    if dtype.hasobject or dtype.fields is not None:
        raise refuse(f"holds Python objects or records (dtype {dtype}); it must be a plain numeric array")
    if dtype not in NPY_DTYPES:
        raise refuse(f"has dtype {dtype}; inputs are float32, float64 or uint8")
    if fortran:
        raise refuse("is stored in Fortran order; save it in C order")
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)):
        raise refuse(f"has shape {shape}; an input image is (H, W) or (H, W, 3)")
    height, width = shape[0], shape[1]
    if height < 1 or width < 1:
        raise refuse(f"is empty (shape {shape})")
    if height * width > max_pixels:
        raise refuse(f"is {width}×{height} = {height * width:,} pixels; the limit is {max_pixels:,}")
    expected_bytes = offset + int(np.prod(shape)) * dtype.itemsize
    actual_bytes = path.stat().st_size
    if actual_bytes != expected_bytes:
        raise refuse(f"is {actual_bytes:,} bytes but its header describes {expected_bytes:,}")
    array = load_npy(path)
    if dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            raise refuse(f"holds {int(array.size - np.count_nonzero(finite))} NaN or infinite value(s)")
        lo, hi = NPY_VALUE_LIMITS
        vmin, vmax = float(array.min()), float(array.max())
        if vmin < lo or vmax > hi:
            raise refuse(
                f"has values in [{vmin:.4g}, {vmax:.4g}]; float inputs are on the [0, 1] scale "
                f"(noise may take them outside, up to [{lo:g}, {hi:g}])"
            )
    return InputImage(path, (width, height), len(shape) == 3)


def load_npy(path: Path) -> np.ndarray:
    """A checked `.npy` input as float64 on the [0, 1] scale (uint8 divided by 255); never unpickles."""
    array = np.load(path, allow_pickle=False)
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    return array.astype(np.float64)


def check_input(path: Path, max_pixels: int) -> InputImage:
    """Check one input file (a `.npy` fully, a PNG by its header); raise InputFileError naming it."""
    if path.suffix.lower() == ".npy":
        return check_npy(path, max_pixels)
    try:
        with Image.open(path) as im:
            size, mode = im.size, im.mode
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputFileError(f"input {path.name}: unreadable image: {exc}", path.name) from None
    if size[0] * size[1] > max_pixels:
        raise InputFileError(
            f"input {path.name}: {size[0]}×{size[1]} = {size[0] * size[1]:,} pixels; "
            f"the limit is {max_pixels:,}",
            path.name,
        )
    return InputImage(path, size, mode not in _GRAY_MODES)


def read_input(path: Path) -> np.ndarray:
    """An input as float64 (H, W) or (H, W, 3) on the [0, 1] scale (a `.npy` unclipped); a folder of
    frames as (N, H, W[, 3])."""
    if path.is_dir():
        return np.stack([read_input(p) for p in frame_files(path)])
    if path.suffix.lower() == ".npy":
        return load_npy(path)
    with Image.open(path) as im:
        if im.mode.startswith("I"):
            return np.asarray(im, dtype=np.float64) / 65535.0
        if im.mode == "L":
            return np.asarray(im, dtype=np.float64) / 255.0
        return np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
