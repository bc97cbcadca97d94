"""Tests for the sparse family (reference_methods.ksvd and .scsr, through the `sparse` re-exports):
OMP, masked OMP, K-SVD, the lasso solver, and the K-SVD and sparse-coding super-resolution methods,
each against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest

from benchdata.degradations import degrade
from benchdata.resize import imresize
from reference_methods import ksvd as K
from reference_methods import sparse as S
from reference_methods.registry import MethodError, RestorationContext, restore

from . import slow_scsr
from . import slow_sparse as slow
from .conftest import gray_image, rgb_image


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10.0 * np.log10(1.0 / float(np.mean((np.clip(a, 0, 1) - b) ** 2)))


def _random_dictionary(n: int, k: int, seed: int) -> np.ndarray:
    d = np.random.default_rng(seed).standard_normal((n, k))
    return d / np.linalg.norm(d, axis=0)


def _sparse_codes(k: int, count: int, sparsity: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = np.zeros((k, count))
    for i in range(count):
        support = rng.choice(k, sparsity, replace=False)
        codes[support, i] = rng.uniform(1.0, 2.0, sparsity) * rng.choice([-1, 1], sparsity)
    return codes


def _naive_omp(d: np.ndarray, x: np.ndarray, atoms: int) -> np.ndarray:
    """Textbook OMP for one signal: greedy selection, least squares by lstsq."""
    support: list[int] = []
    resid = x.copy()
    coef = np.zeros(0)
    for _ in range(atoms):
        support.append(int(np.argmax(np.abs(d.T @ resid))))
        coef = np.linalg.lstsq(d[:, support], x, rcond=None)[0]
        resid = x - d[:, support] @ coef
    out = np.zeros(d.shape[1])
    out[support] = coef
    return out


# --- OMP ----------------------------------------------------------------------------------------


def test_omp_recovers_known_sparse_codes_exactly():
    # Identity ∪ orthonormal DCT-II in R^64: mutual coherence μ = sqrt(2/64), so every code with
    # fewer than (1 + 1/μ)/2 ≈ 3.3 atoms is recovered exactly by OMP (Tropp 2004).
    n = 64
    t = np.arange(n)
    dct = np.cos(np.pi * (t[:, None] + 0.5) * t[None, :] / n)
    dct /= np.linalg.norm(dct, axis=0)
    d = np.concatenate([np.eye(n), dct], axis=1)
    codes = _sparse_codes(2 * n, 300, 3, 1)
    found = S.omp(d, d @ codes, tol_sq=1e-20, max_atoms=8)
    assert np.allclose(found, codes, atol=1e-10)


def test_omp_equals_textbook_omp_for_a_fixed_number_of_atoms():
    d = _random_dictionary(16, 40, 2)
    x = np.random.default_rng(3).standard_normal((16, 25))
    found = S.omp(d, x, max_atoms=5)
    expected = np.stack([_naive_omp(d, x[:, i], 5) for i in range(25)], axis=1)
    assert np.allclose(found, expected, atol=1e-10)


def test_compiled_omp_equals_the_batch_omp_reference():
    d = _random_dictionary(36, 90, 11)
    x = d @ _sparse_codes(90, 200, 4, 12) + 0.05 * np.random.default_rng(13).standard_normal((36, 200))
    for tol, atoms in [(0.1, 18), (None, 5), (np.linspace(0.01, 2.0, 200), 10)]:
        fast = S.omp(d, x, tol_sq=tol, max_atoms=atoms)
        assert np.allclose(fast, slow.omp(d, x, tol_sq=tol, max_atoms=atoms), atol=1e-10)


def test_ksvd_denoising_with_the_compiled_omp_equals_the_reference(monkeypatch):
    clean = gray_image(32)
    noisy = degrade(clean, {"task": "denoise", "sigma": 20}, 3).image
    fast = K.ksvd_denoise_channel(noisy, 20.0, iterations=2, training_patches=400)
    monkeypatch.setattr(K, "omp", slow.omp)
    reference = K.ksvd_denoise_channel(noisy, 20.0, iterations=2, training_patches=400)
    assert np.abs(fast - reference).max() < 1e-9


def test_omp_stops_at_the_error_target():
    d = _random_dictionary(16, 40, 4)
    x = np.random.default_rng(5).standard_normal((16, 50))
    tol = 0.5
    codes = S.omp(d, x, tol_sq=tol, max_atoms=16)
    resid = np.sum((x - d @ codes) ** 2, axis=0)
    assert np.all(resid <= tol + 1e-9)
    # one atom fewer would not have met it: the count equals textbook OMP's first count that does
    for i in range(50):
        used = int((codes[:, i] != 0).sum())
        if used:
            fewer = _naive_omp(d, x[:, i], used - 1) if used > 1 else np.zeros(40)
            assert np.sum((x[:, i] - d @ fewer) ** 2) > tol


def test_masked_omp_recovers_codes_from_the_known_entries_only():
    d = _random_dictionary(48, 64, 6)
    codes = _sparse_codes(64, 100, 3, 7)
    x = d @ codes
    known = np.random.default_rng(8).random(x.shape) > 0.4
    corrupted = np.where(known, x, 99.0)  # missing entries must be ignored
    found = S.masked_omp(d, corrupted, known, tol_sq=np.full(100, 1e-20), max_atoms=6)
    assert np.allclose(found, codes, atol=1e-8)


def test_masked_omp_with_everything_known_equals_omp():
    d = _random_dictionary(16, 40, 9)
    x = np.random.default_rng(10).standard_normal((16, 30))
    a = S.masked_omp(d, x, np.ones_like(x, dtype=bool), tol_sq=np.full(30, 0.3), max_atoms=10)
    b = S.omp(d, x, tol_sq=0.3, max_atoms=10)
    assert np.allclose(a, b, atol=1e-9)


# --- K-SVD --------------------------------------------------------------------------------------


def test_overcomplete_dct_has_unit_columns_and_a_constant_first_atom():
    d = S.overcomplete_dct(8, 16)
    assert d.shape == (64, 256)
    assert np.allclose(np.linalg.norm(d, axis=0), 1.0)
    assert np.allclose(d[:, 0], 1 / 8)


def test_ksvd_recovers_a_planted_dictionary():
    # The synthetic experiment of Aharon, Elad & Bruckstein (2006), scaled down.
    truth = _random_dictionary(12, 24, 11)
    x = truth @ _sparse_codes(24, 1200, 2, 12)
    rng = np.random.default_rng(13)
    start = _random_dictionary(12, 24, 14)
    learned = S.ksvd_train(x, start, iterations=40, tol_sq=1e-10, max_atoms=2, rng=rng)
    match = np.abs(learned.T @ truth).max(axis=0)
    assert np.mean(match > 0.99) >= 0.9


def test_ksvd_lowers_the_representation_error():
    clean = gray_image(40)
    noisy = degrade(clean, {"task": "denoise", "sigma": 20}, 1).image
    patches = S.extract_patches(noisy, 8, np.arange(33), np.arange(33)).T
    d0 = S.overcomplete_dct(8, 16)
    d1 = S.ksvd_train(patches, d0, iterations=5, tol_sq=0.0, max_atoms=4, rng=np.random.default_rng(0))

    def error(d):
        return np.sum((patches - d @ S.omp(d, patches, max_atoms=4)) ** 2)

    assert error(d1) < error(d0)


def test_patches_round_trip_through_aggregation():
    image = np.random.default_rng(0).random((23, 19))
    ys, xs = S.grid_positions(23, 5, 3), S.grid_positions(19, 5, 3)
    acc, cnt = S.aggregate_patches(S.extract_patches(image, 5, ys, xs), 5, ys, xs, image.shape)
    assert cnt.min() >= 1
    assert np.allclose(acc / cnt, image)


# --- lasso --------------------------------------------------------------------------------------


def _coordinate_descent_lasso(d: np.ndarray, x: np.ndarray, lam: float, sweeps: int = 3000) -> np.ndarray:
    a = np.zeros(d.shape[1])
    g = d.T @ d
    c = d.T @ x
    for _ in range(sweeps):
        for j in range(d.shape[1]):
            rho = c[j] - g[j] @ a + g[j, j] * a[j]
            a[j] = np.sign(rho) * max(abs(rho) - lam, 0.0) / g[j, j]
    return a


def test_lasso_equals_coordinate_descent():
    d = _random_dictionary(10, 30, 20)
    x = np.random.default_rng(21).standard_normal((10, 6))
    codes = S.lasso(d, x, 0.3)
    for i in range(6):
        assert np.allclose(codes[:, i], _coordinate_descent_lasso(d, x[:, i], 0.3), atol=1e-7)


@pytest.mark.parametrize("working_set", [4, 64])
def test_lasso_satisfies_the_optimality_conditions(working_set):
    d = _random_dictionary(40, 120, 22)
    x = d @ _sparse_codes(120, 60, 5, 23) + 0.1 * np.random.default_rng(24).standard_normal((40, 60))
    lam = 0.2
    codes = S.lasso(d, x, lam, working_set=working_set)
    grad = d.T @ (x - d @ codes)
    on = codes != 0
    assert np.allclose(grad[on], lam * np.sign(codes[on]), atol=1e-9)
    assert np.all(np.abs(grad[~on]) <= lam + 1e-9)


@pytest.mark.parametrize("working_set", [8, 64, 500])
def test_compiled_lasso_equals_the_batched_numpy_reference(working_set):
    d = _random_dictionary(30, 80, 21)
    x = d @ _sparse_codes(80, 150, 6, 22) + 0.1 * np.random.default_rng(23).standard_normal((30, 150))
    for lam in (0.05, 0.3):
        fast = S.lasso(d, x, lam, working_set=working_set)
        assert np.abs(fast - slow_scsr.lasso(d, x, lam, working_set=working_set)).max() < 1e-10


def test_scsr_with_the_compiled_lasso_equals_the_reference(monkeypatch):
    from reference_methods import scsr as scsr_module

    lr = np.round(imresize(gray_image(48) * 255, 0.25))
    model = S.load_coupled_dictionary(4)
    fast = S.scsr_upscale(lr, model, lam=0.2, stride=2, bp_iterations=2)
    monkeypatch.setattr(scsr_module, "lasso", slow_scsr.lasso)
    reference = S.scsr_upscale(lr, model, lam=0.2, stride=2, bp_iterations=2)
    assert np.abs(fast - reference).max() < 1e-8  # grey levels (0–255)


def test_lasso_gives_zero_when_lambda_exceeds_every_correlation():
    d = _random_dictionary(8, 16, 25)
    x = 0.01 * np.random.default_rng(26).standard_normal((8, 5))
    assert not S.lasso(d, x, 10.0).any()


# --- K-SVD method -------------------------------------------------------------------------------


def test_ksvd_denoising_beats_the_dct_dictionary_it_starts_from():
    # Large enough for learning to pay (on tiny images 256 atoms over-fit the noise).
    clean = gray_image(96)
    noisy = degrade(clean, {"task": "denoise", "sigma": 25}, 2).image
    learned = S.ksvd_denoise_channel(noisy, 25.0, iterations=5, training_patches=4000)
    dct_only = S.ksvd_denoise_channel(noisy, 25.0, iterations=0, training_patches=4000)
    assert _psnr(learned, clean) > _psnr(dct_only, clean) > _psnr(noisy, clean) + 2.0


def test_ksvd_inpainting_keeps_known_pixels():
    clean = gray_image(40)
    case = degrade(clean, {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.5}}, 3)
    out = restore(
        "ksvd", case.image, RestorationContext(task="inpaint", mask=case.mask, params={"iterations": 2})
    )
    assert np.array_equal(out[~case.mask], case.image[~case.mask])
    assert _psnr(out, clean) > _psnr(case.image, clean) + 5


def test_ksvd_denoising_at_sigma_zero_returns_the_input():
    image = gray_image(24)
    assert np.array_equal(restore("ksvd", image, RestorationContext(task="denoise", sigma=0.0)), image)


@pytest.mark.parametrize(
    ("task", "params", "match"),
    [
        ("denoise", {"gain": 0}, "gain"),
        ("denoise", {"stride": 9}, "stride"),
        ("denoise", {"training_patches": 10}, "training_patches"),
        ("inpaint", {"min_known": 1.5}, "min_known"),
    ],
)
def test_ksvd_rejects_bad_parameters(task, params, match):
    image = gray_image(24)
    mask = np.zeros(image.shape, dtype=bool)
    mask[::2] = True
    with pytest.raises(MethodError, match=match):
        restore("ksvd", image, RestorationContext(task=task, sigma=10.0, mask=mask, params=params))


def test_ksvd_rejects_images_smaller_than_a_patch():
    with pytest.raises(MethodError, match="smaller than the 8x8 patch"):
        restore("ksvd", np.zeros((6, 20)), RestorationContext(task="denoise", sigma=10.0))


# --- sparse-coding super-resolution -------------------------------------------------------------


def test_ycbcr_conversion_is_bt601_and_inverts():
    rgb = np.random.default_rng(0).random((5, 4, 3))
    ycc = S.rgb_to_ycbcr(rgb)
    y = 16 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]
    assert np.allclose(ycc[..., 0], y)
    assert np.allclose(S.ycbcr_to_rgb(ycc), rgb)


def test_scsr_features_are_the_first_and_second_differences():
    image = np.random.default_rng(1).random((9, 10))
    f = S.scsr_features(image)
    i, j = 4, 5
    assert np.isclose(f[0, i, j], image[i, j + 1] - image[i, j - 1])
    assert np.isclose(f[1, i, j], image[i + 1, j] - image[i - 1, j])
    assert np.isclose(f[2, i, j], image[i, j + 2] - 2 * image[i, j] + image[i, j - 2])
    assert np.isclose(f[3, i, j], image[i + 2, j] - 2 * image[i, j] + image[i - 2, j])


def test_back_projection_enforces_the_reconstruction_constraint():
    hr = gray_image(48) * 255
    lr = imresize(hr, 0.5)
    start = imresize(lr, 2.0) + np.random.default_rng(2).normal(0, 5, hr.shape)
    before = np.abs(imresize(start, 0.5) - lr).mean()
    after = np.abs(imresize(S.back_projection(start, lr, 2, 20), 0.5) - lr).mean()
    assert after < 0.2 * before


def test_the_committed_coupled_dictionaries_load_and_are_consistent():
    for scale in (2, 3, 4):
        model = S.load_coupled_dictionary(scale)
        assert model.scale == scale
        assert model.dh.shape == (model.patch**2, model.dl.shape[1])
        assert np.allclose(np.linalg.norm(model.dh, axis=0), 1.0, atol=1e-5)
        assert np.allclose(np.linalg.norm(model.dl, axis=0), 1.0, atol=1e-5)
        assert 0.5 < model.gain < 3.0


def test_a_missing_dictionary_is_a_clear_error(tmp_path):
    with pytest.raises(MethodError, match="train_scsr --scale 3"):
        S.load_coupled_dictionary(3, tmp_path / "scsr_x3.npz")


def test_scsr_beats_bicubic_on_the_luma():
    hr = gray_image(64)
    lr = np.round(imresize(hr * 255, 0.5)) / 255
    bicubic = imresize(lr, 2.0)
    out = restore("scsr", lr, RestorationContext(task="sr", scale=2))
    inner = (slice(2, -2), slice(2, -2))
    assert _psnr(out[inner], hr[inner]) > _psnr(bicubic[inner], hr[inner]) + 0.2


def test_scsr_super_resolves_colour_through_the_luma():
    hr = rgb_image(40)
    lr = np.round(imresize(hr * 255, 0.5)) / 255
    out = restore(
        "scsr", lr, RestorationContext(task="sr", scale=2, params={"bp_iterations": 0, "stride": 1})
    )
    assert out.shape == hr.shape
    # Chroma is plain bicubic: the Cb/Cr of the output equal those of the bicubic upscale.
    chroma = S.rgb_to_ycbcr(out)[..., 1:]
    expected = imresize(S.rgb_to_ycbcr(lr)[..., 1:], 2.0)
    ok = (out > 0).all(axis=2) & (out < 1).all(axis=2)  # away from clipping
    assert np.allclose(chroma[ok], expected[ok], atol=1e-6)


@pytest.mark.parametrize(
    ("params", "match"), [({"lam": -1}, "lam"), ({"stride": 0}, "stride"), ({"stride": 99}, "stride")]
)
def test_scsr_rejects_bad_parameters(params, match):
    with pytest.raises(MethodError, match=match):
        restore("scsr", gray_image(24), RestorationContext(task="sr", scale=2, params=params))
