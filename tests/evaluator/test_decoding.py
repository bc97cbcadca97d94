"""Safe decoding: accepted formats and every bad input the issue lists (each refused with a named reason)."""

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from evaluator.decoding import ImageProblem, decode_image

LIMIT = 40_000_000


def _encode(arr: np.ndarray, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kwargs)
    return buf.getvalue()


def _problem(data: bytes, name: str = "x.png", limit: int = LIMIT) -> ImageProblem:
    with pytest.raises(ImageProblem) as info:
        decode_image(data, name, limit)
    assert name in info.value.message
    return info.value


def _rgb(seed: int = 0, h: int = 9, w: int = 11) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "fmt, kwargs", [("PNG", {}), ("BMP", {}), ("TIFF", {}), ("WEBP", {"lossless": True})]
)
def test_lossless_formats_decode_exactly(fmt, kwargs):
    arr = _rgb()
    out = decode_image(_encode(arr, fmt, **kwargs), "a", LIMIT)
    assert out.bit_depth == 8 and np.array_equal(out.pixels, arr)


def test_lossy_webp_and_jpeg_are_refused():
    assert _problem(_encode(_rgb(), "WEBP", quality=90), "a.webp").code == "unsupported_format"
    assert _problem(_encode(_rgb(), "JPEG"), "a.jpg").code == "unsupported_format"


def test_truncated_png_is_unreadable():
    data = _encode(_rgb(h=64, w=64), "PNG")
    problem = _problem(data[: len(data) // 2])
    assert problem.code == "unreadable" and "truncated or corrupt" in problem.message


def test_zero_byte_file_is_reported_as_empty():
    assert _problem(b"").code == "empty_file"


def test_non_image_file_is_reported():
    problem = _problem(b"hello, these are not pixels\n", "readme.txt")
    assert problem.code == "not_an_image" and "PNG" in problem.message


def test_one_by_one_image_decodes_as_what_it_is():
    out = decode_image(_encode(np.array([[[1, 2, 3]]], np.uint8), "PNG"), "a", LIMIT)
    assert out.pixels.shape == (1, 1, 3) and out.pixels.tolist() == [[[1, 2, 3]]]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width×height RGB, then a tiny IDAT and IEND: a decompression-bomb header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("width, height", [(50_000, 50_000), (8_000, 6_000)])
def test_huge_header_is_refused_before_decoding(monkeypatch, width, height):
    loaded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: loaded.append(1))
    problem = _problem(_png_header_only(width, height))
    assert problem.code == "too_large" and not loaded


def test_pixel_budget_is_the_spec_limit_not_pillows():
    data = _encode(_rgb(h=20, w=20), "PNG")
    problem = _problem(data, limit=399)
    assert problem.code == "too_large" and "20×20 = 400 pixels exceeds the limit of 399" in problem.message


def test_palette_png_is_expanded_to_its_rgb_colours():
    arr = _rgb()
    pal = Image.fromarray(arr).quantize(colors=16)
    buf = io.BytesIO()
    pal.save(buf, "PNG")
    out = decode_image(buf.getvalue(), "p.png", LIMIT)
    assert np.array_equal(out.pixels, np.asarray(pal.convert("RGB")))


def test_16_bit_gray_png_keeps_16_bits():
    arr = (np.arange(12 * 10).reshape(12, 10) * 541).astype(np.uint16)
    out = decode_image(_encode(arr, "PNG"), "g16.png", LIMIT)
    assert out.bit_depth == 16 and out.pixels.dtype == np.uint16 and np.array_equal(out.pixels, arr)


def test_16_bit_rgb_png_keeps_16_bits_in_rgb_order():
    arr = np.random.default_rng(1).integers(0, 65536, (7, 9, 3), dtype=np.uint16)
    ok, buf = cv2.imencode(".png", arr[..., ::-1])  # OpenCV writes BGR
    out = decode_image(buf.tobytes(), "c16.png", LIMIT)
    assert ok and out.bit_depth == 16 and np.array_equal(out.pixels, arr)


def test_opaque_rgba_is_accepted_and_alpha_dropped():
    arr = _rgb()
    rgba = np.dstack([arr, np.full(arr.shape[:2], 255, np.uint8)])
    out = decode_image(_encode(rgba, "PNG"), "a.png", LIMIT)
    assert np.array_equal(out.pixels, arr)


def test_rgba_with_transparency_is_a_wrong_mode():
    arr = _rgb()
    alpha = np.full(arr.shape[:2], 255, np.uint8)
    alpha[0, 0] = 128
    problem = _problem(_encode(np.dstack([arr, alpha]), "PNG"))
    assert problem.code == "wrong_mode" and "1 pixels not fully opaque" in problem.message


def test_gray_png_decodes_as_two_dimensional():
    arr = _rgb()[..., 0]
    out = decode_image(_encode(arr, "PNG"), "g.png", LIMIT)
    assert out.is_gray and np.array_equal(out.pixels, arr)


def test_cmyk_is_a_wrong_mode():
    buf = io.BytesIO()
    Image.fromarray(_rgb()).convert("CMYK").save(buf, "TIFF")
    assert _problem(buf.getvalue(), "c.tif").code == "wrong_mode"
