"""Tests for reference_methods.lssc: simultaneous OMP against a textbook loop and against plain OMP,
exact recovery of shared supports, the dictionary update, and the denoiser on an image made of a
few repeated patches."""

from __future__ import annotations

import numpy as np
import pytest

from reference_methods import lssc as L
from reference_methods.registry import MethodError, RestorationContext, restore
from reference_methods.sparse import omp

from .conftest import gray_image


def _random_dictionary(n: int, k: int, seed: int) -> np.ndarray:
    d = np.random.default_rng(seed).standard_normal((n, k))
    return d / np.linalg.norm(d, axis=0)


def _textbook_somp(d: np.ndarray, y: np.ndarray, atoms: int) -> np.ndarray:
    """SOMP for one group y (n, m): the atom with the largest ||(Dᵀ R)_j||_2, least squares by lstsq."""
    support: list[int] = []
    resid = y.copy()
    coef = np.zeros((0, y.shape[1]))
    for _ in range(atoms):
        score = np.linalg.norm(d.T @ resid, axis=1)
        score[support] = -1.0
        support.append(int(np.argmax(score)))
        coef = np.linalg.lstsq(d[:, support], y, rcond=None)[0]
        resid = y - d[:, support] @ coef
    out = np.zeros((d.shape[1], y.shape[1]))
    out[support] = coef
    return out


def test_somp_equals_textbook_somp_for_a_fixed_number_of_atoms():
    d = _random_dictionary(16, 40, 1)
    groups = np.random.default_rng(2).standard_normal((12, 16, 5))
    found = L.somp(d, groups, tol_sq=0.0, max_atoms=4)
    expected = np.stack([_textbook_somp(d, g, 4) for g in groups])
    assert np.allclose(found, expected, atol=1e-10)


def test_somp_on_groups_of_one_is_plain_omp():
    d = _random_dictionary(16, 40, 3)
    x = np.random.default_rng(4).standard_normal((16, 30))
    tol = 0.8
    found = L.somp(d, x.T[:, :, None], tol_sq=tol, max_atoms=10)[:, :, 0].T
    assert np.allclose(found, omp(d, x, tol_sq=tol, max_atoms=10), atol=1e-10)


def test_somp_recovers_a_shared_support_exactly():
    # Identity ∪ orthonormal DCT in R^32: incoherent enough that 3-atom shared supports are found.
    n = 32
    t = np.arange(n)
    dct = np.cos(np.pi * (t[:, None] + 0.5) * t[None, :] / n)
    d = np.concatenate([np.eye(n), dct / np.linalg.norm(dct, axis=0)], axis=1)
    rng = np.random.default_rng(5)
    codes = np.zeros((50, 2 * n, 6))
    for g in range(50):
        support = rng.choice(2 * n, 3, replace=False)
        codes[g, support] = rng.uniform(1.0, 2.0, (3, 6)) * rng.choice([-1, 1], (3, 6))
    found = L.somp(d, np.matmul(d, codes), tol_sq=1e-20, max_atoms=8)
    assert np.allclose(found, codes, atol=1e-10)


def test_the_dictionary_update_lowers_the_error_and_keeps_an_exact_dictionary():
    rng = np.random.default_rng(6)
    d0 = _random_dictionary(12, 20, 7)
    codes = np.where(rng.random((20, 400)) < 0.15, rng.standard_normal((20, 400)), 0.0)
    y = d0 @ codes
    start = d0 + 0.2 * rng.standard_normal(d0.shape)
    start /= np.linalg.norm(start, axis=0)
    updated = L.update_dictionary(start, y, codes, sweeps=3)
    assert np.sum((y - updated @ codes) ** 2) < 0.5 * np.sum((y - start @ codes) ** 2)
    assert np.allclose(np.linalg.norm(updated, axis=0), 1.0)
    assert np.allclose(L.update_dictionary(d0, y, codes), d0, atol=1e-10)


def repeated_tiles_image() -> np.ndarray:
    """A 64×64 checkerboard of two 8×8 tiles (an edge and a ramp): every patch recurs within the
    search window, at shifts of (±8, ±8)."""
    t = np.arange(8)
    tiles = [
        np.where(t[None, :] < 4, 0.2, 0.8) * np.ones((8, 1)),
        np.clip((t[:, None] + t[None, :]) / 14, 0, 1) * 0.6 + 0.2,
    ]
    return np.block([[tiles[(i + j) % 2] for j in range(8)] for i in range(8)])


def test_grouping_helps_on_an_image_of_repeated_patches(psnr):
    clean = repeated_tiles_image()
    noisy = clean + np.random.default_rng(8).standard_normal(clean.shape) * 25 / 255
    grouped = restore("lssc", noisy, RestorationContext("denoise", sigma=25))
    alone = restore("lssc", noisy, RestorationContext("denoise", sigma=25, params={"group_size": 1}))
    # Measured when written: noisy 20.1 dB, grouped 29.2 dB, each patch coded alone 22.3 dB.
    assert psnr(grouped, clean) > psnr(noisy, clean) + 8.0
    # Coding each patch jointly with its repetitions beats coding it alone by a wide margin.
    assert psnr(grouped, clean) > psnr(alone, clean) + 5.0


def test_lssc_denoises_a_natural_crop_by_a_clear_margin(psnr):
    clean = gray_image(48)
    noisy = clean + np.random.default_rng(9).standard_normal(clean.shape) * 25 / 255
    out = restore("lssc", noisy, RestorationContext("denoise", sigma=25))
    assert psnr(out, clean) > psnr(noisy, clean) + 5.0


def test_lssc_is_reproducible_with_the_seed():
    clean = gray_image(32)
    noisy = clean + np.random.default_rng(10).standard_normal(clean.shape) * 15 / 255
    # Fewer training groups than the image has, so the seed decides which ones train the dictionary.
    params = {"training_groups": 20}
    runs = [
        restore("lssc", noisy, RestorationContext("denoise", sigma=15, seed=s, params=params))
        for s in (3, 3, 4)
    ]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])  # the seed picks the dictionary's training groups


def test_lssc_refuses_a_step_larger_than_the_patch():
    with pytest.raises(MethodError, match="step"):
        restore("lssc", gray_image(32), RestorationContext("denoise", sigma=15, params={"step": 9}))
