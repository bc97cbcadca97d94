"""Nonlinear diffusion filters: Perona–Malik and Weickert's edge-enhancing diffusion (family
"filtering").

Registered methods (denoising):

- ``perona_malik`` — Perona & Malik (1990) anisotropic diffusion, explicit 4-neighbour scheme.
- ``edge_enhancing_diffusion`` — Weickert's tensor-driven edge-enhancing diffusion (1994/1998).

Array convention, boundaries and tuned defaults: as `filter_common` says (float64 on [0, 1], (H, W)
or (H, W, 3), σ on 0-255; the tables below are σ-interpolated results of
`bench/tune_classic_methods.py` on validation data).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from reference_methods.filter_common import _as_hwc, _check, _like_input, _noise01, _parameters, tuned
from reference_methods.registry import RestorationContext, register_method

# ---------------------------------------------------------------------------------------------
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
