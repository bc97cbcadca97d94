"""Filtering baselines against independent computations and scikit-image where definitions match."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.restoration import denoise_bilateral, denoise_nl_means

from reference_methods.diffusion import edge_enhancing_diffusion_filter, perona_malik_diffusion
from reference_methods.filter_common import tuned
from reference_methods.filtering import nl_means, nlm_inpaint_filter
from reference_methods.interpolation import fill_missing
from reference_methods.registry import MethodError, RestorationContext, get_method, restore
from reference_methods.smoothing import bilateral_filter, domain_transform_filter, gaussian_filter


def explicit_heat_steps(image: np.ndarray, steps: int, step: float) -> np.ndarray:
    """Linear diffusion u += step · (4-neighbour Laplacian), edge pixel repeated (zero flux)."""
    u = image.copy()
    for _ in range(steps):
        p = np.pad(u, 1, mode="edge")
        u = u + step * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u)
    return u


def noisy_step(
    rng: np.random.Generator, size: int = 40, noise: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    clean = np.zeros((size, size))
    clean[:, size // 2 :] = 1.0
    return clean, clean + noise * rng.standard_normal(clean.shape)


# --- tuned defaults ---------------------------------------------------------------------------


def test_tuned_interpolates_linearly_and_clamps_outside_the_table():
    table = {15: 1.0, 25: 2.0, 50: 4.0}
    assert tuned(20, table) == pytest.approx(1.5)
    assert tuned(5, table) == 1.0
    assert tuned(75, table) == 4.0
    assert tuned(None, table) == 1.0


# --- Gaussian ---------------------------------------------------------------------------------


def test_gaussian_reduces_white_noise_variance_by_the_kernel_energy():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((256, 256))
    std = 1.5
    taps = np.exp(-0.5 * (np.arange(-6, 7) / std) ** 2)
    taps /= taps.sum()
    expected = float(np.sum(taps**2) ** 2)  # separable: the 2-D energy is the 1-D energy squared
    measured = float(np.var(gaussian_filter(noise, std)[16:-16, 16:-16]))
    assert measured == pytest.approx(expected, rel=0.05)


def test_gaussian_keeps_constants_and_rgb_channels_apart():
    rgb = np.ones((20, 20, 3)) * np.array([0.2, 0.5, 0.9])
    assert np.allclose(gaussian_filter(rgb, 2.0), rgb)


def test_gaussian_rejects_negative_std():
    with pytest.raises(MethodError, match="std must be >= 0"):
        restore("gaussian", np.zeros((16, 16)), RestorationContext("denoise", sigma=10, params={"std": -1.0}))


# --- Perona–Malik -----------------------------------------------------------------------------


def test_perona_malik_with_huge_kappa_is_linear_diffusion():
    rng = np.random.default_rng(1)
    image = rng.random((24, 30))
    ours = perona_malik_diffusion(image, kappa=1e6, iterations=7, step=0.2)
    assert np.allclose(ours, explicit_heat_steps(image, 7, 0.2), atol=1e-9)


def test_perona_malik_conserves_the_mean_and_obeys_the_maximum_principle():
    rng = np.random.default_rng(2)
    image = rng.random((32, 32))
    out = perona_malik_diffusion(image, kappa=0.1, iterations=20, step=0.25)
    assert out.mean() == pytest.approx(image.mean(), abs=1e-12)
    assert out.min() >= image.min() - 1e-12 and out.max() <= image.max() + 1e-12


def test_perona_malik_keeps_a_strong_edge_that_linear_diffusion_blurs():
    rng = np.random.default_rng(3)
    clean, noisy = noisy_step(rng)
    pm = perona_malik_diffusion(noisy, kappa=0.15, iterations=30, step=0.2)
    linear = explicit_heat_steps(noisy, 30, 0.2)
    edge_jump = lambda u: float(np.mean(u[:, 20] - u[:, 19]))  # noqa: E731
    assert edge_jump(pm) > 0.9
    assert edge_jump(linear) < 0.5
    assert np.mean((pm - clean) ** 2) < 0.25 * np.mean((noisy - clean) ** 2)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"step": 0.3}, "step must be in"),
        ({"kappa": 0.0}, "kappa must be > 0"),
        ({"conductance": "cubic"}, "conductance must be"),
        ({"iterations": -1}, "iterations must be >= 0"),
    ],
)
def test_perona_malik_rejects_bad_parameters(params, message):
    with pytest.raises(MethodError, match=message):
        restore("perona_malik", np.zeros((16, 16)), RestorationContext("denoise", sigma=10, params=params))


# --- edge-enhancing diffusion -----------------------------------------------------------------


def test_eed_with_huge_contrast_is_linear_diffusion():
    rng = np.random.default_rng(4)
    image = rng.random((24, 28))
    out = edge_enhancing_diffusion_filter(image, contrast=1e6, presmooth=1.0, iterations=5, step=0.2)
    assert np.allclose(out, explicit_heat_steps(image, 5, 0.2), atol=1e-9)


def test_eed_conserves_the_mean_and_smooths_along_but_not_across_an_edge():
    rng = np.random.default_rng(5)
    clean, noisy = noisy_step(rng)
    out = edge_enhancing_diffusion_filter(noisy, contrast=0.02, presmooth=1.5, iterations=40, step=0.2)
    assert out.mean() == pytest.approx(noisy.mean(), abs=1e-10)
    assert float(np.mean(out[:, 20] - out[:, 19])) > 0.8  # the edge stays sharp
    # Away from the edge the noise is smoothed away.
    assert np.std(out[:, 5:15]) < 0.3 * np.std(noisy[:, 5:15])


def test_eed_colour_channels_share_one_tensor():
    rng = np.random.default_rng(6)
    gray = rng.random((20, 20))
    rgb = np.stack([gray, gray, gray], axis=2)
    out_gray = edge_enhancing_diffusion_filter(gray, 0.05, 1.0, 6)
    out_rgb = edge_enhancing_diffusion_filter(rgb, 0.05 * math.sqrt(3), 1.0, 6)
    # Three equal channels have 3x the structure tensor: a sqrt(3) larger contrast gives the same flow.
    for c in range(3):
        assert np.allclose(out_rgb[:, :, c], out_gray, atol=1e-10)


# --- bilateral --------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", [False, True])
def test_bilateral_range_kernel_matches_scikit_image(colour):
    # Compared with uniform spatial weights: scikit-image 0.26 builds its spatial table from
    # arange(-win // 2, win // 2 + 1) (one tap too many for odd windows) and reads it with stride
    # `win`, so its spatial weights are shifted; its range kernel is the textbook one, except that
    # for colour it divides the Euclidean distance by the number of channels (hence 3·σ here).
    rng = np.random.default_rng(7)
    image = rng.random((30, 34, 3) if colour else (30, 34))
    sigma_r, radius = 0.2, 4
    ours = bilateral_filter(image, 1e9, sigma_r * (3 if colour else 1), radius)
    theirs = denoise_bilateral(
        image,
        win_size=2 * radius + 1,
        sigma_color=sigma_r,
        sigma_spatial=1e9,
        bins=100_000,
        mode="symmetric",
        channel_axis=-1 if colour else None,
    )
    # scikit-image looks the range weight up in a table of `bins` entries (floor): ~1e-5.
    assert np.max(np.abs(ours - theirs)) < 5e-5


def test_bilateral_matches_a_brute_force_implementation_of_its_definition():
    rng = np.random.default_rng(17)
    image = rng.random((12, 13, 3))
    ours = bilateral_filter(image, 1.3, 0.25, radius=3)
    padded = np.pad(image, ((3, 3), (3, 3), (0, 0)), mode="symmetric")
    expected = np.zeros_like(image)
    for i in range(12):
        for j in range(13):
            num, den = np.zeros(3), 0.0
            for a in range(-3, 4):
                for b in range(-3, 4):
                    y = padded[i + 3 + a, j + 3 + b]
                    w = math.exp(
                        -(a * a + b * b) / (2 * 1.3**2) - np.sum((y - image[i, j]) ** 2) / (2 * 0.25**2)
                    )
                    num += w * y
                    den += w
            expected[i, j] = num / den
    assert np.max(np.abs(ours - expected)) < 1e-12


def test_bilateral_with_huge_range_sigma_is_a_gaussian_blur():
    rng = np.random.default_rng(8)
    image = rng.random((24, 24))
    ours = bilateral_filter(image, 1.0, 1e6, radius=4)
    taps = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    kernel = np.outer(taps, taps) / np.outer(taps, taps).sum()
    padded = np.pad(image, 4, mode="symmetric")
    expected = sum(kernel[a, b] * padded[a : a + 24, b : b + 24] for a in range(9) for b in range(9))
    assert np.allclose(ours, expected, atol=1e-12)


# --- non-local means --------------------------------------------------------------------------


def brute_force_nlm(image, h, noise, f, t, center):
    """Direct per-pixel NLM (the definition in `nl_means`' docstring), for small gray images."""
    pad = f + t
    p = np.pad(image, pad, mode="reflect")
    out = np.zeros_like(image)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            ci, cj = i + pad, j + pad
            ref = p[ci - f : ci + f + 1, cj - f : cj + f + 1]
            weights, values = [], []
            for di in range(-t, t + 1):
                for dj in range(-t, t + 1):
                    if di == dj == 0:
                        continue
                    cand = p[ci + di - f : ci + di + f + 1, cj + dj - f : cj + dj + f + 1]
                    d2 = np.mean((cand - ref) ** 2)
                    weights.append(math.exp(-max(d2 - 2 * noise**2, 0.0) / h**2))
                    values.append(p[ci + di, cj + dj])
            w0 = max(weights) if center == "max" else 1.0
            out[i, j] = (np.dot(weights, values) + w0 * image[i, j]) / (sum(weights) + w0)
    return out


@pytest.mark.parametrize("center", ["max", "one"])
def test_nlm_matches_a_brute_force_implementation_of_its_definition(center):
    rng = np.random.default_rng(9)
    image = rng.random((14, 15))
    ours = nl_means(image, h=0.3, noise_std=0.1, patch_radius=1, search_radius=3, center_weight=center)
    assert np.max(np.abs(ours - brute_force_nlm(image, 0.3, 0.1, 1, 3, center))) < 1e-6


def test_nlm_denoises_like_scikit_image_fast_mode(gray, psnr):
    # The same method as scikit-image's fast mode (uniform patch weights, 2σ² subtracted), which
    # however sums an asymmetric (s-1)² box normalised by s², counts the centre twice, drops
    # weights below e^-5 and uses an approximate exponential: no bit-level agreement is possible,
    # so the check is that both reach the same quality and nearly the same image.
    rng = np.random.default_rng(10)
    noisy = gray + 0.1 * rng.standard_normal(gray.shape)
    ours = nl_means(noisy, h=0.08, noise_std=0.1, patch_radius=2, search_radius=5, center_weight="one")
    theirs = denoise_nl_means(noisy, patch_size=5, patch_distance=5, h=0.08, sigma=0.1, fast_mode=True)
    assert psnr(ours, gray) > psnr(noisy, gray) + 5.0
    assert abs(psnr(ours, gray) - psnr(theirs, gray)) < 0.3
    assert np.mean(np.abs(ours - theirs)) < 0.015


@pytest.mark.parametrize(("channels", "center"), [(1, "max"), (3, "one")])
def test_nlm_cpu_kernel_equals_the_torch_path(channels, center):
    # The torch code is what runs on CUDA; on the CPU the compiled kernel replaces it.
    import torch

    from reference_methods import filtering

    rng = np.random.default_rng(12)
    image = rng.random((23, 19) if channels == 1 else (23, 19, 3))
    f, t = 2, 4
    pad = 2 * t + f
    xp = np.pad(filtering._as_hwc(image), ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    torch_out = filtering._nl_means_torch(xp, 23, 19, f, t, 0.15, 0.05, center, image, torch.device("cpu"))
    assert np.abs(nl_means(image, 0.15, 0.05, f, t, center) - torch_out).max() < 1e-6


@pytest.mark.parametrize("channels", [1, 3])
def test_nlm_inpainting_cpu_kernel_equals_the_torch_path(channels):
    import torch

    from reference_methods import filtering

    rng = np.random.default_rng(13)
    image = rng.random((26, 21) if channels == 1 else (26, 21, 3))
    mask = np.zeros((26, 21), dtype=bool)
    mask[8:14, 5:12] = True
    mask[rng.random((26, 21)) < 0.1] = True
    u = filtering._as_hwc(image)
    conf = np.where(mask, 0.1, 1.0)
    kernel = filtering._nlm_inpaint_cpu(u, mask, conf, 0.1, 2, 3, 3)
    torch_out = filtering._nlm_inpaint_torch(u, mask, conf, 0.1, 2, 3, 3, torch.device("cpu"))
    assert np.abs(kernel - torch_out).max() < 1e-6


def test_nlm_rgb_uses_one_weight_for_all_channels():
    rng = np.random.default_rng(11)
    gray = rng.random((16, 16))
    rgb = np.stack([gray] * 3, axis=2)
    out = nl_means(rgb, 0.2, 0.05, 1, 3)
    for c in range(3):
        assert np.allclose(out[:, :, c], nl_means(gray, 0.2, 0.05, 1, 3), atol=1e-6)


def test_nlm_refuses_an_image_smaller_than_its_window():
    with pytest.raises(MethodError, match="too small"):
        restore("nlm", np.zeros((8, 8)), RestorationContext("denoise", sigma=25))


# --- domain transform -------------------------------------------------------------------------


@pytest.mark.parametrize("sigma_s", [2.0, 5.0])
def test_domain_transform_without_edges_has_the_recursive_filters_variance(sigma_s):
    impulse = np.zeros((1, 301))
    impulse[0, 150] = 1.0
    response = domain_transform_filter(impulse, sigma_s, 1e12, iterations=3)[0]
    x = np.arange(301) - 150
    # Each pass pair (causal + anti-causal, feedback a) adds 2a / (1 - a)² to the variance.
    expected = 0.0
    for i in range(3):
        sigma_h = sigma_s * math.sqrt(3) * 2 ** (3 - i - 1) / math.sqrt(4**3 - 1)
        a = math.exp(-math.sqrt(2) / sigma_h)
        expected += 2 * a / (1 - a) ** 2
    assert response.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.sum(response * x * x) == pytest.approx(expected, rel=1e-6)
    assert math.sqrt(expected) == pytest.approx(sigma_s, rel=0.1)  # the paper's design target


def test_domain_transform_does_not_mix_across_a_strong_edge():
    rng = np.random.default_rng(12)
    clean, noisy = noisy_step(rng, noise=0.02)
    out = domain_transform_filter(noisy, sigma_s=8.0, sigma_r=0.05, iterations=3)
    columns = out.mean(axis=0)
    assert np.abs(columns[:20]).max() < 0.02
    assert np.abs(columns[20:] - 1.0).max() < 0.02
    assert np.std(out[:, :18]) < 0.5 * np.std(noisy[:, :18])


# --- NLM inpainting ---------------------------------------------------------------------------


def test_nlm_inpaint_keeps_known_pixels_and_continues_a_texture_biharmonic_cannot():
    columns = np.sign(np.sin(2 * np.pi * (np.arange(48) + 0.5) / 8))
    stripes = 0.5 + 0.4 * columns[None, :] * np.ones((48, 1))
    mask = np.zeros((48, 48), dtype=bool)
    mask[18:30, 18:30] = True
    degraded = np.where(mask, 0.0, stripes)
    out = nlm_inpaint_filter(
        degraded, mask, h=0.05, patch_radius=3, search_radius=12, iterations=10, filled_confidence=0.1
    )
    smooth = fill_missing(degraded, mask, order=2)
    assert np.array_equal(out[~mask], stripes[~mask])
    assert np.mean((smooth[mask] - stripes[mask]) ** 2) > 0.05  # the smooth fill greys the stripes out
    assert np.mean((out[mask] - stripes[mask]) ** 2) < 1e-4  # exemplars copy them


def test_nlm_inpaint_needs_a_bool_mask_with_something_known():
    image = np.zeros((32, 32))
    with pytest.raises(MethodError, match="every pixel is missing"):
        restore("nlm_inpaint", image, RestorationContext("inpaint", mask=np.ones((32, 32), dtype=bool)))


def test_filtering_defaults_grow_with_the_noise_level():
    for name, key in [
        ("gaussian", "std"),
        ("bilateral", "sigma_range"),
        ("nlm", "h"),
        ("perona_malik", "kappa"),
    ]:
        low = get_method(name).parameters(RestorationContext("denoise", sigma=15))[key]
        high = get_method(name).parameters(RestorationContext("denoise", sigma=50))[key]
        assert high > low, name
