"""Interpolation baselines: the floor every leaderboard is measured against.

Array convention (as everywhere in `reference_methods`): numpy float64, (H, W) gray or (H, W, 3) RGB,
intensities on [0, 1]. Masks are bool (H, W), True = missing.

Registered methods:
- ``bicubic`` (sr): MATLAB-compatible bicubic upscaling, `benchdata.resize.imresize` (cubic a = -0.5,
  MATLAB's boundary handling), the SR papers' baseline row.
- ``identity`` (denoise, deblur, jpeg, enhance): the degraded input unchanged — the score of doing nothing; it
  needs nothing disclosed, so it enters blind deblurring tracks too.
- ``harmonic_inpaint`` (inpaint): diffusion fill, the missing pixels solve Laplace's equation
  Δu = 0 with the known pixels as Dirichlet data (Neumann at the image border).
- ``biharmonic_inpaint`` (inpaint): the missing pixels solve Δ²u = 0 (smoother, continues
  gradients across the hole; Damelin & Hoang 2018, what scikit-image's `inpaint_biharmonic` does).

Both fills are the exact minimisers of a quadratic energy over the missing pixels — Σ|∇u|²
(harmonic) or Σ(Δu)² (biharmonic), with the discrete Neumann Laplacian L = DxᵀDx + DyᵀDy of
forward differences — found by one sparse direct solve, A_mm u_m = -A_mk u_k with A = L or L².
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from benchdata.resize import imresize
from reference_methods.registry import MethodError, RestorationContext, register_method


@register_method(
    "bicubic",
    family="interpolation",
    tasks=("sr",),
    citation="R. G. Keys, Cubic convolution interpolation for digital image processing, IEEE TASSP "
    "29(6):1153-1160, 1981; MATLAB imresize (bicubic, a = -0.5, antialiasing)",
)
def bicubic(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """MATLAB-compatible bicubic upscaling by the track's integer scale."""
    return imresize(degraded, float(context.scale))


@register_method(
    "identity",
    family="interpolation",
    tasks=("denoise", "deblur", "jpeg", "enhance"),
    citation="(baseline) the degraded input returned unchanged",
    needs=(),
)
def identity(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """The degraded image itself: the score of doing nothing."""
    return degraded.copy()


def neumann_laplacian(height: int, width: int) -> sp.csr_matrix:
    """L = DxᵀDx + DyᵀDy, (HW, HW), for row-major flattened (H, W) images; D are forward differences
    without wrap-around, so L is the 5-point Laplacian (sign: positive semidefinite) with zero flux
    across the border."""

    def forward_difference(n: int) -> sp.spmatrix:
        return sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n))

    dx = sp.kron(sp.identity(height), forward_difference(width))
    dy = sp.kron(forward_difference(height), sp.identity(width))
    return (dx.T @ dx + dy.T @ dy).tocsr()


def fill_missing(image: np.ndarray, mask: np.ndarray, order: int) -> np.ndarray:
    """Fill the pixels where `mask` is True by harmonic (order 1) or biharmonic (order 2) interpolation.

    image: (H, W) or (H, W, C), only its known pixels are read; mask: bool (H, W), True = missing,
    at least one pixel known. Known pixels are returned unchanged. One sparse LU factorisation
    (SuperLU, minimum-degree ordering on the symmetric pattern) serves all channels.
    """
    if mask.all():
        raise ValueError("fill_missing: every pixel is missing, there is nothing to interpolate from")
    h, w = mask.shape
    out = np.array(image, dtype=np.float64, copy=True)
    if not mask.any():
        return out
    lap = neumann_laplacian(h, w)
    system = lap if order == 1 else (lap @ lap).tocsr()
    flat_mask = mask.ravel()
    missing = np.flatnonzero(flat_mask)
    known = np.flatnonzero(~flat_mask)
    a_mm = system[missing][:, missing].tocsc()
    a_mk = system[missing][:, known]
    values = out.reshape(h * w, -1)
    rhs = -(a_mk @ values[known])
    lu = spla.splu(a_mm, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
    values[missing] = lu.solve(np.ascontiguousarray(rhs))
    return out


def _check_mask(name: str, context: RestorationContext) -> np.ndarray:
    mask = np.asarray(context.mask)
    if mask.dtype != np.bool_:
        raise MethodError(f"{name}: the mask must be bool (True = missing), got dtype {mask.dtype}")
    if mask.all():
        raise MethodError(f"{name}: every pixel is missing, there is nothing to interpolate from")
    return mask


@register_method(
    "harmonic_inpaint",
    family="interpolation",
    tasks=("inpaint",),
    citation="Diffusion (membrane) inpainting: Laplace's equation with Dirichlet data, e.g. "
    "G. Sapiro, Geometric Partial Differential Equations and Image Analysis, CUP, 2001",
)
def harmonic_inpaint(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Diffusion fill: missing pixels solve Laplace's equation from the known ones."""
    return fill_missing(degraded, _check_mask("harmonic_inpaint", context), order=1)


@register_method(
    "biharmonic_inpaint",
    family="interpolation",
    tasks=("inpaint",),
    citation="S. B. Damelin and N. S. Hoang, On surface completion and image inpainting by biharmonic "
    "functions: numerical aspects, Int. J. Math. Math. Sci., 2018:3950312",
)
def biharmonic_inpaint(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Biharmonic fill: missing pixels solve Δ²u = 0 from the known ones."""
    return fill_missing(degraded, _check_mask("biharmonic_inpaint", context), order=2)
