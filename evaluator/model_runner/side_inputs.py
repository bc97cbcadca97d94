"""Side inputs of non-blind models: each image's inpainting mask and deblurring kernel (parent side).

Track folders (benchdata/track_data.py) disclose, when the track gives them, per image id:

    inputs/<id>.png     the degraded image (or inputs/<id>.npy, unclipped float; see inputs.py)
    masks/<id>.png      8-bit gray, 255 = missing, 0 = known (same size as the image)
    kernels/<id>.npy    the blur kernel, float (kh, kw), non-negative, sums to 1 (+ a .png preview)

A model whose manifest sets `mask_input` / `kernel_input` is fed them. The parent finds each file
here, validates it before the model runs (a missing or invalid one is an error naming the image), and
copies it into the scratch directory, where the child reads it:

    SCRATCH/masks/<id>.png       the mask PNG, copied byte for byte
    SCRATCH/kernels/<stem>.npy   the validated kernel, float32 (kh, kw)

Where the files are looked up: `masks/` and `kernels/` inside the folder of input images, or, when
that folder is a track folder's `inputs/`, beside it (the platform passes `<public>/inputs`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from evaluator.model_runner.inputs import npy_header, png_name

MAX_KERNEL_SIDE = 101
KERNEL_SUM_TOLERANCE = 1e-4
MASK_DIR = "masks"
KERNEL_DIR = "kernels"


class SideInputError(ValueError):
    """A mask or kernel the manifest asks for is missing or invalid; `image` names the input image."""

    def __init__(self, message: str, image: str) -> None:
        super().__init__(message)
        self.image = image


def side_roots(images_dir: Path, given_dir: Path) -> list[Path]:
    """Folders that may hold `masks/` and `kernels/` for the images in `images_dir`, in lookup order.

    `given_dir` is the folder the caller passed: a track's public folder (images in its `inputs/`)
    or the folder of images itself.
    """
    if images_dir != given_dir:
        return [given_dir]
    roots = [images_dir]
    if images_dir.name == "inputs":
        roots.append(images_dir.parent)
    return roots


def find_side_file(roots: list[Path], folder: str, filename: str) -> Path | None:
    """`<root>/<folder>/<filename>` in the first root that has `<folder>/`; None when there is none."""
    for root in roots:
        if (root / folder).is_dir():
            path = root / folder / filename
            return path if path.is_file() else None
    return None


def check_mask(path: Path, image_name: str, size: tuple[int, int]) -> None:
    """Check a mask PNG against its image's PIL `size` (W, H): gray, values 0 or 255 only."""
    where = f"{MASK_DIR}/{path.name}"
    try:
        with Image.open(path) as im:
            mode, mask_size = im.mode, im.size
            if mode not in ("L", "1", "P"):
                raise SideInputError(
                    f"{image_name}: the mask {where} must be a gray PNG (mode L), got mode {mode!r}",
                    image_name,
                )
            array = np.asarray(im.convert("L"))
    except OSError as exc:
        raise SideInputError(f"{image_name}: the mask {where} is unreadable: {exc}", image_name) from None
    if mask_size != size:
        raise SideInputError(
            f"{image_name}: the mask {where} is {mask_size[0]}x{mask_size[1]} (W x H) but the image is "
            f"{size[0]}x{size[1]}",
            image_name,
        )
    if not ((array == 0) | (array == 255)).all():
        found = np.unique(array)[:8].tolist()
        raise SideInputError(
            f"{image_name}: the mask {where} must hold only 0 (known) and 255 (missing), found {found}",
            image_name,
        )


def load_kernel(path: Path, image_name: str) -> np.ndarray:
    """Load and check a kernel .npy (allow_pickle=False); return it as float32 (kh, kw).

    Checks: a plain numeric 2-D array at most MAX_KERNEL_SIDE a side (read from the header before any
    data), finite, non-negative, summing to 1 within KERNEL_SUM_TOLERANCE.
    """
    where = f"{KERNEL_DIR}/{path.name}"

    def refuse(problem: str) -> SideInputError:
        return SideInputError(f"{image_name}: the kernel {where} {problem}", image_name)

    try:
        shape, _, dtype, _ = npy_header(path)
    except (OSError, ValueError) as exc:
        raise refuse(f"is not a readable .npy array: {exc}") from None
    if dtype.kind not in "fiu":
        raise refuse(f"must be a numeric array, got dtype {dtype}")
    if len(shape) != 2 or not all(1 <= side <= MAX_KERNEL_SIDE for side in shape):
        raise refuse(f"must be 2-D, at most {MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}, got shape {tuple(shape)}")
    try:
        kernel = np.load(path, allow_pickle=False).astype(np.float64)
    except (OSError, ValueError) as exc:
        raise refuse(f"is not a readable .npy array: {exc}") from None
    if not np.isfinite(kernel).all():
        raise refuse("contains NaN or infinite values")
    if kernel.min() < 0:
        raise refuse(f"has negative taps (min {kernel.min():.3g}); blur kernels are non-negative")
    total = float(kernel.sum())
    if abs(total - 1.0) > KERNEL_SUM_TOLERANCE:
        raise refuse(f"sums to {total:.6g}, not 1 (tolerance {KERNEL_SUM_TOLERANCE:g})")
    return kernel.astype(np.float32)


def stage_side_inputs(
    roots: list[Path],
    images: list[Path],
    sizes: list[tuple[int, int]],
    scratch: Path,
    *,
    mask: bool,
    kernel: bool,
    kernel_shape: tuple[int | str | None, ...] | None = None,
) -> list[Path]:
    """Validate each image's mask / kernel and copy it into `scratch` (layout in the module docstring).

    sizes: each image's PIL size (W, H). kernel_shape: the model's declared (1, 1, kh, kw), whose fixed
    kh / kw the kernel must match. Returns the files written; raises SideInputError on the first problem.
    """
    written: list[Path] = []
    if mask:
        (scratch / MASK_DIR).mkdir()
    if kernel:
        (scratch / KERNEL_DIR).mkdir()
    for path, size in zip(images, sizes, strict=True):
        name = path.name
        if mask:
            mask_name = png_name(path)  # <id>.png for <id>.png and <id>.npy inputs alike
            source = find_side_file(roots, MASK_DIR, mask_name)
            if source is None:
                raise SideInputError(
                    f"the manifest asks for a mask input but the phase gives no mask {MASK_DIR}/{mask_name}",
                    name,
                )
            check_mask(source, name, size)
            target = scratch / MASK_DIR / mask_name
            shutil.copyfile(source, target)
            written.append(target)
        if kernel:
            filename = f"{path.stem}.npy"
            source = find_side_file(roots, KERNEL_DIR, filename)
            if source is None:
                raise SideInputError(
                    f"the manifest asks for a kernel input but the phase gives no kernel "
                    f"{KERNEL_DIR}/{filename}",
                    name,
                )
            array = load_kernel(source, name)
            fixed = tuple(kernel_shape[2:]) if kernel_shape is not None else ()
            for axis, (want, got) in enumerate(zip(fixed, array.shape, strict=False)):
                if isinstance(want, int) and want != got:
                    raise SideInputError(
                        f"{name}: the kernel {KERNEL_DIR}/{filename} is {array.shape[0]}x{array.shape[1]} "
                        f"but the model's 'kernel' input has a fixed {('height', 'width')[axis]} of {want}",
                        name,
                    )
            target = scratch / KERNEL_DIR / filename
            np.save(target, array, allow_pickle=False)
            written.append(target)
    return written
