"""Filtering baselines: Gaussian smoothing, nonlinear diffusion, bilateral, non-local means and the
domain transform.

Array convention (as everywhere in `reference_methods`): numpy float64, (H, W) gray or (H, W, 3) RGB,
intensities on [0, 1]; the noise level `context.sigma` is on the 0-255 scale. Every filter here works
internally on an (H, W, C) view and returns the input's shape. Boundaries are handled by half-sample
symmetric extension (the edge pixel repeated: scipy's ``reflect``, numpy's ``symmetric``) unless a
docstring says otherwise.

Registered methods (denoising unless said):

- ``gaussian`` — isotropic Gaussian smoothing.
- ``perona_malik`` — Perona & Malik (1990) anisotropic diffusion, explicit 4-neighbour scheme.
- ``edge_enhancing_diffusion`` — Weickert's tensor-driven edge-enhancing diffusion (1994/1998).
- ``bilateral`` — Tomasi & Manduchi (1998).
- ``nlm`` — pixelwise non-local means, Buades, Coll & Morel (2005), with the noise-variance-aware
  weights of their 2011 IPOL description.
- ``domain_transform`` — Gastal & Oliveira (2011) edge-preserving filtering, recursive-filter variant.
- ``nlm_inpaint`` (inpainting) — exemplar inpainting by iterated non-local means whose patch
  distances count only trusted pixels (in the spirit of Wong & Orchard 2008).

Default parameters are functions of σ, tuned on Train400 crops (validation data, never the test
sets): `bench/tune_classic_methods.py` reproduces the tuning; the tables below record its result and
are interpolated linearly in σ (held constant beyond the last tuned σ).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from reference_methods.nlm_kernels import nl_means_kernel, nlm_inpaint_step
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method

# ---------------------------------------------------------------------------------------------
# Shared plumbing


def _parameters(name: str, context: RestorationContext) -> dict[str, Any]:
    return get_method(name).parameters(context)


def _check(condition: bool, method: str, message: str) -> None:
    if not condition:
        raise MethodError(f"{method}: {message}")


def tuned(sigma: float | None, table: Mapping[float, float]) -> float:
    """A tuned parameter at noise level `sigma` (0-255): linear between the tuned σ, clamped outside."""
    keys = sorted(table)
    return float(np.interp(float(sigma or 0.0), keys, [table[k] for k in keys]))


def _noise01(sigma: float | None) -> float:
    """σ on the [0, 1] intensity scale, floored at 1/255 so that σ = 0 still gives valid strengths."""
    return max(float(sigma or 0.0), 1.0) / 255.0


def _as_hwc(image: np.ndarray) -> np.ndarray:
    return image[:, :, None] if image.ndim == 2 else image


def _like_input(result: np.ndarray, image: np.ndarray) -> np.ndarray:
    return result[:, :, 0] if image.ndim == 2 else result


def torch_device() -> torch.device:
    """The device the torch-vectorised filters run on: CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---------------------------------------------------------------------------------------------
# Gaussian smoothing

GAUSSIAN_STD = {0: 0.0, 5: 0.4, 15: 0.6, 25: 0.8, 50: 1.6}  # pixels


def gaussian_filter(image: np.ndarray, std: float) -> np.ndarray:
    """Isotropic Gaussian smoothing of each channel; std in pixels, kernel truncated at 4 std."""
    if std == 0:
        return image.copy()
    sig = (std, std) if image.ndim == 2 else (std, std, 0)
    return ndimage.gaussian_filter(image, sig, mode="reflect", truncate=4.0)


