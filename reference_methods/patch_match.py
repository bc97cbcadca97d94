"""Compiled (numba) block matching and patch aggregation for the nonlocal sparse methods (NCSR, GSR).

Block matching: for each reference patch, the k most similar patches (sum of squared differences over
the p × p patch) whose top-left corner lies within ±window of the reference's, the reference itself
first. Why compiled: the methods re-match several times per image, and the numpy matcher in
`patch_groups.block_match` spends its time building a distance table per band; here, for each displacement
(dy, dx) of the window, one pass builds the integral image of the squared differences between the image
and its shifted copy, and every reference reads its SSD from it in four look-ups (cost per displacement
~ 2 H W + R, independent of the patch size), keeping a running top-k per reference. Exact: float64
throughout; ties keep the candidate met first (displacements in row-major order from (−window, −window)),
so the result is the same on every machine.

Aggregation: the sum of patch estimates placed back at their positions, and how many covered each pixel.

Conventions: images are float64 (H, W) (block matching also (H, W, C)); a patch position is the flat
index y · (W − p + 1) + x of its top-left corner (the row-major order of all (H − p + 1) × (W − p + 1)
positions, as `all_patches` lays them out); a patch is a row of p² values, row-major within the patch.
"""

from __future__ import annotations

import numba
import numpy as np

_FLAGS = {"nogil": True, "error_model": "numpy"}


def _compile(fn):
    """njit with an on-disk cache where one can be written, in memory otherwise (read-only installs)."""
    try:
        return numba.njit(cache=True, **_FLAGS)(fn)
    except RuntimeError:
        return numba.njit(cache=False, **_FLAGS)(fn)


def _insert(dist, idx, filled, worst, r, d, cand):
    """Keep candidate `cand` at distance `d` in reference r's running top-k (rows of dist / idx)."""
    k = dist.shape[1]
    if filled[r] < k:
        j = filled[r]
        dist[r, j] = d
        idx[r, j] = cand
        filled[r] = j + 1
        if j + 1 == k:
            worst[r] = np.argmax(dist[r])
    elif d < dist[r, worst[r]]:
        j = worst[r]
        dist[r, j] = d
        idx[r, j] = cand
        worst[r] = np.argmax(dist[r])


_insert_jit = numba.njit(inline="always", **_FLAGS)(_insert)


def _match(image, patch, ref_ys, ref_xs, window, k):
    h, w, n_ch = image.shape
    hp, wp = h - patch + 1, w - patch + 1
    ny, nx = ref_ys.shape[0], ref_xs.shape[0]
    n_ref = ny * nx
    dist = np.full((n_ref, k), np.inf)
    idx = np.full((n_ref, k), -1, dtype=np.int64)
    filled = np.ones(n_ref, dtype=np.int64)
    worst = np.zeros(n_ref, dtype=np.int64)
    for a in range(ny):
        for b in range(nx):
            dist[a * nx + b, 0] = -1.0  # the reference itself, always first
            idx[a * nx + b, 0] = ref_ys[a] * wp + ref_xs[b]
    integral = np.zeros((h + 1, w + 1))
    for dy in range(-window, window + 1):
        y0, y1 = max(0, -dy), min(h, h - dy)
        for dx in range(-window, window + 1):
            if dy == 0 and dx == 0:
                continue
            x0, x1 = max(0, -dx), min(w, w - dx)
            integral[y0, x0 : x1 + 1] = 0.0
            for y in range(y0, y1):
                integral[y + 1, x0] = 0.0
                run = 0.0
                for x in range(x0, x1):
                    for ch in range(n_ch):
                        diff = image[y, x, ch] - image[y + dy, x + dx, ch]
                        run += diff * diff
                    integral[y + 1, x + 1] = integral[y, x + 1] + run
            for a in range(ny):
                ry = ref_ys[a]
                cy = ry + dy
                if cy < 0 or cy >= hp:
                    continue
                for b in range(nx):
                    rx = ref_xs[b]
                    cx = rx + dx
                    if cx < 0 or cx >= wp:
                        continue
                    d = (
                        integral[ry + patch, rx + patch]
                        - integral[ry, rx + patch]
                        - integral[ry + patch, rx]
                        + integral[ry, rx]
                    )
                    _insert_jit(dist, idx, filled, worst, a * nx + b, d, cy * wp + cx)
    for r in range(n_ref):
        order = np.argsort(dist[r], kind="mergesort")
        dist[r] = dist[r][order]
        idx[r] = idx[r][order]
        dist[r, 0] = 0.0
    return idx, dist


_match_jit = _compile(_match)


def match_patches(
    image: np.ndarray, patch: int, ref_ys: np.ndarray, ref_xs: np.ndarray, window: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k patches most similar to each reference (ref_ys × ref_xs, row-major) within ±window.

    image: (H, W), or (H, W, C) with the squared differences summed over the channels.
    Returns (positions, ssd), both (R, k): flat patch positions sorted by SSD, the reference first
    (SSD 0). k is capped at the number of candidates the smallest window holds (a reference in a
    corner still has (window + 1)² of them, or the whole image when it is smaller).
    """
    h, w = image.shape[:2]
    cap = min(window + 1, h - patch + 1) * min(window + 1, w - patch + 1)
    k = int(min(k, cap))
    planes = image[..., None] if image.ndim == 2 else image
    return _match_jit(
        np.ascontiguousarray(planes, dtype=np.float64),
        int(patch),
        np.asarray(ref_ys, dtype=np.int64),
        np.asarray(ref_xs, dtype=np.int64),
        int(window),
        k,
    )


def _aggregate(values, positions, patch, h, w):
    wp = w - patch + 1
    acc = np.zeros((h, w))
    cnt = np.zeros((h, w))
    flat_pos = positions.ravel()
    flat_val = values.reshape(flat_pos.shape[0], patch * patch)
    for i in range(flat_pos.shape[0]):
        py, px = divmod(flat_pos[i], wp)
        for u in range(patch):
            for v in range(patch):
                acc[py + u, px + v] += flat_val[i, u * patch + v]
                cnt[py + u, px + v] += 1.0
    return acc, cnt


_aggregate_jit = _compile(_aggregate)


def aggregate(
    values: np.ndarray, positions: np.ndarray, patch: int, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Sum patch rows `values` (…, p²) back at flat `positions` (…); return (sum, count) images."""
    return _aggregate_jit(
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(positions, dtype=np.int64),
        int(patch),
        int(shape[0]),
        int(shape[1]),
    )


def all_patches(image: np.ndarray, patch: int) -> np.ndarray:
    """Every p × p patch of a 2-D image as rows (N, p²), N = (H − p + 1)(W − p + 1), row-major positions."""
    view = np.lib.stride_tricks.sliding_window_view(image, (patch, patch))
    return view.reshape(-1, patch * patch)
