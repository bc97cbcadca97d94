"""Tiled inference covers every pixel once and equals whole-image inference for local networks."""

import numpy as np
import pytest
from scipy import ndimage

from evaluator.model_runner.tiling import TileShapeError, run_tiled, tile_spans


@pytest.mark.parametrize(
    ("length", "tile", "overlap"), [(70, 32, 8), (64, 32, 8), (33, 32, 4), (10, 32, 8), (500, 96, 16)]
)
def test_kept_ranges_partition_the_axis_and_stay_inside_their_tiles(length, tile, overlap):
    spans = tile_spans(length, tile, overlap)
    covered = [i for _, _, k0, k1 in spans for i in range(k0, k1)]
    assert covered == list(range(length))
    for start, end, k0, k1 in spans:
        assert 0 <= start <= k0 <= k1 <= end <= length
        assert end - start == min(tile, length)
        # kept pixels are at least overlap/2 away from any tile border that is not an image border
        if start > 0:
            assert k0 - start >= overlap // 2
        if end < length:
            assert end - k1 >= overlap // 2


def _box3(x: np.ndarray) -> np.ndarray:
    """3×3 mean with zero padding, per (n, c) plane: a network with receptive-field radius 1."""
    kernel = np.full((1, 1, 3, 3), 1 / 9)
    return ndimage.correlate(x.astype(np.float64), kernel, mode="constant").astype(np.float32)


def test_tiled_local_filter_equals_whole_image_filter():
    x = np.random.default_rng(0).random((2, 1, 70, 50), dtype=np.float32)
    tiled = run_tiled(_box3, x, scale=1, tile=32, overlap=4)
    np.testing.assert_allclose(tiled, _box3(x), atol=1e-6)


def test_tiled_upscaling_places_each_tile_at_scale():
    x = np.random.default_rng(1).random((1, 3, 45, 37), dtype=np.float32)

    def nearest2(t: np.ndarray) -> np.ndarray:
        return t.repeat(2, axis=2).repeat(2, axis=3)

    np.testing.assert_array_equal(run_tiled(nearest2, x, scale=2, tile=16, overlap=4), nearest2(x))


def test_fixed_size_network_gets_padded_tiles_and_cropped_output():
    x = np.random.default_rng(2).random((1, 1, 21, 13), dtype=np.float32)
    seen = []

    def fixed(t: np.ndarray) -> np.ndarray:
        seen.append(t.shape)
        return t * 2

    out = run_tiled(fixed, x, scale=1, tile=None, overlap=0, fixed_hw=(16, 16))
    assert set(seen) == {(1, 1, 16, 16)}
    np.testing.assert_allclose(out, x * 2)


def test_wrong_tile_shape_names_expected_and_actual():
    x = np.zeros((1, 1, 20, 20), dtype=np.float32)
    with pytest.raises(TileShapeError, match=r"returned shape \(1, 1, 10, 10\).*expected \(N=1, C, 40, 40\)"):
        run_tiled(lambda t: t[:, :, ::2, ::2], x, scale=2, tile=None, overlap=0)