@register_method(
    "gaussian",
    family="filtering",
    tasks=("denoise",),
    citation="R. C. Gonzalez and R. E. Woods, Digital Image Processing, 4th ed., Pearson, 2018, "
    "sec. 3.5 (Gaussian smoothing filters)",
    defaults=lambda ctx: {"std": tuned(ctx.sigma, GAUSSIAN_STD)},
)
def gaussian(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Gaussian low-pass filtering with a noise-dependent standard deviation (pixels)."""
    p = _parameters("gaussian", context)
    _check(p["std"] >= 0, "gaussian", f"std must be >= 0 pixels, got {p['std']}")
    return gaussian_filter(degraded, float(p["std"]))


# ---------------------------------------------------------------------------------------------
# Perona–Malik anisotropic diffusion

PM_KAPPA = {5: 3.0, 15: 2.5, 25: 2.5, 50: 2.0}  # edge-stopping contrast, in units of σ
PM_ITERATIONS = {0: 0, 5: 4, 15: 7, 25: 8, 50: 16}  # explicit steps of size 0.1


def _neumann_divergence(flux_x: np.ndarray, flux_y: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Divergence of fluxes living on the edges between pixels, with zero flux across the border.

    flux_x: (H, W-1, C), the flux between pixel (i, j) and (i, j+1); flux_y: (H-1, W, C) likewise.
    """
    div = np.zeros(shape)
    div[:, :-1] += flux_x
    div[:, 1:] -= flux_x
    div[:-1] += flux_y
    div[1:] -= flux_y
    return div


def perona_malik_diffusion(
    image: np.ndarray,
    kappa: float,
    iterations: int,
    step: float = 0.2,
    conductance: str = "exponential",
    presmooth: float = 0.0,
) -> np.ndarray:
    """Perona–Malik diffusion u_t = div(g(|∇u|) ∇u), explicit 4-neighbour scheme (their eq. 8).

    image: (H, W) or (H, W, C) on [0, 1]. kappa: the edge-stopping contrast in intensity units;
    g(s) = exp(-(s/kappa)^2) ("exponential") or 1 / (1 + (s/kappa)^2) ("rational"), Perona & Malik's
    two conductances. For colour images g is driven by the channel-summed squared difference, so all
    channels stop at the same edges. presmooth > 0 evaluates g on a Gaussian-smoothed image (Catté,
    Lions, Morel & Coll 1992, which makes the problem well-posed). Zero flux across the image border.
    The explicit scheme is stable (a maximum principle holds) for step <= 0.25.
    """
    u = _as_hwc(image).astype(np.float64, copy=True)
    inv_k2 = 1.0 / (kappa * kappa)
    for _ in range(iterations):
        guide = ndimage.gaussian_filter(u, (presmooth, presmooth, 0), mode="reflect") if presmooth > 0 else u
        sx = np.sum((guide[:, 1:] - guide[:, :-1]) ** 2, axis=2, keepdims=True) * inv_k2
        sy = np.sum((guide[1:] - guide[:-1]) ** 2, axis=2, keepdims=True) * inv_k2
        if conductance == "exponential":
            gx, gy = np.exp(-sx), np.exp(-sy)
        else:
            gx, gy = 1.0 / (1.0 + sx), 1.0 / (1.0 + sy)
        u += step * _neumann_divergence(gx * (u[:, 1:] - u[:, :-1]), gy * (u[1:] - u[:-1]), u.shape)
    return _like_input(u, image)


@register_method(
    "perona_malik",
    family="filtering",
    tasks=("denoise",),
    citation="P. Perona and J. Malik, Scale-space and edge detection using anisotropic diffusion, "
    "IEEE TPAMI 12(7):629-639, 1990",
    defaults=lambda ctx: {
        "kappa": tuned(ctx.sigma, PM_KAPPA) * _noise01(ctx.sigma),
        "iterations": int(round(tuned(ctx.sigma, PM_ITERATIONS))),
        "step": 0.1,
        "conductance": "exponential",
        "presmooth": 0.0,
    },
)
def perona_malik(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Perona–Malik nonlinear diffusion (explicit scheme, exponential conductance by default)."""
    p = _parameters("perona_malik", context)
    _check(p["kappa"] > 0, "perona_malik", f"kappa must be > 0 (intensity units), got {p['kappa']}")
    _check(p["iterations"] >= 0, "perona_malik", f"iterations must be >= 0, got {p['iterations']}")
    _check(0 < p["step"] <= 0.25, "perona_malik", f"step must be in (0, 0.25] for stability, got {p['step']}")
    _check(p["presmooth"] >= 0, "perona_malik", f"presmooth must be >= 0 pixels, got {p['presmooth']}")
    _check(
        p["conductance"] in ("exponential", "rational"),
        "perona_malik",
        f"conductance must be 'exponential' or 'rational', got {p['conductance']!r}",
    )
    return perona_malik_diffusion(
        degraded, p["kappa"], p["iterations"], p["step"], p["conductance"], p["presmooth"]
    )


# ---------------------------------------------------------------------------------------------
# Edge-enhancing diffusion (Weickert)

EED_CONTRAST = {5: 0.7, 15: 0.7, 25: 0.7, 50: 0.3}  # λ, in units of σ
EED_PRESMOOTH = {5: 0.7, 15: 0.5, 25: 0.5, 50: 0.5}  # pixels
EED_ITERATIONS = {0: 0, 5: 1, 15: 5, 25: 7, 50: 36}  # explicit steps of size 0.1
# Weickert's constant for m = 4: makes the flux g(s²)·s decrease for s > λ.
_EED_C4 = 3.31488


def _central(u: np.ndarray, axis: int) -> np.ndarray:
    """Central difference (u[i+1] - u[i-1]) / 2 along `axis` with the edge pixel repeated outside."""
    pad = [(0, 0)] * u.ndim
    pad[axis] = (1, 1)
    p = np.pad(u, pad, mode="edge")
    n = u.shape[axis]
    return 0.5 * (np.take(p, range(2, n + 2), axis=axis) - np.take(p, range(0, n), axis=axis))


def _half(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean of neighbours along `axis`: values on the edges between pixels (one fewer entry)."""
    return 0.5 * (values[1:] + values[:-1]) if axis == 0 else 0.5 * (values[:, 1:] + values[:, :-1])


def edge_enhancing_diffusion_filter(
    image: np.ndarray, contrast: float, presmooth: float, iterations: int, step: float = 0.2
) -> np.ndarray:
    """Weickert's edge-enhancing diffusion u_t = div(D(∇u_σ) ∇u), explicit scheme.

    D has eigenvectors v1 ∥ ∇u_σ and v2 ⊥ ∇u_σ with eigenvalues λ1 = g(|∇u_σ|²) (across edges) and
    λ2 = 1 (along edges), g(s²) = 1 - exp(-3.31488 / (s²/λ²)^4) (Weickert 1998, sec. 5.1). For colour
    images |∇u_σ|² and the edge direction come from the summed structure tensor Σ_c ∇u_c ∇u_cᵀ (Di
    Zenzo), so one tensor drives all channels. Discretisation in divergence form: the flux D∇u is
    evaluated on the edges between pixels (the normal derivative by a forward difference, the
    tangential one and the tensor entries averaged from the two pixels), and its divergence taken
    with zero flux across the border, so the mean grey value is conserved exactly. contrast λ is in
    intensity units, presmooth σ in pixels; step <= 0.25.
    """
    u = _as_hwc(image).astype(np.float64, copy=True)
    lam2 = contrast * contrast
    for _ in range(iterations):
        us = ndimage.gaussian_filter(u, (presmooth, presmooth, 0), mode="reflect") if presmooth > 0 else u
        gx, gy = _central(us, 1), _central(us, 0)
        j11 = np.sum(gx * gx, axis=2)
        j12 = np.sum(gx * gy, axis=2)
        j22 = np.sum(gy * gy, axis=2)
        mu1 = 0.5 * (j11 + j22) + np.sqrt(0.25 * (j11 - j22) ** 2 + j12 * j12)
        theta = 0.5 * np.arctan2(2.0 * j12, j11 - j22)  # direction of v1 (across the edge)
        cos, sin = np.cos(theta), np.sin(theta)
        with np.errstate(divide="ignore", over="ignore"):
            ratio = (mu1 / lam2) ** 4
            lam_across = np.where(mu1 > 0, 1.0 - np.exp(-_EED_C4 / ratio), 1.0)
        a = (lam_across * cos * cos + sin * sin)[:, :, None]
        b = ((lam_across - 1.0) * cos * sin)[:, :, None]
        c = (lam_across * sin * sin + cos * cos)[:, :, None]
        # Fluxes j = D∇u on the edges between pixels: the normal derivative by a forward
        # difference, the tangential one by averaging the two central differences beside the edge.
        ux, uy = _central(u, 1), _central(u, 0)
        flux_x = _half(a, 1) * (u[:, 1:] - u[:, :-1]) + _half(b, 1) * _half(uy, 1)
        flux_y = _half(c, 0) * (u[1:] - u[:-1]) + _half(b, 0) * _half(ux, 0)
        u += step * _neumann_divergence(flux_x, flux_y, u.shape)
    return _like_input(u, image)


@register_method(
    "edge_enhancing_diffusion",
    family="filtering",
    tasks=("denoise",),
    citation="J. Weickert, Anisotropic Diffusion in Image Processing, Teubner, 1998, sec. 5.1 "
    "(edge-enhancing diffusion); J. Weickert, Theoretical foundations of anisotropic diffusion in "
    "image processing, Computing Suppl. 11:221-236, 1996",
    defaults=lambda ctx: {
        "contrast": tuned(ctx.sigma, EED_CONTRAST) * _noise01(ctx.sigma),
        "presmooth": tuned(ctx.sigma, EED_PRESMOOTH),
        "iterations": int(round(tuned(ctx.sigma, EED_ITERATIONS))),
        "step": 0.1,
    },
)
def edge_enhancing_diffusion(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Weickert's tensor-driven edge-enhancing anisotropic diffusion."""
    p = _parameters("edge_enhancing_diffusion", context)
    m = "edge_enhancing_diffusion"
    _check(p["contrast"] > 0, m, f"contrast must be > 0 (intensity units), got {p['contrast']}")
    _check(p["presmooth"] >= 0, m, f"presmooth must be >= 0 pixels, got {p['presmooth']}")
    _check(p["iterations"] >= 0, m, f"iterations must be >= 0, got {p['iterations']}")
    _check(0 < p["step"] <= 0.25, m, f"step must be in (0, 0.25], got {p['step']}")
    return edge_enhancing_diffusion_filter(
        degraded, p["contrast"], p["presmooth"], p["iterations"], p["step"]
    )


# ---------------------------------------------------------------------------------------------
# Bilateral filter

BILATERAL_SPATIAL = {5: 1.0, 15: 1.5, 25: 1.5, 50: 2.0}  # pixels
BILATERAL_RANGE = {5: 2.0, 15: 2.5, 25: 2.5, 50: 4.0}  # in units of σ


def bilateral_filter(
    image: np.ndarray, sigma_spatial: float, sigma_range: float, radius: int | None = None
) -> np.ndarray:
    """Bilateral filter (Tomasi & Manduchi 1998), brute force over a square window.

    out(x) = Σ_y w(x, y) I(y) / Σ_y w(x, y), w = exp(-|x-y|² / 2σs²) · exp(-‖I(x)-I(y)‖² / 2σr²),
    y over the (2·radius+1)² window (radius defaults to ceil(3σs)), ‖·‖ the Euclidean distance over
    channels, σs in pixels, σr in intensity units. Symmetric (edge-repeating) extension.
    Vectorised over the image, one pass per window offset.
    """
    r = int(math.ceil(3.0 * sigma_spatial)) if radius is None else int(radius)
    x = _as_hwc(image).astype(np.float64, copy=False)
    h, w, _ = x.shape
    xp = np.pad(x, ((r, r), (r, r), (0, 0)), mode="symmetric")
    num = np.zeros_like(x)
    den = np.zeros((h, w, 1))
    inv_s = 1.0 / (2.0 * sigma_spatial * sigma_spatial)
    inv_r = 1.0 / (2.0 * sigma_range * sigma_range)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            shifted = xp[r + dy : r + dy + h, r + dx : r + dx + w]
            d2 = np.sum((shifted - x) ** 2, axis=2, keepdims=True)
            wt = np.exp(-(dy * dy + dx * dx) * inv_s - d2 * inv_r)
            num += wt * shifted
            den += wt
    return _like_input(num / den, image)


@register_method(
    "bilateral",
    family="filtering",
    tasks=("denoise",),
    citation="C. Tomasi and R. Manduchi, Bilateral filtering for gray and color images, ICCV 1998",
    defaults=lambda ctx: {
        "sigma_spatial": tuned(ctx.sigma, BILATERAL_SPATIAL),
        "sigma_range": tuned(ctx.sigma, BILATERAL_RANGE) * _noise01(ctx.sigma),
        "radius": None,
    },
)
def bilateral(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Bilateral filtering: Gaussian in space times Gaussian in intensity."""
    p = _parameters("bilateral", context)
    _check(p["sigma_spatial"] > 0, "bilateral", f"sigma_spatial must be > 0 pixels, got {p['sigma_spatial']}")
    _check(p["sigma_range"] > 0, "bilateral", f"sigma_range must be > 0 (intensity), got {p['sigma_range']}")
    r = p["radius"]
    _check(
        r is None or (isinstance(r, int) and 0 <= r <= 50),
        "bilateral",
        f"radius must be an integer in [0, 50] or None, got {r!r}",
    )
    return bilateral_filter(degraded, p["sigma_spatial"], p["sigma_range"], r)


# ---------------------------------------------------------------------------------------------
# Non-local means

# Tuned jointly (patch radius and h) on Train400: small 3x3 patches with a large h up to σ = 15,
# growing patches with a smaller h at high noise, as in the IPOL table of Buades, Coll & Morel (2011)
# (3x3 / 5x5 / 7x7 / 9x9); search window 21x21. (At σ = 25, 3x3 and 5x5 patches tie to 0.01 dB; 5x5
# is kept so the patch grows monotonically.)
NLM_H = {5: 0.25, 15: 0.85, 25: 0.6, 50: 0.45}  # in units of σ
NLM_PATCH_RADIUS = {5: 1, 15: 1, 25: 2, 50: 4}


def _nlm_patch_radius(sigma: float | None) -> int:
    return int(round(tuned(sigma, NLM_PATCH_RADIUS)))


def nl_means(
    image: np.ndarray,
    h: float,
    noise_std: float,
    patch_radius: int,
    search_radius: int,
    center_weight: str = "max",
) -> np.ndarray:
    """Pixelwise non-local means (Buades, Coll & Morel 2005; IPOL 2011 weights).

    out(x) = Σ_y w(x, y) I(y) / Σ_y w(x, y) over the (2·search_radius+1)² window, with
    w(x, y) = exp(-max(d²(x, y) - 2·noise_std², 0) / h²) and d² the mean squared difference of the
    (2·patch_radius+1)² patches around x and y, averaged over channels (uniform patch weights).
    The centre weight w(x, x) is the largest weight of the other pixels ("max", as in the 2005
    paper, so the noisy centre does not dominate) or 1 ("one", as scikit-image's fast mode does).
    h and noise_std are in intensity units. Reflective extension (numpy ``reflect``) at the border.

    Implementation: w(x, x+δ) = w(x+δ, x), so each offset δ of one half of the window is computed
    once and credited to both pixels (Darbon et al. 2008's trick); patch sums are box filters.
    Distances in float32, accumulation in float64: a compiled numba kernel on the CPU
    (`nlm_kernels`), torch on CUDA when present (not GPU-verified here).
    """
    f, t = int(patch_radius), int(search_radius)
    x_hwc = _as_hwc(image)
    hh, ww, _ = x_hwc.shape
    pad = 2 * t + f  # the extended box [-t, H+t) around the image, plus patch margins
    xp_np = np.pad(x_hwc, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    device = torch_device()
    if device.type == "cpu":
        planes = np.ascontiguousarray(np.moveaxis(xp_np, 2, 0), dtype=np.float64)
        out = nl_means_kernel(
            planes,
            planes.astype(np.float32).astype(np.float64),
            hh,
            ww,
            f,
            t,
            2.0 * noise_std * noise_std,
            1.0 / (h * h),
            center_weight == "max",
        )
        return _like_input(np.moveaxis(out, 0, 2), image)
    return _nl_means_torch(xp_np, hh, ww, f, t, h, noise_std, center_weight, image, device)


def _nl_means_torch(
    xp_np: np.ndarray,
    hh: int,
    ww: int,
    f: int,
    t: int,
    h: float,
    noise_std: float,
    center_weight: str,
    image: np.ndarray,
    device: torch.device,
) -> np.ndarray:
    """`nl_means` in torch (the CUDA path; on the CPU the compiled kernel is used instead)."""
    pad = 2 * t + f
    xp = torch.as_tensor(np.moveaxis(xp_np, 2, 0).copy(), dtype=torch.float64, device=device)
    xp32 = xp.float()
    eh, ew = hh + 2 * t, ww + 2 * t  # extended box size
    lo = pad - t - f  # top-left of the extended box with its patch margin
    ref = xp32[:, lo : lo + eh + 2 * f, lo : lo + ew + 2 * f]
    num = torch.zeros((xp.shape[0], hh, ww), dtype=torch.float64, device=device)
    den = torch.zeros((hh, ww), dtype=torch.float64, device=device)
    wmax = torch.zeros_like(den)
    offset2 = 2.0 * noise_std * noise_std
    inv_h2 = 1.0 / (h * h)
    k = 2 * f + 1

    def image_at(dy: int, dx: int) -> torch.Tensor:
        return xp[:, pad + dy : pad + dy + hh, pad + dx : pad + dx + ww]

    for dy in range(0, t + 1):
        dxs = list(range(1, t + 1)) if dy == 0 else list(range(-t, t + 1))
        if not dxs:
            continue
        # (n, C, H+2t+2f, W+2t+2f) views of the image shifted by (dy, dx) for each dx: no copies.
        rows = xp32[:, lo + dy : lo + dy + eh + 2 * f]
        shifted = rows.unfold(2, ew + 2 * f, 1)[:, :, lo + dxs[0] : lo + dxs[-1] + 1].permute(2, 0, 1, 3)
        d2 = ((shifted - ref[None]) ** 2).mean(dim=1, keepdim=True)
        # Separable box filter: (n, H+2t, W+2t), the patch-mean squared difference.
        d2 = F.avg_pool2d(F.avg_pool2d(d2, (k, 1), stride=1), (1, k), stride=1)[:, 0]
        weights = torch.exp(-torch.clamp(d2 - offset2, min=0.0) * inv_h2).double()
        for i, dx in enumerate(dxs):
            forward = weights[i, t : t + hh, t : t + ww]  # w(x, x+δ) for x in the image
            backward = weights[i, t - dy : t - dy + hh, t - dx : t - dx + ww]  # w(y-δ, y) for y in the image
            num += forward * image_at(dy, dx) + backward * image_at(-dy, -dx)
            den += forward + backward
            wmax = torch.maximum(wmax, torch.maximum(forward, backward))
    w0 = wmax if center_weight == "max" else torch.ones_like(wmax)
    w0 = torch.where(w0 > 0, w0, torch.ones_like(w0))  # a pixel unlike all its neighbours keeps its value
    out = (num + w0 * image_at(0, 0)) / (den + w0)
    return _like_input(np.moveaxis(out.cpu().numpy(), 0, 2), image)


@register_method(
    "nlm",
    family="filtering",
    tasks=("denoise",),
    citation="A. Buades, B. Coll and J.-M. Morel, A non-local algorithm for image denoising, CVPR 2005; "
    "Non-local means denoising, Image Processing On Line 1:208-212, 2011",
    defaults=lambda ctx: {
        "h": tuned(ctx.sigma, NLM_H) * _noise01(ctx.sigma),
        "patch_radius": _nlm_patch_radius(ctx.sigma),
        "search_radius": 10,
        "center_weight": "max",
    },
)
def nlm(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Non-local means: average of pixels whose surrounding patches look alike."""
    p = _parameters("nlm", context)
    _check(p["h"] > 0, "nlm", f"h must be > 0 (intensity units), got {p['h']}")
    _check(0 <= p["patch_radius"] <= 10, "nlm", f"patch_radius must be in [0, 10], got {p['patch_radius']}")
    _check(
        1 <= p["search_radius"] <= 30, "nlm", f"search_radius must be in [1, 30], got {p['search_radius']}"
    )
    _check(
        p["center_weight"] in ("max", "one"),
        "nlm",
        f"center_weight must be 'max' or 'one', got {p['center_weight']!r}",
    )
    h, w = degraded.shape[:2]
    _check(
        min(h, w) > p["patch_radius"] + p["search_radius"],
        "nlm",
        f"image {h}x{w} is too small for patch_radius + search_radius = "
        f"{p['patch_radius'] + p['search_radius']}",
    )
    noise = float(context.sigma) / 255.0
    return nl_means(degraded, p["h"], noise, p["patch_radius"], p["search_radius"], p["center_weight"])


# ---------------------------------------------------------------------------------------------
# Domain transform (Gastal & Oliveira 2011), recursive-filter variant

DT_SIGMA_S = {5: 2.0, 15: 3.0, 25: 4.0, 50: 3.0}  # pixels
DT_SIGMA_R = {5: 4.0, 15: 4.0, 25: 4.0, 50: 12.0}  # in units of σ


def _recursive_pass(values: np.ndarray, feedback: np.ndarray) -> np.ndarray:
    """One left-to-right then right-to-left first-order recursive filter along axis 1.

    values: (H, W, C); feedback: (H, W-1, 1), a^d between column j and j+1.
    J[j] = (1 - f[j]) I[j] + f[j] J[j-1], then backwards J[j] = (1 - f[j]) J[j] + f[j] J[j+1]
    (Gastal & Oliveira 2011, eq. 21), vectorised over rows and channels.
    """
    out = values.copy()
    w = out.shape[1]
    for j in range(1, w):
        fb = feedback[:, j - 1]
        out[:, j] += fb * (out[:, j - 1] - out[:, j])
    for j in range(w - 2, -1, -1):
        fb = feedback[:, j]
        out[:, j] += fb * (out[:, j + 1] - out[:, j])
    return out


def domain_transform_filter(
    image: np.ndarray, sigma_s: float, sigma_r: float, iterations: int = 3, guide: np.ndarray | None = None
) -> np.ndarray:
    """Edge-preserving smoothing by the domain transform, recursive filtering (RF) variant.

    Gastal & Oliveira, "Domain transform for edge-aware image and video processing", SIGGRAPH 2011:
    the 1-D transform ct'(x) = 1 + (σs/σr) Σ_c |I'_c(x)| (eq. 11, discretised with the L1 norm of
    the neighbour differences of the guide), filtered by the recursive filter with feedback
    a^d, a = exp(-√2 / σ_Hi) (eq. 21); horizontal then vertical passes repeated `iterations` times
    with σ_Hi = σs·√3·2^(N-i)/√(4^N - 1) (eq. 14), so the N iterations together have std σs.
    σs in pixels, σr in intensity units; the guide (default: the image itself) sets the edges.
    """
    x = _as_hwc(image).astype(np.float64, copy=True)
    g = _as_hwc(image if guide is None else guide).astype(np.float64, copy=False)
    ratio = sigma_s / sigma_r
    dh = 1.0 + ratio * np.sum(np.abs(np.diff(g, axis=1)), axis=2, keepdims=True)  # (H, W-1, 1)
    dv = 1.0 + ratio * np.sum(np.abs(np.diff(g, axis=0)), axis=2, keepdims=True)  # (H-1, W, 1)
    dv_t = np.transpose(dv, (1, 0, 2))  # rows become columns, so the same pass filters vertically
    n = iterations
    for i in range(n):
        sigma_h = sigma_s * math.sqrt(3.0) * 2.0 ** (n - i - 1) / math.sqrt(4.0**n - 1.0)
        a = math.exp(-math.sqrt(2.0) / sigma_h)
        x = _recursive_pass(x, a**dh)
        x = np.transpose(_recursive_pass(np.transpose(x, (1, 0, 2)), a**dv_t), (1, 0, 2))
    return _like_input(np.ascontiguousarray(x), image)


@register_method(
    "domain_transform",
    family="filtering",
    tasks=("denoise",),
    citation="E. S. L. Gastal and M. M. Oliveira, Domain transform for edge-aware image and video "
    "processing, ACM TOG 30(4):69 (SIGGRAPH), 2011",
    defaults=lambda ctx: {
        "sigma_s": tuned(ctx.sigma, DT_SIGMA_S),
        "sigma_r": tuned(ctx.sigma, DT_SIGMA_R) * _noise01(ctx.sigma),
        "iterations": 3,
    },
)
def domain_transform(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Domain-transform edge-preserving filter (recursive filtering, 3 iterations)."""
    p = _parameters("domain_transform", context)
    m = "domain_transform"
    _check(p["sigma_s"] > 0, m, f"sigma_s must be > 0 pixels, got {p['sigma_s']}")
    _check(p["sigma_r"] > 0, m, f"sigma_r must be > 0 (intensity units), got {p['sigma_r']}")
    _check(1 <= p["iterations"] <= 10, m, f"iterations must be in [1, 10], got {p['iterations']}")
    return domain_transform_filter(degraded, p["sigma_s"], p["sigma_r"], p["iterations"])


# ---------------------------------------------------------------------------------------------
# Non-local-means inpainting


def nlm_inpaint_filter(
    image: np.ndarray,
    mask: np.ndarray,
    h: float,
    patch_radius: int,
    search_radius: int,
    iterations: int,
    filled_confidence: float,
) -> np.ndarray:
    """Exemplar inpainting by iterated non-local means (after Wong & Orchard, ICIP 2008).

    image: (H, W) or (H, W, C); mask: bool (H, W), True = missing. Start from the biharmonic fill
    (`reference_methods.interpolation.fill_missing`), then `iterations` times replace every missing
    pixel x by Σ_y w(x, y) u(y) / Σ_y w(x, y) over its search window (y ≠ x), with
    w(x, y) = exp(-d²(x, y) / h²) · c̄(y): d² is the mean squared difference of the patches around x
    and y weighted by the confidence c of x's patch pixels (1 known, `filled_confidence` filled),
    so the comparison rests on what is known; c̄(y), the mean confidence of y's patch, prefers
    exemplars made of known pixels. Known pixels never change. h in intensity units.
    """
    from reference_methods.interpolation import fill_missing

    f, t = int(patch_radius), int(search_radius)
    u_np = _as_hwc(fill_missing(image, mask, order=2))
    device = torch_device()
    conf_np = np.where(mask, filled_confidence, 1.0)
    if device.type == "cpu":
        return _like_input(_nlm_inpaint_cpu(u_np, mask, conf_np, h, f, t, iterations), image)
    return _like_input(_nlm_inpaint_torch(u_np, mask, conf_np, h, f, t, iterations, device), image)


def _nlm_inpaint_torch(
    u_np: np.ndarray,
    mask: np.ndarray,
    conf_np: np.ndarray,
    h: float,
    f: int,
    t: int,
    iterations: int,
    device: torch.device,
) -> np.ndarray:
    """`nlm_inpaint_filter`'s iterations in torch (the CUDA path), on the whole image."""
    hh, ww, _ = u_np.shape
    pad = f + t
    k = 2 * f + 1

    def box(values: torch.Tensor) -> torch.Tensor:  # (n, 1, A+2f, B+2f) -> (n, A, B) patch sums
        summed = F.avg_pool2d(F.avg_pool2d(values, (k, 1), stride=1), (1, k), stride=1)
        return summed[:, 0] * (k * k)

    cp = torch.as_tensor(np.pad(conf_np, pad, mode="reflect"), dtype=torch.float32, device=device)
    c_ref = cp[t : t + hh + 2 * f, t : t + ww + 2 * f]
    c_patch = box(cp[None, None])[0]  # (H+2t, W+2t): Σ of confidences of each patch
    c_ref_sum = c_patch[t : t + hh, t : t + ww]
    missing = torch.as_tensor(mask, device=device)
    inv_h2 = 1.0 / (h * h)
    for _ in range(iterations):
        up_np = np.pad(u_np, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        up = torch.as_tensor(np.moveaxis(up_np, 2, 0).copy(), dtype=torch.float32, device=device)
        ref = up[:, t : t + hh + 2 * f, t : t + ww + 2 * f]
        num = torch.zeros((up.shape[0], hh, ww), dtype=torch.float64, device=device)
        den = torch.zeros((hh, ww), dtype=torch.float64, device=device)
        for dy in range(-t, t + 1):
            # (2t+1, C, H+2f, W+2f) views of the image shifted by (dy, dx), dx = -t..t: no copies.
            shifted = up[:, t + dy : t + dy + hh + 2 * f].unfold(2, ww + 2 * f, 1).permute(2, 0, 1, 3)
            diff2 = ((shifted - ref[None]) ** 2).mean(dim=1, keepdim=True) * c_ref[None, None]
            d2 = box(diff2) / c_ref_sum
            exemplar = c_patch[t + dy : t + dy + hh].unfold(1, ww, 1).permute(1, 0, 2) / (k * k)
            wt = torch.exp(-d2 * inv_h2) * exemplar
            if dy == 0:
                wt[t] = 0.0  # x is not its own exemplar
            centres = shifted[:, :, f : f + hh, f : f + ww]
            num += (wt[:, None] * centres).sum(dim=0).double()
            den += wt.sum(dim=0).double()
        current = torch.as_tensor(np.moveaxis(u_np, 2, 0).copy(), dtype=torch.float64, device=device)
        update = torch.where(den > 1e-300, num / torch.clamp(den, min=1e-300), current)
        current = torch.where(missing[None], update, current)
        u_np = np.moveaxis(current.cpu().numpy(), 0, 2)
    return np.ascontiguousarray(u_np)


def _nlm_inpaint_cpu(
    u_hwc: np.ndarray, mask: np.ndarray, conf: np.ndarray, h: float, f: int, t: int, iterations: int
) -> np.ndarray:
    """`nlm_inpaint_filter`'s iterations on the CPU: the compiled kernel visits the missing pixels
    only (the torch code filters the whole image, then keeps the missing pixels)."""
    pad, k = f + t, 2 * f + 1
    cp = np.pad(conf, pad, mode="reflect").astype(np.float32).astype(np.float64)
    # Patch sums of the confidences: box filter of the padded map, (H + 2t, W + 2t).
    c_int = np.pad(np.cumsum(np.cumsum(cp, axis=0), axis=1), ((1, 0), (1, 0)))
    c_patch = c_int[k:, k:] - c_int[:-k, k:] - c_int[k:, :-k] + c_int[:-k, :-k]
    ys, xs = np.nonzero(mask)
    current = np.ascontiguousarray(np.moveaxis(u_hwc, 2, 0), dtype=np.float64)
    for _ in range(iterations):
        up = np.pad(current, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
        out = current.copy()
        nlm_inpaint_step(
            up.astype(np.float32).astype(np.float64), cp, c_patch, ys, xs, f, t, 1.0 / (h * h), out
        )
        current = out
    return np.ascontiguousarray(np.moveaxis(current, 0, 2))


# Tuned on the starter benchmark's validation split (bench/tune_classic_methods.py): scattered
# missing pixels want a small h and short runs; large holes (random boxes) want larger patches,
# a larger h and more iterations to propagate exemplars inwards.
NLM_INPAINT_SCATTERED = {"h": 0.035, "patch_radius": 2, "iterations": 2}
NLM_INPAINT_HOLES = {"h": 0.08, "patch_radius": 3, "iterations": 5}


def _nlm_inpaint_defaults(ctx: RestorationContext) -> dict[str, Any]:
    """Scattered or holes, from the mask: the median distance of a missing pixel to a known one."""
    preset = NLM_INPAINT_SCATTERED
    if ctx.mask is not None:
        mask = np.asarray(ctx.mask, dtype=bool)
        if mask.any() and not mask.all():
            distance = ndimage.distance_transform_edt(mask)[mask]
            if float(np.median(distance)) > 2.0:
                preset = NLM_INPAINT_HOLES
    return {**preset, "search_radius": 7, "filled_confidence": 0.1}


@register_method(
    "nlm_inpaint",
    family="filtering",
    tasks=("inpaint",),
    citation="A. Wong and J. Orchard, A nonlocal-means approach to exemplar-based inpainting, ICIP 2008; "
    "A. Buades, B. Coll and J.-M. Morel, A non-local algorithm for image denoising, CVPR 2005",
    defaults=_nlm_inpaint_defaults,
)
def nlm_inpaint(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Inpainting by non-local means over known-pixel patch distances, from a biharmonic start."""
    p = _parameters("nlm_inpaint", context)
    m = "nlm_inpaint"
    _check(p["h"] > 0, m, f"h must be > 0 (intensity units), got {p['h']}")
    _check(0 <= p["patch_radius"] <= 10, m, f"patch_radius must be in [0, 10], got {p['patch_radius']}")
    _check(1 <= p["search_radius"] <= 30, m, f"search_radius must be in [1, 30], got {p['search_radius']}")
    _check(0 <= p["iterations"] <= 50, m, f"iterations must be in [0, 50], got {p['iterations']}")
    _check(
        0 < p["filled_confidence"] <= 1,
        m,
        f"filled_confidence must be in (0, 1], got {p['filled_confidence']}",
    )
    mask = np.asarray(context.mask)
    _check(mask.dtype == np.bool_, m, f"the mask must be bool (True = missing), got dtype {mask.dtype}")
    _check(not mask.all(), m, "every pixel is missing, there is nothing to inpaint from")
    h, w = degraded.shape[:2]
    radius = p["patch_radius"] + p["search_radius"]
    _check(min(h, w) > radius, m, f"image {h}x{w} is too small for patch_radius + search_radius = {radius}")
    return nlm_inpaint_filter(
        degraded, mask, p["h"], p["patch_radius"], p["search_radius"], p["iterations"], p["filled_confidence"]
    )
