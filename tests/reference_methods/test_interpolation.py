"""Interpolation baselines: bicubic is the SR protocol's baseline; the fills solve their equations."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.restoration import inpaint_biharmonic

from benchdata.resize import bicubic_sr_protocol, imresize
from reference_methods.interpolation import fill_missing, neumann_laplacian
from reference_methods.registry import MethodError, RestorationContext, restore


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_is_the_sr_protocols_baseline(gray, scale):
    protocol = bicubic_sr_protocol(gray, scale)
    lr = protocol.lr.astype(np.float64) / 255.0
    ours = restore("bicubic", lr, RestorationContext("sr", scale=scale))
    # Written as 8-bit (round half away from zero), it is the protocol's uint8 SR image exactly.
    assert np.array_equal(np.floor(ours * 255.0 + 0.5).astype(np.uint8), protocol.sr)


def test_bicubic_reproduces_linear_ramps_away_from_the_border():
    ramp = np.add.outer(np.arange(16) * 0.02, np.arange(16) * 0.03) + 0.05
    out = restore("bicubic", ramp, RestorationContext("sr", scale=2))
    expected = imresize(ramp, 2.0)
    assert np.allclose(out, expected)
    # Cubic convolution with a = -0.5 is exact on linear functions: sample points x/2 + 0.25 - 0.5.
    centres = (np.arange(32) + 0.5) / 2 - 0.5
    exact = 0.05 + np.add.outer(centres * 0.02, centres * 0.03)
    assert np.allclose(out[4:-4, 4:-4], exact[4:-4, 4:-4], atol=1e-12)


def test_identity_returns_the_input_unchanged(gray):
    rng = np.random.default_rng(0)
    noisy = gray + 0.05 * rng.standard_normal(gray.shape)
    out = restore("identity", noisy, RestorationContext("denoise", sigma=12.75))
    assert np.array_equal(out, np.clip(noisy, 0, 1))


def test_neumann_laplacian_is_the_five_point_stencil_with_reflecting_borders():
    rng = np.random.default_rng(1)
    u = rng.random((7, 9))
    p = np.pad(u, 1, mode="edge")
    expected = 4 * u - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:]
    assert np.allclose((neumann_laplacian(7, 9) @ u.ravel()).reshape(7, 9), expected, atol=1e-12)


def test_harmonic_fill_satisfies_the_mean_value_property():
    rng = np.random.default_rng(2)
    image = rng.random((30, 32))
    mask = rng.random((30, 32)) < 0.5
    mask[0], mask[-1], mask[:, 0], mask[:, -1] = False, False, False, False
    out = fill_missing(np.where(mask, 0.0, image), mask, order=1)
    neighbours = (out[:-2, 1:-1] + out[2:, 1:-1] + out[1:-1, :-2] + out[1:-1, 2:]) / 4
    inner = mask[1:-1, 1:-1]
    assert np.allclose(out[1:-1, 1:-1][inner], neighbours[inner], atol=1e-10)
    assert np.array_equal(out[~mask], image[~mask])


@pytest.mark.parametrize("order", [1, 2])
def test_fills_reproduce_a_linear_ramp(order):
    ramp = np.add.outer(np.arange(24) * 0.01, np.arange(20) * 0.02)
    mask = np.zeros(ramp.shape, dtype=bool)
    mask[6:15, 4:12] = True
    mask[18:21, 14:17] = True  # at least 3 pixels from the border, where Neumann conditions act
    out = fill_missing(np.where(mask, 0.0, ramp), mask, order=order)
    assert np.allclose(out, ramp, atol=1e-9)


@pytest.mark.parametrize("colour", [False, True])
def test_biharmonic_fill_matches_scikit_image(colour):
    rng = np.random.default_rng(3)
    image = rng.random((28, 30, 3) if colour else (28, 30))
    mask = rng.random((28, 30)) < 0.4
    mask[10:18, 8:20] = True
    degraded = image.copy()
    degraded[mask] = 0.0
    ours = fill_missing(degraded, mask, order=2)
    theirs = inpaint_biharmonic(degraded, mask, channel_axis=-1 if colour else None)
    # scikit-image clips the filled values to the range of the known ones; the solve is the same.
    known = degraded[~mask]
    low, high = known.min(axis=0), known.max(axis=0)  # per channel
    assert np.max(np.abs(np.clip(ours, low, high) - theirs)) < 1e-10
    assert np.max(np.abs(ours - theirs)) > 1e-3  # (overshoots exist, so the clip above matters)


def test_biharmonic_beats_harmonic_on_a_smooth_image():
    yy, xx = np.mgrid[0:40, 0:40] / 40
    smooth = 0.5 + 0.3 * np.sin(3 * xx) * np.cos(2 * yy)
    mask = np.zeros((40, 40), dtype=bool)
    mask[10:30, 12:28] = True
    degraded = np.where(mask, 0.0, smooth)
    context = RestorationContext("inpaint", mask=mask)
    err = {
        name: np.mean((restore(name, degraded, context) - smooth)[mask] ** 2)
        for name in ("harmonic_inpaint", "biharmonic_inpaint")
    }
    assert err["biharmonic_inpaint"] < 0.1 * err["harmonic_inpaint"]


def test_fills_refuse_a_mask_with_nothing_known_or_of_the_wrong_type():
    image = np.zeros((10, 10))
    with pytest.raises(MethodError, match="every pixel is missing"):
        restore("harmonic_inpaint", image, RestorationContext("inpaint", mask=np.ones((10, 10), dtype=bool)))
    with pytest.raises(MethodError, match="must be bool"):
        restore(
            "biharmonic_inpaint",
            image,
            RestorationContext("inpaint", mask=np.zeros((10, 10), dtype=np.uint8)),
        )
