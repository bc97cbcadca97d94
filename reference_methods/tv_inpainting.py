"""TV inpainting: min_u TV(u) subject to u = f on the known pixels (Chan & Shen 2001), solved by the
primal–dual algorithm (Chambolle & Pock 2011, Alg. 1) in compiled kernels (`tv_kernels`); and the
normalized-convolution first fill shared by the iterative inpainting methods.

Array convention: float64, (H, W) or (H, W, C) channels last, [0, 1]; mask (H, W) bool, True = missing.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from reference_methods.registry import MethodError
from reference_methods.tv_kernels import tv_inpaint_iterations_colour, tv_inpaint_iterations_gray

# --------------------------------------------------------------------------------------------------
# TV inpainting by the primal–dual algorithm


def normalized_convolution_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill missing pixels (mask True) with Gaussian-weighted averages of known ones, coarse to fine.

    A cheap, smooth first guess for the iterative inpainting methods (normalized convolution,
    Knutsson & Westin 1993): at each scale s, value = G_s ∗ (known · f) / G_s ∗ known; the finest
    scale with enough support wins. Known pixels are returned unchanged.
    """
    known = ~mask
    if not known.any():
        raise MethodError("inpainting: the mask marks every pixel missing; nothing to fill from")
    out = image.copy()
    filled = known.copy()
    weights = known.astype(np.float64)
    values = image * (weights[..., None] if image.ndim == 3 else weights)
    scale = 1.0
    while not filled.all():
        size = [scale, scale] + [0] * (image.ndim - 2)
        num = ndimage.gaussian_filter(values, size, mode="reflect")
        den = ndimage.gaussian_filter(weights, scale, mode="reflect")
        ok = (den > 1e-3) & ~filled
        ratio = num / np.maximum(den, 1e-12)[..., None] if image.ndim == 3 else num / np.maximum(den, 1e-12)
        out[ok] = ratio[ok]
        filled |= ok
        scale *= 2.0
        if scale > 4 * max(image.shape[:2]):
            out[~filled] = image[known].mean(axis=0)
            break
    return out


def tv_inpaint(
    f: np.ndarray, mask: np.ndarray, *, tol: float = 1e-5, max_iter: int = 2000
) -> tuple[np.ndarray, int]:
    """min_u TV(u) s.t. u = f where mask is False; return (u, iterations).

    Chambolle & Pock (2011) Alg. 1 with F = ||·||_{2,1} (prox of F* = projection onto |y| ≤ 1) and
    G = indicator of the data constraint (prox = reset the known pixels), τσL² = 1 with L² = 8.
    Starts from the normalized-convolution fill. Stops when the RMS change of u over 10 iterations,
    per iteration, falls below `tol`.
    """
    known = ~mask
    u = np.ascontiguousarray(normalized_convolution_fill(f, mask), dtype=np.float64)
    u_bar = u.copy()
    y = np.zeros((2, *f.shape))
    tau = sigma = 1.0 / np.sqrt(8.0)
    check_from = u.copy()
    # The iterations run in the compiled kernel (bit-identical to the numpy formulation in
    # `grad_neumann` / `div_neumann` / `_pointwise_norm`), in blocks up to the next convergence check.
    gray = f.ndim == 2
    data = np.ascontiguousarray(f, dtype=np.float64)
    it = 0
    while it < max_iter:
        count = min(10 - it % 10, max_iter - it)
        if gray:
            tv_inpaint_iterations_gray(u, u_bar, y, data, known, tau, sigma, count)
        else:
            tv_inpaint_iterations_colour(u, u_bar, y, data, known, tau, sigma, count)
        it += count
        if it % 10 == 0:
            change = np.sqrt(np.mean((u - check_from) ** 2)) / 10.0
            if change < tol:
                return u, it
            check_from = u.copy()
    return u, max_iter
