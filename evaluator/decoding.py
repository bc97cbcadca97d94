"""Safe decoding of one submitted or ground-truth image file into a numpy array.

Accepted: PNG (8- and 16-bit), BMP, TIFF, lossless WebP. Everything is checked before pixels are decoded:
the magic bytes (format), lossy WebP / JPEG (refused: a restored image must be submitted losslessly), and
the header's width × height against a pixel budget (decompression bombs and absurd dimensions are refused
without allocating anything). Then the pixels are decoded; truncated or corrupt data is reported.

Output: `Decoded.pixels`, numpy uint8 or uint16, (H, W) gray or (H, W, 3) RGB, plus the bit depth. Mode
policy: bilevel and palette images are expanded losslessly; an alpha channel is accepted only if fully
opaque (then dropped) — a transparent pixel has no defined colour to score.
Every failure raises `ImageProblem(code, message)`; the message names the file and the problem.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

# Problem codes (also used by the submission and scoring layers).
EMPTY = "empty_file"
NOT_AN_IMAGE = "not_an_image"
UNSUPPORTED = "unsupported_format"
TOO_LARGE = "too_large"
UNREADABLE = "unreadable"
WRONG_MODE = "wrong_mode"

FORMATS = "PNG (8/16-bit), BMP, TIFF, lossless WebP"


class ImageProblem(Exception):
    """A file cannot be used as an image; `code` is one of the module's problem codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Decoded:
    """pixels: uint8/uint16 (H, W) or (H, W, 3); bit_depth: 8 or 16; fmt: PNG/BMP/TIFF/WEBP."""

    pixels: np.ndarray
    bit_depth: int
    fmt: str

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_gray(self) -> bool:
        return self.pixels.ndim == 2


def sniff_format(data: bytes, name: str) -> str:
    """The container format from magic bytes: "PNG" | "BMP" | "TIFF" | "WEBP"; raises `ImageProblem`."""
    if not data:
        raise ImageProblem(EMPTY, f"{name}: the file is empty (0 bytes)")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if not _webp_is_lossless(data):
            raise ImageProblem(
                UNSUPPORTED, f"{name}: lossy WebP is not accepted; submit lossless ({FORMATS})"
            )
        return "WEBP"
    if data.startswith(b"\xff\xd8\xff"):
        raise ImageProblem(UNSUPPORTED, f"{name}: JPEG is lossy and not accepted; submit {FORMATS}")
    raise ImageProblem(NOT_AN_IMAGE, f"{name}: not an image file in an accepted format ({FORMATS})")


def _webp_is_lossless(data: bytes) -> bool:
    """True when the WebP bitstream is VP8L (lossless), directly or inside an extended (VP8X) container."""
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"VP8L":
            return True
        if chunk == b"VP8 ":
            return False
        pos += 8 + size + (size & 1)
    return False


def _png_depth_and_color(data: bytes) -> tuple[int, int]:
    """(bit depth, colour type) from the PNG IHDR chunk (always the first chunk, at byte 8)."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        return 0, -1
    return data[24], data[25]


def decode_image(data: bytes, name: str, max_pixels: int) -> Decoded:
    """Decode `data` (the bytes of file `name`) with the checks described in the module docstring."""
    fmt = sniff_format(data, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=[fmt])
        except Image.DecompressionBombError as exc:
            raise ImageProblem(TOO_LARGE, f"{name}: image dimensions are too large ({exc})") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as exc:
            raise ImageProblem(UNREADABLE, f"{name}: cannot read the {fmt} header ({exc})") from None
        width, height = img.size
        if width < 1 or height < 1:
            raise ImageProblem(UNREADABLE, f"{name}: header declares an empty image ({width}×{height})")
        if width * height > max_pixels:
            raise ImageProblem(
                TOO_LARGE,
                f"{name}: {width}×{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,}; "
                "refused before decoding",
            )
        depth, color_type = _png_depth_and_color(data) if fmt == "PNG" else (0, -1)
        if fmt == "PNG" and depth == 16 and color_type in (2, 6):
            # Pillow reduces 16-bit RGB(A) PNG to 8 bits; OpenCV keeps all 16.
            return _decode_png16_color(data, name, width, height)
        try:
            img.load()
        except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError) as exc:
            raise ImageProblem(
                UNREADABLE, f"{name}: the {fmt} data is truncated or corrupt ({exc})"
            ) from None
        return Decoded(_pixels_from_pil(img, name), 16 if img.mode.startswith("I") else 8, fmt)


def _decode_png16_color(data: bytes, name: str, width: int, height: int) -> Decoded:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.shape[:2] != (height, width):
        raise ImageProblem(UNREADABLE, f"{name}: the 16-bit PNG data is truncated or corrupt")
    if arr.ndim == 3 and arr.shape[2] == 4:
        _require_opaque(arr[..., 3], 65535, name)
        arr = arr[..., :3]
    return Decoded(np.ascontiguousarray(arr[..., ::-1]), 16, "PNG")  # OpenCV's BGR → RGB


def _require_opaque(alpha: np.ndarray, opaque: int, name: str) -> None:
    if alpha.min() != opaque:
        count = int(np.count_nonzero(alpha != opaque))
        raise ImageProblem(
            WRONG_MODE,
            f"{name}: has transparency ({count:,} pixels not fully opaque); submit RGB or gray without alpha",
        )


def _pixels_from_pil(img: Image.Image, name: str) -> np.ndarray:
    mode = img.mode
    if mode == "1":
        return np.asarray(img.convert("L"))
    if mode == "P":
        has_alpha = "transparency" in img.info or img.palette is not None and img.palette.mode == "RGBA"
        img = img.convert("RGBA" if has_alpha else "RGB")
        mode = img.mode
    if mode == "PA":
        img, mode = img.convert("RGBA"), "RGBA"
    if mode == "L":
        return np.asarray(img)
    if mode == "RGB":
        return np.asarray(img)
    if mode in ("LA", "RGBA"):
        arr = np.asarray(img)
        _require_opaque(arr[..., -1], 255, name)
        return np.ascontiguousarray(arr[..., :-1] if mode == "RGBA" else arr[..., 0])
    if mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)
    if mode == "I":
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ImageProblem(WRONG_MODE, f"{name}: 32-bit integer pixels outside 0..65535 are not accepted")
        return arr.astype(np.uint16)
    raise ImageProblem(
        WRONG_MODE, f"{name}: pixel mode {mode!r} is not accepted; submit 8/16-bit gray or RGB"
    )
