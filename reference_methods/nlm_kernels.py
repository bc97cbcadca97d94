"""Compiled CPU kernel (numba) for pixelwise non-local means (`filtering.nl_means` on the CPU).

Why compiled: the torch version materialises, for every row of search offsets, (offsets × C × H × W)
float32 difference stacks and their box-filtered copies, and makes a dozen passes over float64 maps
per offset; scikit-image's Cython `fast_mode` (the same algorithm) was 3.2× faster. Here each offset
makes one pass to square the differences, one running-sum pass per axis for the patch means, and
one fused pass for the weights and the accumulation.

Same formulas as the torch code: distances averaged over channels and over the patch, computed in
float64 and rounded to float32 before the exponential (as torch's float32 path does), weights
accumulated in float64. Results agree with the torch path to about 1e-7.
"""

from __future__ import annotations

import numba
import numpy as np


def _compile(fn):
    """njit with an on-disk cache where one can be written; in memory otherwise (read-only install)."""
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, error_model="numpy")(fn)


def _box_mean(d2, k, out, column):
    """out (eh, ew) = the k×k patch mean of d2 (eh + k − 1, ew + k − 1); running sums per axis."""
    eh, ew = out.shape
    rows = d2.shape[0]
    width = d2.shape[1]
    inv = 1.0 / (k * k)
    # Vertical sums of k rows, kept for every column, updated one row at a time.
    for j in range(width):
        s = 0.0
        for a in range(k):
            s += d2[a, j]
        column[j] = s
    for i in range(eh):
        if i:
            for j in range(width):
                column[j] += d2[i + k - 1, j] - d2[i - 1, j]
        s = 0.0
        for b in range(k):
            s += column[b]
        out[i, 0] = s * inv
        for j in range(1, ew):
            s += column[j + k - 1] - column[j - 1]
            out[i, j] = s * inv
    return rows


def _nl_means(xp, xq, hh, ww, f, t, offset2, inv_h2, max_centre):
    """xp (C, H + 2 pad, W + 2 pad) reflect-padded image, pad = 2t + f, and xq the same rounded to
    float32 (the values distances are computed from). Returns (C, H, W)."""
    n_ch = xp.shape[0]
    pad = 2 * t + f
    k = 2 * f + 1
    eh, ew = hh + 2 * t, ww + 2 * t
    lo = pad - t - f
    d2 = np.empty((eh + 2 * f, ew + 2 * f))
    box = np.empty((eh, ew))
    column = np.empty(ew + 2 * f)
    weights = np.empty((eh, ew), dtype=np.float32)
    num = np.zeros((n_ch, hh, ww))
    den = np.zeros((hh, ww))
    wmax = np.zeros((hh, ww))
    inv_c = 1.0 / n_ch
    for dy in range(0, t + 1):
        for dx in range(-t, t + 1):
            if dy == 0 and dx <= 0:
                continue
            # Squared differences between the extended box and its (dy, dx) shift, channel mean,
            # on float32 values as the torch code compares them.
            for i in range(eh + 2 * f):
                for j in range(ew + 2 * f):
                    s = 0.0
                    for c in range(n_ch):
                        diff = xq[c, lo + dy + i, lo + dx + j] - xq[c, lo + i, lo + j]
                        s += diff * diff
                    d2[i, j] = s * inv_c
            _box_mean_compiled(d2, k, box, column)
            for i in range(eh):
                for j in range(ew):
                    v = box[i, j] - offset2
                    weights[i, j] = np.exp(np.float32(-(v if v > 0.0 else 0.0) * inv_h2))
            for y in range(hh):
                for x in range(ww):
                    fw = np.float64(weights[t + y, t + x])
                    bw = np.float64(weights[t - dy + y, t - dx + x])
                    for c in range(n_ch):
                        num[c, y, x] += (
                            fw * xp[c, pad + dy + y, pad + dx + x] + bw * xp[c, pad - dy + y, pad - dx + x]
                        )
                    den[y, x] += fw + bw
                    m = fw if fw > bw else bw
                    if m > wmax[y, x]:
                        wmax[y, x] = m
    out = np.empty((n_ch, hh, ww))
    for y in range(hh):
        for x in range(ww):
            w0 = wmax[y, x] if max_centre else 1.0
            if not w0 > 0.0:
                w0 = 1.0  # a pixel unlike all its neighbours keeps its value
            for c in range(n_ch):
                out[c, y, x] = (num[c, y, x] + w0 * xp[c, pad + y, pad + x]) / (den[y, x] + w0)
    return out


