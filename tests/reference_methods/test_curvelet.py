"""The curvelet tight frame: Parseval, exact reconstruction, real even windows, parabolic scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference_methods.curvelet import CurveletFrame, default_scales


@pytest.mark.parametrize("shape", [(64, 64), (65, 50), (40, 77)])
def test_frame_is_parseval_and_its_adjoint_inverts_it(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    frame = CurveletFrame(shape)
    coefficients = frame.forward(x)
    energy = sum(float(np.sum(c * c)) for c in coefficients)
    assert energy == pytest.approx(float(np.sum(x * x)), rel=1e-12)
    assert np.allclose(frame.adjoint(coefficients), x, atol=1e-12)


def test_windows_square_sum_to_one_everywhere():
    frame = CurveletFrame((48, 52))
    total = sum(w * w for _, w in frame.windows())
    assert np.allclose(total, 1.0, atol=1e-12)


def test_coefficients_are_real_because_windows_are_even():
    # A real, even window is a real filter: the full-plane window W(ω) must equal W(-ω).
    shape = (32, 36)
    frame = CurveletFrame(shape)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    spectrum = np.fft.fft2(x)
    for band, window in list(frame.windows())[::5]:
        full = np.zeros(shape)
        full[:, : shape[1] // 2 + 1] = window
        # Fill the missing half from the stored half by Hermitian symmetry of a real filter.
        rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1] // 2 + 1, shape[1]), indexing="ij")
        full[rows, cols] = window[(-rows) % shape[0], (-cols) % shape[1]]
        direct = np.fft.ifft2(full * spectrum)
        assert np.max(np.abs(direct.imag)) < 1e-12, band
        assert np.allclose(direct.real, frame.forward(x)[frame.bands.index(band)], atol=1e-12)


def test_noise_gain_is_the_std_of_band_coefficients_of_white_noise():
    shape = (48, 48)
    frame = CurveletFrame(shape)
    rng = np.random.default_rng(2)
    sums = np.zeros(len(frame.bands))
    draws = 40
    for _ in range(draws):
        for i, c in enumerate(frame.forward(rng.standard_normal(shape))):
            sums[i] += np.mean(c * c)
    measured = np.sqrt(sums / draws)
    predicted = np.array([frame.noise_gain(w) for _, w in frame.windows()])
    assert np.allclose(measured, predicted, rtol=0.1)
    assert np.sum(predicted**2) == pytest.approx(1.0, rel=1e-12)  # energy splits over the bands


def test_orientations_double_every_other_scale_like_fdct():
    frame = CurveletFrame((512, 512))
    assert frame.scales == default_scales((512, 512)) == 6
    counts = {}
    for band in frame.bands:
        counts[band.scale] = band.orientations
    # Coarsest low-pass, then 8, 16, 16, 32, 32 orientations over π (FDCT: 16, 32, 32, 64, 64 over 2π).
    assert [counts[s] for s in range(6, 0, -1)] == [1, 8, 16, 16, 32, 32]


def test_a_band_responds_to_its_own_orientation():
    n = 64
    frame = CurveletFrame((n, n))
    yy, xx = np.mgrid[0:n, 0:n]
    finest = [(b, w) for b, w in frame.windows() if b.scale == 1]
    for angle in (0.0, math.pi / 4, math.pi / 3):
        # A plane wave of frequency f along direction `angle` lives in the finest corona.
        f = 0.35
        wave = np.cos(2 * math.pi * f * (xx * math.cos(angle) + yy * math.sin(angle)))
        energies = [float(np.sum(c * c)) for c in frame.forward(wave)]
        band_energy = {b: energies[frame.bands.index(b)] for b, _ in finest}
        best = max(band_energy, key=band_energy.get)
        centre = best.orientation * math.pi / best.orientations
        # ω_y grows downwards in array coordinates, so the wave's frequency angle is `angle`.
        difference = abs((centre - angle + math.pi / 2) % math.pi - math.pi / 2)
        assert difference <= math.pi / best.orientations


def test_frame_rejects_bad_shapes_and_inputs():
    with pytest.raises(ValueError, match="at least 8x8"):
        CurveletFrame((4, 16))
    with pytest.raises(ValueError, match="scales must be in"):
        CurveletFrame((64, 64), scales=1)
    frame = CurveletFrame((16, 16))
    with pytest.raises(ValueError, match="expected an image of shape"):
        frame.forward(np.zeros((16, 17)))
