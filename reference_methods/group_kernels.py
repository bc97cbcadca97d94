"""Compiled CPU kernels (numba) for the patch-group methods (`wnnm`, `nnm`, `lowrank_completion`).

Why compiled: profiling WNNM showed block matching and the numpy bookkeeping around each group
(gathering (R, k, p²) copies of every group, `np.where` masks, `bincount` aggregation over R·k·p²
indices) costing more than the eigen-decompositions themselves. Here block matching computes each
candidate's distance once, straight from the image, into a small per-band table, and the gather /
centring / aggregation loops walk the image without building index arrays.

Exactness: float64 throughout, the same formulas as the numpy code they replace; only the summation
order differs (block-matching distances are direct sums instead of differences of integral images,
which is, if anything, more accurate). No fastmath flags: results must not depend on reassociation.
"""

from __future__ import annotations

import numba
import numpy as np


def _compile(fn, **options):
    """njit with an on-disk cache where one can be written; in memory otherwise (read-only install)."""
    flags = {"nogil": True, "error_model": "numpy", **options}
    try:
        return numba.njit(cache=True, **flags)(fn)
    except RuntimeError:
        return numba.njit(cache=False, **flags)(fn)


def _band_distances(chans, patch, ys, ref_xs, window, hp, wp):
    """Squared patch distances (len(ys), len(ref_xs), span, span), float32, inf outside the image.

    chans (C, H, W). Entry [i, j, a, b] is the distance between the patches at (ys[i], ref_xs[j])
    and (ys[i] + a − window, ref_xs[j] + b − window). For one reference row and one vertical offset,
    `col[b, x]` holds the squared differences summed down the patch's rows for every column x and
    horizontal offset; each reference then sums `patch` consecutive columns.
    """
    n_ch, _, w = chans.shape
    span = 2 * window + 1
    n_y, n_x = ys.shape[0], ref_xs.shape[0]
    dist = np.full((n_y, n_x, span, span), np.inf, dtype=np.float32)
    col = np.zeros((span, w))
    for i in range(n_y):
        y = ys[i]
        for a in range(span):
            yy = y + a - window
            if yy < 0 or yy >= hp:
                continue
            col[:, :] = 0.0
            for c in range(n_ch):
                for r in range(patch):
                    row = chans[c, y + r]
                    other = chans[c, yy + r]
                    for b in range(span):
                        dx = b - window
                        x0 = max(0, -dx)
                        x1 = min(w, w - dx)
                        cb = col[b]
                        for x in range(x0, x1):
                            d = row[x] - other[x + dx]
                            cb[x] += d * d
            for j in range(n_x):
                x = ref_xs[j]
                for b in range(span):
                    xx = x + b - window
                    if xx < 0 or xx >= wp:
                        continue
                    s = 0.0
                    for t in range(patch):
                        s += col[b, x + t]
                    dist[i, j, a, b] = s
    return dist


def _gather_groups(image, groups, wp, patch):
    """The group matrices (R, k, patch²) of patches at flat positions `groups` (R, k) of a 2-D image."""
    n_ref, k = groups.shape
    out = np.empty((n_ref, k, patch * patch))
    for r in range(n_ref):
        for i in range(k):
            py, px = divmod(groups[r, i], wp)
            t = 0
            for dy in range(patch):
                for dx in range(patch):
                    out[r, i, t] = image[py + dy, px + dx]
                    t += 1
    return out


def _gather_channel_groups(planes, groups, wp, patch):
    """Group matrices of a (C, H, W) stack, channels side by side: (R, k, C · patch²)."""
    n_ch = planes.shape[0]
    n_ref, k = groups.shape
    n = patch * patch
    out = np.empty((n_ref, k, n_ch * n))
    for r in range(n_ref):
        for i in range(k):
            py, px = divmod(groups[r, i], wp)
            for c in range(n_ch):
                t = c * n
                for dy in range(patch):
                    for dx in range(patch):
                        out[r, i, t] = planes[c, py + dy, px + dx]
                        t += 1
    return out


def _scatter_groups(acc, cnt, estimates, groups, wp, patch):
    """Add each group's patch estimates (R, k, C · patch²) into acc (C, H, W) and count into cnt (H, W)."""
    n_ch = acc.shape[0]
    n_ref, k = groups.shape
    n = patch * patch
    for r in range(n_ref):
        for i in range(k):
            py, px = divmod(groups[r, i], wp)
            for dy in range(patch):
                for dx in range(patch):
                    cnt[py + dy, px + dx] += 1.0
            for c in range(n_ch):
                t = c * n
                for dy in range(patch):
                    for dx in range(patch):
                        acc[c, py + dy, px + dx] += estimates[r, i, t]
                        t += 1


def _patch_mean_sq(a, b, ys, xs, patch):
    """mean((a − b)²) over the patch at each (ys[i], xs[j]) of two 2-D images, flattened (I · J,)."""
    out = np.empty(ys.shape[0] * xs.shape[0])
    inv = 1.0 / (patch * patch)
    for i in range(ys.shape[0]):
        for j in range(xs.shape[0]):
            s = 0.0
            for dy in range(patch):
                for dx in range(patch):
                    d = a[ys[i] + dy, xs[j] + dx] - b[ys[i] + dy, xs[j] + dx]
                    s += d * d
            out[i * xs.shape[0] + j] = s * inv
    return out


band_distances = _compile(_band_distances)
gather_groups = _compile(_gather_groups)
gather_channel_groups = _compile(_gather_channel_groups)
scatter_groups = _compile(_scatter_groups)
patch_mean_sq = _compile(_patch_mean_sq)
