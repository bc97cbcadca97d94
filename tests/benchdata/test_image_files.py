"""Image file conventions: to_uint8 rounding, 8/16-bit PNG reading, alpha handling, masks."""

import numpy as np
import pytest
from PIL import Image

from benchdata.image_files import read_image, read_mask, round_to_uint8, to_uint8, write_image, write_mask


def test_to_uint8_rounds_half_away_from_zero_and_clips():
    values = np.array([0.5, 1.5, 2.5, 254.5, -3.0, 300.0, 127.49]) / 255.0
    assert to_uint8(values).tolist() == [1, 2, 3, 255, 0, 255, 127]


def test_round_to_uint8_differs_from_numpy_round_half_even():
    values = np.array([0.5, 2.5, 4.5])
    assert np.round(values).tolist() == [0, 2, 4]
    assert round_to_uint8(values).tolist() == [1, 3, 5]


def test_to_uint8_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(np.array([0.1, np.nan]))


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3)])
def test_write_then_read_gives_the_8bit_values_back(tmp_path, shape):
    rng = np.random.default_rng(0)
    image = rng.random(shape)
    path = write_image(tmp_path / "x.png", image)
    back = read_image(path)
    assert back.shape == shape and back.dtype == np.float64
    assert np.array_equal(back * 255.0, np.floor(image * 255.0 + 0.5))


def test_read_16bit_gray_png_scales_by_65535(tmp_path):
    values = np.array([[0, 1, 65535], [257, 32768, 1000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert np.array_equal(read_image(tmp_path / "g16.png"), values / 65535.0)


def test_read_16bit_colour_png_keeps_all_16_bits(tmp_path):
    cv2 = pytest.importorskip("cv2")
    rgb = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 997 % 65536).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb[:, :, ::-1])
    assert np.array_equal(read_image(tmp_path / "c16.png"), rgb / 65535.0)


def test_opaque_rgba_drops_alpha_and_transparent_rgba_is_refused(tmp_path):
    rgba = np.zeros((3, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    assert np.array_equal(read_image(tmp_path / "opaque.png")[..., 0], np.full((3, 4), 200 / 255.0))
    rgba[0, 0, 3] = 10
    Image.fromarray(rgba).save(tmp_path / "transparent.png")
    with pytest.raises(ValueError, match="transparent.png.*transparent pixels"):
        read_image(tmp_path / "transparent.png")


def test_read_image_names_a_missing_or_corrupt_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="bad.png"):
        read_image(tmp_path / "bad.png")


def test_write_image_rejects_wrong_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 2)))


def test_mask_file_round_trip_uses_255_for_missing(tmp_path):
    mask = np.zeros((6, 5), dtype=bool)
    mask[1:3, 2:4] = True
    path = write_mask(tmp_path / "m.png", mask)
    raw = np.asarray(Image.open(path))
    assert set(np.unique(raw).tolist()) == {0, 255}
    assert np.array_equal(raw == 255, mask)
    assert np.array_equal(read_mask(path), mask)


def test_read_mask_refuses_intermediate_values(tmp_path):
    Image.fromarray(np.array([[0, 128], [255, 0]], dtype=np.uint8)).save(tmp_path / "m.png")
    with pytest.raises(ValueError, match="m.png.*0 \\(known\\) or 255"):
        read_mask(tmp_path / "m.png")
