"""Writing a degraded observation to files: the input image, and its kernel and mask when present.

Inputs on the 8-bit grid (specs with quantize) are 8-bit PNGs; others (the classic unclipped float
noise) are `.npy` float32 arrays with the same (H, W[, 3]) layout and [0, 1] scale, since a PNG cannot
hold negative or fractional values. Kernels are `.npy` float64 plus a PNG preview; masks are 8-bit PNGs
with 255 = missing.

A multi-frame observation (`burst_sr`, a task whose table entry has input "frames") is a folder
`<path>/` holding one 8-bit PNG per frame, `00.png`, `01.png`, ... in burst order (frame 00 is the
reference the output is aligned with).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchdata.degradations import DegradationSpec, Degraded, save_kernel
from benchdata.image_files import read_image, write_image, write_mask
from benchdata.tasks import get_task


def frame_name(index: int) -> str:
    """The file name of frame `index` of a multi-frame observation."""
    return f"{index:02d}.png"


def input_suffix(spec: DegradationSpec) -> str:
    """'.png' for quantised observations, '.npy' (float32) otherwise."""
    return ".png" if spec.quantize else ".npy"


def write_observation(path_without_suffix: Path, image: np.ndarray, spec: DegradationSpec) -> Path:
    """Write a degraded image as `<path>.png` or `<path>.npy` (see `input_suffix`); a multi-frame
    observation (N, H, W[, 3]) as the folder `<path>/` of frames. Returns what was written."""
    if get_task(spec.task).multi_frame:
        folder = Path(path_without_suffix)
        folder.mkdir(parents=True, exist_ok=True)
        for index, frame in enumerate(image):
            write_image(folder / frame_name(index), frame)
        return folder
    path = Path(str(path_without_suffix) + input_suffix(spec))
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec.quantize:
        write_image(path, image)
    else:
        np.save(path, np.asarray(image, dtype=np.float32), allow_pickle=False)
    return path


def write_extras(
    degraded: Degraded, kernel_path: Path | None, mask_path: Path | None
) -> tuple[list[Path], list[Path]]:
    """Write the kernel (.npy + .png preview) and the mask (.png) where asked; return what was written."""
    kernels: list[Path] = []
    masks: list[Path] = []
    if degraded.kernel is not None and kernel_path is not None:
        kernels.extend(save_kernel(kernel_path, degraded.kernel))
    if degraded.mask is not None and mask_path is not None:
        masks.append(write_mask(mask_path, degraded.mask))
    return kernels, masks


def read_frames(folder: Path) -> np.ndarray:
    """The frames of a multi-frame observation folder, (N, H, W[, 3]) float64, in name order."""
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() == ".png")
    if not files:
        raise ValueError(f"{Path(folder).name}: a multi-frame sample folder holds no PNG frames")
    frames = [read_image(p) for p in files]
    if len({f.shape for f in frames}) != 1:
        raise ValueError(f"{Path(folder).name}: the frames of a sample differ in size")
    return np.stack(frames)


def observation_files(written: Path) -> list[Path]:
    """The files one `write_observation` call wrote (the frames of a folder, or the one file)."""
    return sorted(p for p in written.iterdir() if p.is_file()) if written.is_dir() else [written]
