"""Tests for reference_methods.octobos: the closed-form transform update against a direct numerical
minimisation, the sparse-coding steps against brute force, the learning loop on data drawn from a
known union of transforms, and the denoiser on a small image."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from reference_methods import octobos as O
from reference_methods.registry import MethodError, RestorationContext, restore

from .conftest import gray_image
from .test_lssc import repeated_tiles_image


def _union_of_bases_data(n: int = 16, count: int = 2000, sparsity: int = 3, seed: int = 0):
    """Signals each exactly `sparsity`-sparse in one of two random orthonormal transforms."""
    rng = np.random.default_rng(seed)
    bases = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(2)]
    codes = np.zeros((n, count))
    for i in range(count):
        support = rng.choice(n, sparsity, replace=False)
        codes[support, i] = rng.uniform(1.0, 2.0, sparsity) * rng.choice([-1, 1], sparsity)
    labels = rng.integers(0, 2, count)
    x = np.where(labels == 0, bases[0].T @ codes, bases[1].T @ codes)
    return x, labels


def test_transform_update_is_the_global_minimiser_found_by_direct_search():
    rng = np.random.default_rng(1)
    n, count, lam = 4, 60, 0.7
    x = rng.standard_normal((n, count))
    z = O.hard_threshold(rng.standard_normal((n, n)) @ x, 2)
    closed = O.transform_update(x, z, lam)

    def f(flat):
        return O.transform_objective(flat.reshape(n, n), x, z, lam)

    # Direct minimisation (BFGS) from several starts with det > 0 and det < 0: log|det| keeps each
    # run on its side of the singular matrices, so together they search both.
    starts = [np.eye(n), -np.eye(n), *(rng.standard_normal((n, n)) for _ in range(4))]
    found = [minimize(f, s.ravel(), method="BFGS", options={"gtol": 1e-10}) for s in starts]
    best = min(found, key=lambda r: r.fun)
    assert f(closed.ravel()) <= best.fun + 1e-9
    assert np.allclose(best.x.reshape(n, n), closed, atol=1e-4)


def test_transform_update_zeroes_the_gradient():
    rng = np.random.default_rng(2)
    n, lam = 6, 2.0
    x = rng.standard_normal((n, 200))
    z = O.hard_threshold(x, 3)
    w = O.transform_update(x, z, lam)
    # d/dW [||WX − Z||² + λ(||W||² − log|det W|)] = 2(WX − Z)Xᵀ + λ(2W − W⁻ᵀ)
    grad = 2 * (w @ x - z) @ x.T + lam * (2 * w - np.linalg.inv(w).T)
    assert np.abs(grad).max() < 1e-8 * np.abs(x @ x.T).max()


def test_hard_threshold_keeps_the_largest_magnitudes_of_each_column():
    coefs = np.random.default_rng(3).standard_normal((64, 50))
    for s in (0, 1, 7, 64):
        expected = np.zeros_like(coefs)
        if s:
            keep = np.argsort(-np.abs(coefs), axis=0)[:s]
            np.put_along_axis(expected, keep, np.take_along_axis(coefs, keep, axis=0), axis=0)
        assert np.array_equal(O.hard_threshold(coefs, s), expected)


def test_adaptive_coding_keeps_the_fewest_coefficients_that_meet_the_error_target():
    rng = np.random.default_rng(4)
    n = 8
    w = rng.standard_normal((n, n)) + 3 * np.eye(n)  # well conditioned, not orthogonal
    x = rng.standard_normal((n, 40))
    tol = 2.0
    recon, kept = O.adaptive_sparse_reconstruct(w, x, tol)
    inverse = np.linalg.inv(w)
    for i in range(x.shape[1]):
        errors = [
            np.sum((x[:, i] - inverse @ O.hard_threshold(w @ x[:, i : i + 1], s)[:, 0]) ** 2)
            for s in range(n + 1)
        ]
        s = next(s for s, e in enumerate(errors) if e <= tol)
        assert kept[i] == s
        assert np.allclose(recon[:, i], inverse @ O.hard_threshold(w @ x[:, i : i + 1], s)[:, 0])


def test_learning_finds_the_clusters_and_transforms_of_a_union_of_bases():
    x, truth = _union_of_bases_data()
    transforms, labels = O.learn_union_of_transforms(
        x, 2, iterations=30, sparsity=3, lam0=1e-3, rng=np.random.default_rng(1)
    )
    agreement = max(np.mean(labels == truth), np.mean(labels != truth))  # labels up to a swap
    assert agreement > 0.99
    resid = sum(
        np.sum(
            (transforms[k] @ x[:, labels == k] - O.hard_threshold(transforms[k] @ x[:, labels == k], 3)) ** 2
        )
        for k in range(2)
    )
    dct = O.dct2_matrix(4)
    dct_resid = np.sum((dct @ x - O.hard_threshold(dct @ x, 3)) ** 2)
    # The learned union represents the data 3-sparsely to within 1% of its energy; the DCT does not.
    assert resid < 0.01 * np.sum(x**2) < 0.1 * dct_resid


def test_the_learning_objective_never_increases():
    x, _ = _union_of_bases_data(count=600, seed=5)
    values = []
    for iterations in range(1, 7):
        transforms, labels = O.learn_union_of_transforms(
            x, 2, iterations=iterations, sparsity=3, lam0=1e-3, rng=np.random.default_rng(2)
        )
        costs = O.cluster_costs(transforms, x, 3, 1e-3)
        values.append(costs[labels, np.arange(x.shape[1])].sum())
    assert all(b <= a + 1e-9 * a for a, b in zip(values, values[1:], strict=False))
    assert values[-1] < 0.5 * values[0]


def test_octobos_denoises_an_image_of_repeated_patches(psnr):
    clean = repeated_tiles_image()
    noisy = clean + np.random.default_rng(8).standard_normal(clean.shape) * 25 / 255
    out = restore("octobos", noisy, RestorationContext("denoise", sigma=25))
    # Measured when written: noisy 20.1 dB, restored 28.6 dB.
    assert psnr(out, clean) > psnr(noisy, clean) + 7.0


def test_octobos_denoises_a_natural_crop_by_a_clear_margin(psnr):
    clean = gray_image(48)
    noisy = clean + np.random.default_rng(6).standard_normal(clean.shape) * 25 / 255
    out = restore("octobos", noisy, RestorationContext("denoise", sigma=25))
    assert psnr(out, clean) > psnr(noisy, clean) + 5.0


def test_octobos_is_reproducible_with_the_seed():
    clean = gray_image(32)
    noisy = clean + np.random.default_rng(7).standard_normal(clean.shape) * 15 / 255
    runs = [restore("octobos", noisy, RestorationContext("denoise", sigma=15, seed=s)) for s in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])  # the seed drives the initial clusters


def test_octobos_refuses_a_sparsity_fraction_above_one():
    clean = gray_image(32)
    with pytest.raises(MethodError, match="sparsity_fraction"):
        restore("octobos", clean, RestorationContext("denoise", sigma=15, params={"sparsity_fraction": 1.5}))
