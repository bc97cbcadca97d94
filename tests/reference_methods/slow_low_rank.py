"""The patch-group methods as they were before the compiled kernels (numpy only), kept as the
test-only reference the fast paths are checked against (tests/reference_methods/test_low_rank.py).

Verbatim copies of the previous `block_match`, `group_denoise` and `lowrank_complete` (integral-image
block matching, all-patch gathers, batched `eigh`, `bincount` aggregation), reading the unchanged
helpers (patch extraction, shrinkages, schedules) from the package.
"""

from __future__ import annotations

import numpy as np

from reference_methods.patch_groups import shrink_singular_values, svt, weighted_svt, wnnm_grid
from reference_methods.patches import extract_patches, grid_positions
from reference_methods.registry import MethodError
from reference_methods.variational import normalized_convolution_fill
from reference_methods.wnnm import GroupSchedule


def block_match(
    image: np.ndarray, patch: int, ref_ys: np.ndarray, ref_xs: np.ndarray, window: int, k: int
) -> np.ndarray:
    """The k patches nearest each reference patch within ±window, as flat patch-position indices.

    image (H, W) or (H, W, C) (distances summed over channels); patch positions are the
    (H − p + 1) × (W − p + 1) top-left corners, flattened row-major. References are ref_ys × ref_xs
    (sorted); candidates are the positions within ±window
    of the reference in each direction that lie inside the image. Returns (R, k) indices sorted by
    distance (the reference itself, at distance 0, first). References are processed in bands of
    rows; within a band, for each vertical displacement, the squared differences for a block of
    horizontal displacements are box-summed at once with integral images.
    """
    channels = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]
    h, w = image.shape[:2]
    hp, wp = h - patch + 1, w - patch + 1
    span = 2 * window + 1
    k = min(k, span * span)
    padded = [np.pad(ch, window) for ch in channels]
    dx = np.arange(-window, window + 1)
    cols_bad = (ref_xs[:, None] + dx < 0) | (ref_xs[:, None] + dx >= wp)  # (Rx, span)
    # Bands of reference rows sized so the band's distance table stays around 16M entries.
    per_band = max(1, 16_000_000 // (len(ref_xs) * span * span))
    out = []
    for b0 in range(0, len(ref_ys), per_band):
        ys = ref_ys[b0 : b0 + per_band]
        top, bottom = int(ys[0]), int(ys[-1]) + patch  # pixel rows the band's patches cover
        rows = bottom - top
        block = max(1, min(span, 4_000_000 // (rows * w)))
        dist = np.full((len(ys), len(ref_xs), span, span), np.inf, dtype=np.float32)
        for iy, dy in enumerate(range(-window, window + 1)):
            rows_ok = (ys + dy >= 0) & (ys + dy < hp)
            if not rows_ok.any():
                continue
            for j0 in range(0, span, block):
                j1 = min(span, j0 + block)
                sq = np.zeros((rows, j1 - j0, w))
                for ch, pad in zip(channels, padded, strict=True):
                    cand = pad[top + dy + window : bottom + dy + window]
                    shifted = np.lib.stride_tricks.sliding_window_view(cand, w, axis=1)  # (rows, span, W)
                    diff = ch[top:bottom, None, :] - shifted[:, j0:j1, :]
                    sq += diff * diff
                c = np.zeros((rows + 1, j1 - j0, w + 1))
                np.cumsum(np.cumsum(sq, axis=0), axis=2, out=c[1:, :, 1:])
                # ssd[i, j, x]: distance between positions (top + i, x) and (top + i + dy, x + dx_j)
                ssd = (
                    c[patch:, :, patch:]
                    - c[:-patch, :, patch:]
                    - c[patch:, :, :-patch]
                    + c[:-patch, :, :-patch]
                )
                picked = ssd[(ys[rows_ok] - top)[:, None, None], np.arange(j1 - j0)[None, :, None], ref_xs]
                dist[rows_ok, :, iy, j0:j1] = np.moveaxis(picked, 1, 2)
        dist[:, cols_bad[:, None, :].repeat(span, axis=1)] = np.inf
        flat = dist.reshape(len(ys) * len(ref_xs), span * span)
        nearest = np.argpartition(flat, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(flat, nearest, axis=1), axis=1, kind="stable")
        nearest = np.take_along_axis(nearest, order, axis=1)
        oy, ox = np.divmod(nearest, span)
        ry = np.repeat(ys, len(ref_xs))[:, None]
        rx = np.tile(ref_xs, len(ys))[:, None]
        out.append((ry + oy - window) * wp + (rx + ox - window))
    return np.concatenate(out)


def _pixel_index(positions: np.ndarray, patch: int, width: int, wp: int) -> np.ndarray:
    """Flat pixel indices (…, patch²) of the patches at flat patch positions (…)."""
    py, px = np.divmod(positions, wp)
    dy, dx = np.divmod(np.arange(patch * patch), patch)
    return (py[..., None] + dy) * width + (px[..., None] + dx)


def group_denoise(
    noisy: np.ndarray,
    sigma255: float,
    schedule: GroupSchedule,
    *,
    weighted: bool,
    nnm_lambda: float = 1.0,
    chunk: int = 1024,
) -> np.ndarray:
    """WNNM (weighted=True) or NNM (weighted=False) denoising of a 2-D image on the 0–255 scale."""
    s = schedule
    h, w = noisy.shape
    p = s.patch
    if min(h, w) < p:
        raise MethodError(f"wnnm/nnm: the image {noisy.shape} is smaller than the {p}x{p} patch")
    hp, wp = h - p + 1, w - p + 1
    ref_ys, ref_xs = wnnm_grid(h, p, s.step), wnnm_grid(w, p, s.step)
    ref_flat = np.repeat(ref_ys, len(ref_xs)) * wp + np.tile(ref_xs, len(ref_ys))
    all_ys, all_xs = np.arange(hp), np.arange(wp)
    noisy_patches = extract_patches(noisy, p, all_ys, all_xs)
    estimate = noisy.copy()
    groups = None
    k = s.patches
    n = p * p
    for it in range(s.iterations):
        current = estimate + s.delta * (noisy - estimate)
        cur_patches = extract_patches(current, p, all_ys, all_xs)
        local = s.noise_gain * np.sqrt(
            np.abs(sigma255**2 - ((noisy_patches - cur_patches) ** 2).mean(axis=1))
        )
        if it % s.rematch_every == 0:
            k = max(s.patches - 10 * (it // s.rematch_every + 1), 10)
            groups = block_match(current, p, ref_ys, ref_xs, s.window, k)
            if it == 0:
                local = np.full(local.shape, float(sigma255))
        acc = np.zeros(h * w)
        cnt = np.zeros(h * w)
        for start in range(0, len(groups), chunk):
            g = groups[start : start + chunk]
            y = cur_patches[g]  # (R, k, n)
            mean = y.mean(axis=1, keepdims=True)
            sig = local[ref_flat[start : start + chunk]]
            kk = g.shape[1]
            if weighted:
                c_const = s.c * np.sqrt(kk) * 2.0 * sig * sig
                est = shrink_singular_values(y - mean, lambda sv, c=c_const: weighted_svt(sv, c)) + mean
            else:
                tau = nnm_lambda * sig * (np.sqrt(n) + np.sqrt(kk))
                est = shrink_singular_values(y - mean, lambda sv, t=tau: svt(sv, t)) + mean
            pix = _pixel_index(g, p, w, wp)
            acc += np.bincount(pix.ravel(), weights=est.ravel(), minlength=h * w)
            cnt += np.bincount(pix.ravel(), minlength=h * w)
        covered = cnt > 0
        estimate = np.where(covered, acc / np.maximum(cnt, 1), current.ravel()).reshape(h, w)
    return estimate


def _channel_patches(image: np.ndarray, patch: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Patches of every channel side by side: (N, C · patch²) (C = 1 for a 2-D image)."""
    if image.ndim == 2:
        return extract_patches(image, patch, ys, xs)
    return np.concatenate(
        [extract_patches(image[..., c], patch, ys, xs) for c in range(image.shape[2])], axis=1
    )


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
    hp, wp = h - patch + 1, w - patch + 1
    known = ~mask
    known_img = known if observed.ndim == 2 else known[..., None]
    estimate = normalized_convolution_fill(observed, mask)
    ref_ys, ref_xs = grid_positions(h, patch, step), grid_positions(w, patch, step)
    all_ys, all_xs = np.arange(hp), np.arange(wp)
    known_patches = np.tile(extract_patches(known.astype(np.float64), patch, all_ys, all_xs) > 0.5, (1, n_ch))
    obs_patches = _channel_patches(np.where(known_img, observed, 0.0), patch, all_ys, all_xs)
    ratios = np.geomspace(tau_start, tau_end, outer) if outer > 1 else np.array([tau_end])
    n = patch * patch
    for ratio in ratios:
        groups = block_match(estimate, patch, ref_ys, ref_xs, window, patches)
        cur_patches = _channel_patches(estimate, patch, all_ys, all_xs)
        acc = np.zeros((n_ch, h * w))
        cnt = np.zeros(h * w)
        for start in range(0, len(groups), chunk):
            g = groups[start : start + chunk]
            omega = known_patches[g]
            y = obs_patches[g]
            x = cur_patches[g]
            tau: list[np.ndarray] = []

            def soft(sv: np.ndarray, tau: list[np.ndarray] = tau, ratio: float = ratio) -> np.ndarray:
                if not tau:  # the threshold is fixed from the group's first largest singular value
                    tau.append(ratio * sv.max(axis=1))
                return svt(sv, tau[0])

            for _ in range(inner):
                x = shrink_singular_values(np.where(omega, y, x), soft)
            pix = _pixel_index(g, patch, w, wp).ravel()
            for c in range(n_ch):
                acc[c] += np.bincount(pix, weights=x[..., c * n : (c + 1) * n].ravel(), minlength=h * w)
            cnt += np.bincount(pix, minlength=h * w)
        previous = estimate.reshape(h * w, n_ch).T
        fill = np.where(cnt > 0, acc / np.maximum(cnt, 1), previous).T.reshape(observed.shape)
        estimate = np.where(known_img, observed, fill)
    return estimate