_box_mean_compiled = _compile(_box_mean)
nl_means_kernel = _compile(_nl_means)


def _difference_row(up, cp, row_a, col_a, row_b, col_b, inv_c, ring_row, column, full):
    """One row of the confidence-weighted squared differences, e[j] = cp[row_b, col_b + j] · mean
    over channels of (up[:, row_a, col_a + j] − up[:, row_b, col_b + j])², added to the running
    column sums (minus the ring row it replaces when the ring is full) and stored in the ring."""
    for j in range(column.size):
        d = 0.0
        for c in range(up.shape[0]):
            diff = up[c, row_a, col_a + j] - up[c, row_b, col_b + j]
            d += diff * diff
        e = cp[row_b, col_b + j] * d * inv_c
        column[j] += e - ring_row[j] if full else e
        ring_row[j] = e


def _difference_row_gray(a, b, conf, ring_row, column, full):
    """`_difference_row` for one channel, on row views (a loop the compiler vectorises)."""
    if full:
        for j in range(column.size):
            diff = a[j] - b[j]
            e = conf[j] * (diff * diff)
            column[j] += e - ring_row[j]
            ring_row[j] = e
    else:
        for j in range(column.size):
            diff = a[j] - b[j]
            e = conf[j] * (diff * diff)
            column[j] += e
            ring_row[j] = e


def _nlm_inpaint_step(up, cp, c_patch, missing_ys, missing_xs, f, t, inv_h2, out):
    """One iteration of `filtering.nlm_inpaint_filter`, evaluated at the missing pixels only.

    up (C, H + 2p, W + 2p) the current estimate rounded to float32 values, cp (H + 2p, W + 2p) the
    confidences, both reflect-padded by p = f + t; c_patch (H + 2t, W + 2t) the confidence sums of
    every patch (the torch code's box filter of cp); the missing pixels in row-major order (as
    np.nonzero gives them). For each search offset, one sweep over the rows that the missing
    pixels' patches cover forms the confidence-weighted squared differences row by row (a ring
    of k rows) and keeps their vertical k-row sums per column up to date; each missing pixel then
    adds its k column sums. (The previous kernel box-filtered the whole image in three passes; the
    sums differ from it only in rounding order.) Writes the new value of each missing pixel into
    out (C, H, W); a pixel with no usable exemplar keeps its value.
    """
    n_ch = up.shape[0]
    width = out.shape[2] + 2 * f
    k = 2 * f + 1
    inv_k2 = 1.0 / (k * k)
    inv_c = 1.0 / n_ch
    n_missing = missing_ys.shape[0]
    if n_missing == 0:
        return
    num = np.zeros((n_missing, n_ch))
    den = np.zeros(n_missing)
    ring = np.empty((k, width))
    column = np.empty(width)
    first, last = missing_ys[0], missing_ys[n_missing - 1] + k - 1
    for dy in range(-t, t + 1):
        for dx in range(-t, t + 1):
            if dy == 0 and dx == 0:
                continue  # x is not its own exemplar
            column[:] = 0.0
            nxt = 0  # the next missing pixel to weigh
            for i in range(first, last + 1):
                ring_row = ring[(i - first) % k]
                full = i - first >= k  # the ring row is then the one leaving the window
                if n_ch == 1:
                    a, b = up[0, t + dy + i, t + dx :], up[0, t + i, t:]
                    _difference_row_gray(a, b, cp[t + i, t:], ring_row, column, full)
                else:
                    _difference_row(up, cp, t + dy + i, t + dx, t + i, t, inv_c, ring_row, column, full)
                y = i - (k - 1)  # the output row whose patches the column sums now cover
                while nxt < n_missing and missing_ys[nxt] == y:
                    x = missing_xs[nxt]
                    box = 0.0
                    for b in range(k):
                        box += column[x + b]
                    d2 = box * inv_k2 * (k * k) / c_patch[t + y, t + x]
                    trust = c_patch[t + y + dy, t + x + dx] * inv_k2  # the exemplar's confidence
                    w = np.float64(np.float32(np.exp(-d2 * inv_h2))) * trust
                    for c in range(n_ch):
                        num[nxt, c] += w * up[c, f + t + y + dy, f + t + x + dx]
                    den[nxt] += w
                    nxt += 1
    for idx in range(n_missing):
        if den[idx] > 1e-300:
            for c in range(n_ch):
                out[c, missing_ys[idx], missing_xs[idx]] = num[idx, c] / den[idx]


_difference_row = _compile(_difference_row)
_difference_row_gray = _compile(_difference_row_gray)
nlm_inpaint_step = _compile(_nlm_inpaint_step)
