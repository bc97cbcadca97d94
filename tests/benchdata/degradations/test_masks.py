"""Inpainting masks: coverage, reproducibility, shapes."""

import numpy as np
import pytest

from benchdata.degradations import brush_strokes_mask, random_boxes_mask, random_pixels_mask
from benchdata.degradations.masks import make_mask


@pytest.mark.parametrize("coverage", [0.0, 0.1, 0.37, 0.8])
def test_random_pixels_mask_has_exactly_the_requested_coverage(coverage):
    mask = random_pixels_mask((50, 70), coverage, np.random.default_rng(0))
    assert mask.dtype == bool and mask.shape == (50, 70)
    assert mask.sum() == round(coverage * 50 * 70)


@pytest.mark.parametrize("generator", [random_boxes_mask, brush_strokes_mask])
@pytest.mark.parametrize("coverage", [0.05, 0.25, 0.5, 0.9])
def test_boxes_and_brush_reach_the_coverage_and_overshoot_little(generator, coverage):
    mask = generator((120, 160), coverage, np.random.default_rng(5))
    achieved = mask.mean()
    assert coverage <= achieved <= coverage + 0.01


def test_zero_coverage_gives_an_empty_mask():
    for kind in ("boxes", "brush", "pixels"):
        assert not make_mask(kind, (20, 30), 0.0, np.random.default_rng(0)).any()


@pytest.mark.parametrize("kind", ["boxes", "brush", "pixels"])
def test_masks_are_reproducible_per_seed(kind):
    a = make_mask(kind, (64, 48), 0.3, np.random.default_rng(11))
    b = make_mask(kind, (64, 48), 0.3, np.random.default_rng(11))
    c = make_mask(kind, (64, 48), 0.3, np.random.default_rng(12))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_coverage_of_one_box_gives_one_solid_rectangle():
    mask = random_boxes_mask((100, 100), 0.01, np.random.default_rng(2), min_size=0.1, max_size=0.1)
    # 1% of 100x100 is exactly one 10x10 box: its bounding box is filled completely.
    rows, cols = np.nonzero(mask)
    box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    assert box.shape == (10, 10) and box.all()


def test_mask_parameters_are_checked():
    with pytest.raises(ValueError, match=r"coverage must be in \[0, 1\)"):
        random_pixels_mask((10, 10), 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown kind 'ellipses'"):
        make_mask("ellipses", (10, 10), 0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="min_size <= max_size"):
        random_boxes_mask((10, 10), 0.1, np.random.default_rng(0), min_size=0.5, max_size=0.2)
