"""Non-local means filtering: pixelwise non-local means denoising and non-local-means inpainting
(family "filtering"; the local smoothing filters are in `smoothing`, the diffusions in `diffusion`,
what they share in `filter_common`).

Registered methods:

- ``nlm`` — pixelwise non-local means, Buades, Coll & Morel (2005), with the noise-variance-aware
  weights of their 2011 IPOL description.
- ``nlm_inpaint`` (inpainting) — exemplar inpainting by iterated non-local means whose patch
  distances count only trusted pixels (in the spirit of Wong & Orchard 2008).

Array convention, boundaries and tuned defaults: as `filter_common` says (float64 on [0, 1], (H, W)
or (H, W, 3), σ on 0-255; the tables below are σ-interpolated results of
`bench/tune_classic_methods.py` on validation data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from reference_methods.filter_common import (
    _as_hwc,
    _check,
    _like_input,
    _noise01,
    _parameters,
    torch_device,
    tuned,
)
from reference_methods.nlm_kernels import nl_means_kernel, nlm_inpaint_step
from reference_methods.registry import RestorationContext, register_method

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
