"""Low-rank matrix completion on groups of similar patches (inpainting): `lowrank_completion`.

Groups are matched on the current estimate (`patch_groups.block_match`), each completed by
soft-impute (Mazumder, Hastie & Tibshirani, JMLR 2010) X ← S_τ(P_Ω(Y) + P_Ω⊥(X)) with τ decreasing
geometrically over the outer iterations (continuation); the missing pixels are averaged from all
group estimates, the known ones kept. The first estimate is a normalised-convolution fill.

Speed: the group gathers / aggregation (`group_kernels`) and the soft-thresholding
(`spectral_kernels`) are compiled numba kernels; the previous numpy code is kept as the tests'
reference (tests/reference_methods/slow_low_rank.py).

Array convention: float64, (H, W) gray or (H, W, 3) RGB on [0, 1] at the edge, with a boolean
(H, W) mask, True where a pixel is missing; `lowrank_complete` works on the 0–255 scale (the scale
its thresholds were tuned on). Colour channels share the groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_methods.group_kernels import gather_channel_groups, scatter_groups
from reference_methods.patch_groups import block_match
from reference_methods.patches import check_count, check_positive, grid_positions
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method
from reference_methods.spectral_kernels import SOFT, shrink_groups, shrink_groups_relative
from reference_methods.variational import normalized_convolution_fill


def lowrank_complete(
    observed: np.ndarray,
    mask: np.ndarray,
    *,
    patch: int = 7,
    patches: int = 40,
    window: int = 15,
    step: int = 4,
    outer: int = 10,
    inner: int = 4,
    tau_start: float = 0.01,
    tau_end: float = 2e-4,
    chunk: int = 1024,
) -> np.ndarray:
    """Fill the pixels where `mask` is True in an (H, W) or (H, W, C) image on the 0–255 scale.

    Colour channels share the groups: patches are matched on all channels and each group matrix
    holds the channels' patches side by side (k × C·p²), so one completion serves all channels.
    Thresholds are relative: at outer iteration t, τ_t = r_t · σ_1(group) with r_t decreasing
    geometrically from tau_start to tau_end (continuation from a very low-rank fit to a faithful
    one); each group runs `inner` soft-impute steps from the current estimate.
    """
    h, w = observed.shape[:2]
    n_ch = 1 if observed.ndim == 2 else observed.shape[2]
    if min(h, w) < patch:
        raise MethodError(
            f"lowrank_completion: the image {observed.shape} is smaller than the {patch}x{patch} patch"
        )
    wp = w - patch + 1
    known = ~mask
    known_img = known if observed.ndim == 2 else known[..., None]
    estimate = normalized_convolution_fill(observed, mask)
    ref_ys, ref_xs = grid_positions(h, patch, step), grid_positions(w, patch, step)
    # (C, H, W) planes for the compiled gathers: the known mask once per channel, the observation
    # with its missing pixels zeroed.
    known_planes = np.ascontiguousarray(np.repeat(known[None].astype(np.float64), n_ch, axis=0))
    obs_planes = _planes(np.where(known_img, observed, 0.0))
    ratios = np.geomspace(tau_start, tau_end, outer) if outer > 1 else np.array([tau_end])
    for ratio in ratios:
        groups = block_match(estimate, patch, ref_ys, ref_xs, window, patches)
        cur_planes = _planes(estimate)
        acc = np.zeros((n_ch, h, w))
        cnt = np.zeros((h, w))
        for start in range(0, len(groups), chunk):
            g = groups[start : start + chunk]
            omega = gather_channel_groups(known_planes, g, wp, patch) > 0.5
            y = gather_channel_groups(obs_planes, g, wp, patch)
            x = gather_channel_groups(cur_planes, g, wp, patch)
            # The threshold is fixed from each group's first largest singular value.
            x, tau = shrink_groups_relative(np.where(omega, y, x), ratio)
            for _ in range(inner - 1):
                x = shrink_groups(np.where(omega, y, x), SOFT, tau)
            scatter_groups(acc, cnt, x, g, wp, patch)
        fill = np.where(cnt > 0, acc / np.maximum(cnt, 1), cur_planes)
        estimate = np.where(known_img, observed, np.moveaxis(fill, 0, -1).reshape(observed.shape))
    return estimate


def _planes(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) as contiguous float64 (C, H, W) planes (C = 1 for a 2-D image)."""
    stack = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
    return np.ascontiguousarray(stack, dtype=np.float64)


def _completion_defaults(context: RestorationContext) -> dict[str, Any]:
    # Threshold schedule tuned on a Train400 crop, and the reference step on the starter val split
    # (step 4 gives the PSNR of step 3 at a third of the time), with 50% missing pixels and 20% boxes.
    return {
        "patch": 7,
        "patches": 40,
        "window": 15,
        "step": 4,
        "outer": 10,
        "inner": 4,
        "tau_start": 0.01,
        "tau_end": 2e-4,
    }


@register_method(
    "lowrank_completion",
    family="low-rank",
    tasks=("inpaint",),
    citation=(
        "Mazumder, Hastie & Tibshirani, Spectral regularization algorithms for learning large incomplete "
        "matrices, JMLR 2010; Cai, Candès & Shen, SIAM J. Optim. 2010"
    ),
    defaults=_completion_defaults,
)
def lowrank_completion(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Low-rank matrix completion (soft-impute) of groups of similar patches."""
    p = get_method("lowrank_completion").parameters(context)
    patch = check_count("lowrank_completion", "patch", p["patch"], minimum=2)
    patches = check_count("lowrank_completion", "patches", p["patches"], minimum=2)
    window = check_count("lowrank_completion", "window", p["window"])
    step = check_count("lowrank_completion", "step", p["step"])
    outer = check_count("lowrank_completion", "outer", p["outer"])
    inner = check_count("lowrank_completion", "inner", p["inner"])
    tau_start = check_positive("lowrank_completion", "tau_start", p["tau_start"])
    tau_end = check_positive("lowrank_completion", "tau_end", p["tau_end"])
    if not tau_end <= tau_start < 1:
        raise MethodError(
            "lowrank_completion: need 0 < tau_end <= tau_start < 1, "
            f"got tau_start={tau_start}, tau_end={tau_end}"
        )
    if step > patch:
        raise MethodError(
            f"lowrank_completion: parameter 'step' ({step}) must not exceed the patch size ({patch})"
        )
    mask = np.asarray(context.mask, dtype=bool)
    if mask.all():
        raise MethodError("lowrank_completion: the mask marks every pixel missing; nothing to complete from")
    return (
        lowrank_complete(
            degraded * 255.0,
            mask,
            patch=patch,
            patches=patches,
            window=window,
            step=step,
            outer=outer,
            inner=inner,
            tau_start=tau_start,
            tau_end=tau_end,
        )
        / 255.0
    )
