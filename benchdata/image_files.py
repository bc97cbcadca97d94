"""Reading and writing benchmark image files (trusted dataset files, not participant uploads).

In memory an image is numpy float64, (H, W) gray or (H, W, 3) RGB, intensities on [0, 1]
(see docs/architecture.md). On disk it is a PNG:

- `read_image` accepts 8-bit and 16-bit PNGs (and any other format Pillow decodes to the same
  modes) in gray, gray+alpha, palette, RGB or RGBA. 8-bit values become v / 255, 16-bit values
  v / 65535. Palette images are expanded to RGB. An alpha channel is dropped only when it is fully
  opaque everywhere; a transparent pixel would make the "true" colour ambiguous, so such files are
  refused with an error naming the file.
- `write_image` writes 8-bit PNGs: values are mapped to 0..255 by `to_uint8` (round half away from
  zero, then clip), the conversion every part of the project uses.
- Masks (inpainting) are bool (H, W) with True = missing; on disk an 8-bit gray PNG with 255 =
  missing and 0 = known (`read_mask` / `write_mask`).

Participant uploads go through the evaluator's safe decoder, not through this module.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Map an image on [0, 1] to uint8 on 0..255: round(255 * x) half away from zero, then clip.

    uint8 input is returned unchanged (as a copy); NaN or infinite values raise ValueError.
    """
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array.copy()
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"to_uint8: expected a float image on [0, 1], got dtype {array.dtype}")
    return round_to_uint8(np.asarray(array, dtype=np.float64) * 255.0)


def round_to_uint8(values: np.ndarray) -> np.ndarray:
    """Values on the 0..255 scale -> uint8: round half away from zero, then clip (MATLAB's uint8()).

    np.round would round half to even; the project, like MATLAB, rounds half away from zero.
    """
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("image contains NaN or infinite values")
    rounded = np.sign(values) * np.floor(np.abs(values) + 0.5)
    return np.clip(rounded, 0, 255).astype(np.uint8)


def _png_header(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR chunk, or None when the data is not a PNG."""
    head = data[:33]
    if len(head) < 33 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    bit_depth, colour_type = struct.unpack(">BB", head[24:26])
    return bit_depth, colour_type


def _decode_16bit_colour_png(data: bytes, name: str) -> np.ndarray:
    """Pillow silently truncates 16-bit colour PNGs to 8 bits; OpenCV (a pyiqa dependency) does not."""
    try:
        import cv2
    except ImportError as error:  # pragma: no cover - cv2 ships with pyiqa
        raise ValueError(f"{name}: 16-bit colour PNG needs OpenCV (cv2) to decode") from error
    array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or array.ndim != 3:
        raise ValueError(f"{name}: could not decode as a 16-bit colour PNG")
    if array.shape[2] == 4:
        alpha = array[:, :, 3]
        if not np.all(alpha == 65535):
            raise ValueError(f"{name}: RGBA image has transparent pixels (only opaque alpha is accepted)")
        array = array[:, :, :3]
    return array[:, :, ::-1].astype(np.float64) / 65535.0  # BGR -> RGB


def read_image(path: str | Path) -> np.ndarray:
    """Read a trusted image file as float64 on [0, 1], (H, W) for gray or (H, W, 3) for colour."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    return decode_image(path.read_bytes(), str(path))


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode image file bytes like `read_image` (`name` only labels errors)."""
    header = _png_header(data)
    if header is not None and header[0] == 16 and header[1] in (2, 6):
        return _decode_16bit_colour_png(data, name)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode = image.mode
            if mode == "P":
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
                mode = image.mode
            array = np.asarray(image)
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{name}: cannot decode image ({error})") from error

    if mode in ("LA", "RGBA"):
        alpha = array[..., -1]
        if not np.all(alpha == 255):
            raise ValueError(f"{name}: {mode} image has transparent pixels (only opaque alpha is accepted)")
        array = array[..., 0] if mode == "LA" else array[..., :3]
        mode = "L" if mode == "LA" else "RGB"
    if mode == "1":
        return array.astype(np.float64)
    if mode in ("L", "RGB"):
        return array.astype(np.float64) / 255.0
    if mode.startswith("I;16") or mode == "I":
        # Pillow gives 16-bit gray PNGs as "I;16*" or "I" (int32 holding 0..65535).
        values = array.astype(np.float64)
        if values.min() < 0 or values.max() > 65535:
            raise ValueError(f"{name}: 16-bit gray values outside 0..65535")
        return values / 65535.0
    raise ValueError(f"{name}: unsupported image mode {mode!r} (expected gray or RGB, 8 or 16 bits)")


def _check_image_array(array: np.ndarray, what: str) -> None:
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3)):
        if array.size == 0:
            raise ValueError(f"{what}: empty image of shape {array.shape}")
        return
    raise ValueError(f"{what}: expected shape (H, W) or (H, W, 3), got {array.shape}")


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Write an image (float on [0, 1] or uint8; (H, W) or (H, W, 3)) as an 8-bit PNG via `to_uint8`."""
    path = Path(path)
    array = np.asarray(image)
    _check_image_array(array, f"write_image({path})")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    pixels = to_uint8(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed encoder settings so the same pixels always give the same bytes (checksums in manifests).
    Image.fromarray(pixels).save(path, format="PNG", compress_level=6)  # uint8 (H, W) -> L, (H, W, 3) -> RGB
    return path


def write_mask(path: str | Path, mask: np.ndarray) -> Path:
    """Write a bool (H, W) mask (True = missing) as an 8-bit gray PNG, 255 = missing, 0 = known."""
    array = np.asarray(mask)
    if array.dtype != np.bool_ or array.ndim != 2:
        raise ValueError(f"write_mask({path}): expected a bool (H, W) mask, got {array.dtype} {array.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.where(array, 255, 0).astype(np.uint8)).save(path, format="PNG", compress_level=6)
    return path


def read_mask(path: str | Path) -> np.ndarray:
    """Read a mask PNG (255 = missing, 0 = known; nothing else allowed) as bool (H, W), True = missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such mask file")
    with Image.open(path) as image:
        if image.mode not in ("L", "1", "P"):
            raise ValueError(f"{path}: a mask must be a gray PNG (mode L), got mode {image.mode!r}")
        array = np.asarray(image.convert("L"))
    values = np.unique(array)
    if not set(values.tolist()) <= {0, 255}:
        found = values[:8].tolist()
        raise ValueError(f"{path}: mask values must be 0 (known) or 255 (missing), found {found}")
    return array == 255
