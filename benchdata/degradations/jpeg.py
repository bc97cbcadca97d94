"""JPEG compression at quality q: the `jpeg` task's degradation (compression-artifact removal).

The encoder is Pillow's (its bundled libjpeg-turbo; `encoder_versions()` names both): baseline
sequential DCT JPEG (not progressive, no optimised Huffman tables), the IJG standard quantisation
tables scaled to `quality`, 4:2:0 chroma subsampling for colour images (Pillow `subsampling=2`), one
component for gray images. The image is rounded to 8 bits first (`to_uint8`), encoded, and decoded by
the same library; the observation is the decoded 8-bit image. Same library version in, same bytes
out: libjpeg-turbo's encoder and its default (integer, "islow") DCT are deterministic, so the output is
bit-identical on every machine with that version, which track manifests record.

Arrays: float64 on [0, 1], (H, W) or (H, W, 3), in and out.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, features

from benchdata.image_files import to_uint8

SUBSAMPLING_420 = 2  # Pillow's code for 4:2:0


def encoder_versions() -> dict[str, str]:
    """The Pillow and libjpeg(-turbo) versions that encode and decode (recorded in track manifests)."""
    import PIL

    return {
        "pillow": PIL.__version__,
        "libjpeg": str(features.version("jpg")),
        "libjpeg_turbo": str(features.version_feature("libjpeg_turbo")),
    }


def jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    """The baseline JPEG file of `image` at `quality` (1-100), 4:2:0 for colour images."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"jpeg: quality must be from 1 to 100, got {quality!r}")
    pixels = to_uint8(image)
    buffer = io.BytesIO()
    options = {"quality": int(quality), "optimize": False, "progressive": False}
    if pixels.ndim == 3:
        options["subsampling"] = SUBSAMPLING_420
    Image.fromarray(pixels).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """`image` compressed at `quality` and decoded: float64 on the 8-bit grid, the input's shape."""
    with Image.open(io.BytesIO(jpeg_bytes(image, quality))) as decoded:
        decoded.draft(None, None)  # full-size decode, no DCT scaling shortcuts
        return np.asarray(decoded, dtype=np.float64) / 255.0
