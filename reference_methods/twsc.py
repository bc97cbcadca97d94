"""Trilateral weighted sparse coding (TWSC) for real, channel-dependent noise (our implementation).

J. Xu, L. Zhang and D. Zhang, "A trilateral weighted sparse coding scheme for real-world image
denoising", ECCV 2018. For each group Y (d × M) of M similar patches (d = channels · patch², the
colour channels of a patch stacked), mean-subtracted:

    min_C  ½‖W1 (Y − D C) W2‖_F² + ‖W3 C‖_1,

- D: the left singular vectors of Y (an orthonormal dictionary adapted to the group);
- W1 = diag(σ̄/σ_c) over rows: each channel c weighted by its own noise level σ_c (σ̄ = RMS of the
  σ_c, so W1 = I for equal channels) — the "channel" side of the trilateral weighting;
- W2 = diag(1/σ_j) over columns: each patch weighted by its local noise level, re-estimated every
  iteration as σ_j = λ2·sqrt|σ̄² − mean((y_noisy − y_j)²)| (σ̄ itself at the first iteration), as
  in WNNM; W2 also weights the aggregation of overlapping patch estimates;
- W3 = diag(1/S_k): the sparsity prior of atom k, S_k = sqrt(max(s_k² − M·ν_k, 0)) the clean
  singular value (s_k the noisy one, ν_k = σ_ref²·Σ_i D_ik²·(σ_c(i)/σ̄)² the noise variance along
  atom k for the reference patch's σ_ref).

With W1 = I the problem separates and C = soft(DᵀY, σ_j²/S_k) (the authors' released code takes this
path for every image, with one σ̄ for all channels). With unequal channel noise it is solved, as in
the paper, by ADMM on C = Z: the C-step is the Sylvester equation A C + C B = E with A = DᵀW1²D and
a diagonal B, solved through the eigen-decomposition of A (computed once per group), the Z-step
soft-thresholds, ρ grows by μ = 1.1 from 0.5 over 10 iterations (the authors' `TWSC_ADMM`).
The outer loop is the authors': iterative regularisation x ← x̂ + δ(y − x̂), block matching every
`rematch` iterations within ±`window` px, the number of patches falling by `patches_gap` at each
re-matching.

Noise levels: a `denoise` track discloses σ (the same for every channel); an `enhance` track does
not, so the per-channel σ_c are estimated from the input as the paper does, with the PCA method of
Chen, Zhu & Heng ("An efficient statistical method for image noise level estimation", ICCV 2015):
the noise variance is the mean of the largest set of smallest patch-covariance eigenvalues whose
mean equals their median.

Array convention: float64 (H, W) or (H, W, C) on [0, 1]; σ on the same scale inside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from reference_methods.patch_groups import block_match, wnnm_grid
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method


def _patch_matrix(channel: np.ndarray, patch: int, stride: int = 1) -> np.ndarray:
    """All patch² × (number of patches) columns of one channel (patches every `stride` px)."""
    view = np.lib.stride_tricks.sliding_window_view(channel, (patch, patch))[::stride, ::stride]
    return view.reshape(-1, patch * patch).T


def estimate_noise_level(channel: np.ndarray, patch: int = 8) -> float:
    """Noise std of one channel by Chen, Zhu & Heng (ICCV 2015): eigenvalues λ_1 ≤ … ≤ λ_d of the
    covariance of all patch² vectors; the largest i whose first i eigenvalues have as many above their
    mean as below it (mean = median); σ = sqrt(mean of those)."""
    x = _patch_matrix(channel, patch)
    x = x - x.mean(axis=1, keepdims=True)
    eig = np.sort(np.linalg.eigvalsh(x @ x.T / (x.shape[1] - 1)))
    eig = np.maximum(eig, 0.0)
    for count in range(len(eig), 0, -1):
        head = eig[:count]
        mean = head.mean()
        if np.sum(head > mean) == np.sum(head < mean):
            return float(np.sqrt(mean))
    return float(np.sqrt(eig[0]))


@dataclass(frozen=True)
class TwscSettings:
    """The outer loop's parameters (the authors' demo scripts)."""

    patch: int
    step: int
    window: int
    iterations: int
    rematch: int
    patches: int
    patches_gap: int
    delta: float
    lambda2: float
    admm_iterations: int = 10


def _group_pixels(groups: np.ndarray, patch: int, width: int, wp: int) -> np.ndarray:
    """Flat pixel indices (R, M, patch²) of the patches at flat patch positions (R, M)."""
    py, px = np.divmod(groups, wp)
    dy, dx = np.divmod(np.arange(patch * patch), patch)
    return (py[..., None] + dy) * width + (px[..., None] + dx)


def _dictionary(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Left singular vectors D (R, d, r) and singular values s (R, r) of every group y (R, d, M), from
    the eigen-decomposition of the smaller Gram matrix (r = min(d, M))."""
    d, m = y.shape[1:]
    yt = y.transpose(1, 2)
    if d <= m:
        evals, vecs = torch.linalg.eigh(y @ yt)
        return vecs, evals.clamp_min(0.0).sqrt()
    evals, v = torch.linalg.eigh(yt @ y)
    s = evals.clamp_min(0.0).sqrt()
    return (y @ v) / s.clamp_min(1e-12)[:, None, :], s


def _soft(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * (x.abs() - t).clamp_min(0.0)


def sparse_code(
    y: np.ndarray,
    sigma_cols: np.ndarray,
    sigma_ref: np.ndarray,
    row_weights: np.ndarray,
    admm_iterations: int,
) -> np.ndarray:
    """TWSC of mean-subtracted groups y (R, d, M): returns D C (R, d, M).

    sigma_cols (R, M): each patch's noise level (1/W2); sigma_ref (R,): the reference patch's;
    row_weights (d,): the diagonal of W1 (σ̄/σ_c per row). Batched linear algebra runs in torch (on
    the CPU): numpy calls BLAS once per small matrix, which is many times slower on a busy machine."""
    yt = torch.from_numpy(np.ascontiguousarray(y))
    dic, s = _dictionary(yt)
    w1sq = torch.from_numpy(row_weights * row_weights)
    ref2 = torch.from_numpy(np.asarray(sigma_ref, dtype=np.float64)) ** 2
    nu = ref2[:, None] * torch.einsum("rdk,d->rk", dic * dic, 1.0 / w1sq)
    clean = (s * s - y.shape[2] * nu).clamp_min(0.0).sqrt()
    # Atoms whose clean singular value is 0 have an infinite weight in W3: their coefficients are 0 at
    # the optimum, so the problem is solved on the (few) others only.
    keep = max(int((clean > 0).sum(dim=1).max()), 1)
    top = torch.topk(clean, keep, dim=1).indices
    clean = torch.gather(clean, 1, top)
    dic = torch.gather(dic, 2, top[:, None, :].expand(-1, dic.shape[1], -1))
    inv_w3 = clean + np.finfo(np.float64).eps  # W3 = 1/S_k
    thresholds = (
        torch.from_numpy(np.asarray(sigma_cols, dtype=np.float64))[:, None, :] ** 2 / inv_w3[:, :, None]
    )
    dt = dic.transpose(1, 2)
    if np.allclose(row_weights, 1.0):
        return (dic @ _soft(dt @ yt, thresholds)).numpy()
    # ADMM with the Sylvester C-step: (A + ρ I) c_j = Dᵀ W1² y_j + ρ z_j − u_j, A = Q Λ Qᵀ.
    lam, q = torch.linalg.eigh(dt @ (w1sq[None, :, None] * dic))
    qt = q.transpose(1, 2)
    rhs0 = dt @ (w1sq[None, :, None] * yt)
    z = torch.zeros_like(rhs0)
    u = torch.zeros_like(rhs0)
    rho = 0.5
    for _ in range(admm_iterations):
        c = q @ ((qt @ (rhs0 + rho * z - u)) / (lam[:, :, None] + rho))
        z = _soft(c + u / rho, thresholds / rho)
        u = u + rho * (c - z)
        rho = min(rho * 1.1, 100.0)
    return (dic @ c).numpy()


def twsc_denoise(
    noisy: np.ndarray,
    sigmas: np.ndarray,
    settings: TwscSettings,
    *,
    channel_weights: bool = True,
    chunk: int = 512,
) -> np.ndarray:
    """TWSC denoising of an (H, W) or (H, W, C) image on [0, 1] with per-channel noise stds `sigmas`
    (C,). channel_weights=False uses one σ̄ (the RMS of `sigmas`) for every channel (W1 = I)."""
    s = settings
    image = noisy if noisy.ndim == 3 else noisy[..., None]
    h, w, ch = image.shape
    p = s.patch
    if min(h, w) < p:
        raise MethodError(f"twsc: the image {noisy.shape[:2]} is smaller than the {p}x{p} patch")
    sigmas = np.asarray(sigmas, dtype=np.float64)
    sigma_bar = float(np.sqrt(np.mean(sigmas * sigmas)))
    if sigma_bar <= 0:
        return noisy.copy()
    rel = sigmas / sigma_bar if channel_weights else np.ones(ch)
    row_weights = np.repeat(1.0 / np.maximum(rel, 1e-6), p * p)  # rows: channel-major, then pixels
    hp, wp = h - p + 1, w - p + 1
    ref_ys, ref_xs = wnnm_grid(h, p, s.step), wnnm_grid(w, p, s.step)
    estimate = image.copy()
    groups = None
    count = s.patches
    for it in range(s.iterations):
        current = estimate + s.delta * (image - estimate)
        resid = ((image - current) ** 2).sum(axis=2)
        # mean squared residual of every patch (a p×p box sum over all channels)
        csum = np.cumsum(np.cumsum(np.pad(resid, ((1, 0), (1, 0))), axis=0), axis=1)
        patch_mse = (csum[p:, p:] - csum[:-p, p:] - csum[p:, :-p] + csum[:-p, :-p]) / (p * p * ch)
        local = s.lambda2 * np.sqrt(np.abs(sigma_bar**2 - patch_mse)).ravel()
        if it % s.rematch == 0:
            count = max(s.patches_gap, count - s.patches_gap) if s.patches_gap else count
            groups = block_match(current[..., 0] if ch == 1 else current, p, ref_ys, ref_xs, s.window, count)
            if it == 0:
                local = np.full(hp * wp, sigma_bar)
        cur_flat = current.reshape(h * w, ch)
        acc = np.zeros((h * w, ch))
        weight = np.zeros(h * w)
        for start in range(0, len(groups), chunk):
            g = groups[start : start + chunk]
            pix = _group_pixels(g, p, w, wp)  # (R, M, p²)
            y = np.moveaxis(cur_flat[pix], 3, 2).reshape(len(g), g.shape[1], ch * p * p)
            y = np.swapaxes(y, 1, 2)  # (R, d, M), rows channel-major
            mean = y.mean(axis=2, keepdims=True)
            sig = np.maximum(local[g], 1e-12)
            est = sparse_code(y - mean, sig, sig[:, 0], row_weights, s.admm_iterations) + mean
            est = np.swapaxes(est, 1, 2).reshape(len(g), g.shape[1], ch, p * p)
            w2 = np.broadcast_to((1.0 / sig)[:, :, None], pix.shape)
            for c in range(ch):
                acc[:, c] += np.bincount(pix.ravel(), weights=(est[:, :, c, :] * w2).ravel(), minlength=h * w)
            weight += np.bincount(pix.ravel(), weights=w2.ravel(), minlength=h * w)
        covered = weight > 0
        out = np.where(covered[:, None], acc / np.maximum(weight, 1e-300)[:, None], cur_flat)
        estimate = out.reshape(h, w, ch)
    return estimate if noisy.ndim == 3 else estimate[..., 0]


def awgn_settings(sigma255: float) -> TwscSettings:
    """The authors' AWGN demo (Demo_TWSC_Sigma_AWGN.m), by noise range as its branches intend."""
    base = {"patch": 8, "step": 3, "window": 30, "rematch": 2, "patches_gap": 10}
    if sigma255 <= 20:
        return TwscSettings(**base, iterations=8, patches=70, delta=0.07, lambda2=0.9)
    if sigma255 <= 30:
        return TwscSettings(**base, iterations=10, patches=90, delta=0.06, lambda2=0.76)
    if sigma255 <= 40:
        return TwscSettings(**base, iterations=10, patches=90, delta=0.07, lambda2=0.78)
    if sigma255 <= 60:
        return TwscSettings(
            **{**base, "patches_gap": 15}, iterations=10, patches=120, delta=0.05, lambda2=0.72
        )
    return TwscSettings(
        **{**base, "patch": 9, "step": 4}, iterations=14, patches=140, delta=0.05, lambda2=0.68
    )


# The authors' real-noise settings (Demo_TWSC_Sigma_RW_DND2017.m): 6×6 patches, ±20 px search, 70
# patches throughout, no iterative regularisation, λ2 = 3.
REAL_NOISE = TwscSettings(
    patch=6, step=3, window=20, iterations=8, rematch=2, patches=70, patches_gap=0, delta=0.0, lambda2=3.0
)


def _defaults(ctx: RestorationContext) -> dict[str, Any]:
    if ctx.sigma is None:
        base = REAL_NOISE
    else:
        base = awgn_settings(float(ctx.sigma))
    return {
        "patch": base.patch,
        "step": base.step,
        "window": base.window,
        "iterations": base.iterations,
        "patches": base.patches,
        "patches_gap": base.patches_gap,
        "delta": base.delta,
        "lambda2": base.lambda2,
        "estimate_noise": ctx.sigma is None,
        "channel_weights": True,
    }


def _settings(p: dict[str, Any]) -> TwscSettings:
    checks = {
        "patch": 2 <= p["patch"] <= 16,
        "step": 1 <= p["step"] <= p["patch"],
        "window": 1 <= p["window"] <= 64,
        "iterations": 1 <= p["iterations"] <= 30,
        "patches": 2 <= p["patches"] <= 400,
        "patches_gap": 0 <= p["patches_gap"] < p["patches"],
        "delta": 0 <= p["delta"] <= 1,
        "lambda2": p["lambda2"] > 0,
    }
    for name, ok in checks.items():
        if not ok:
            raise MethodError(f"twsc: parameter {name!r} is out of range, got {p[name]!r}")
    return TwscSettings(
        int(p["patch"]),
        int(p["step"]),
        int(p["window"]),
        int(p["iterations"]),
        2,
        int(p["patches"]),
        int(p["patches_gap"]),
        float(p["delta"]),
        float(p["lambda2"]),
    )


@register_method(
    "twsc",
    family="sparse",
    tasks=("denoise", "enhance"),
    citation="J. Xu, L. Zhang and D. Zhang, A trilateral weighted sparse coding scheme for real-world image "
    "denoising, ECCV 2018; G. Chen, F. Zhu and P. A. Heng, An efficient statistical method for image noise "
    "level estimation, ICCV 2015",
    defaults=_defaults,
    needs=(),
)
def twsc(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Trilateral weighted sparse coding of similar-patch groups (channel, patch and sparsity weights)."""
    p = get_method("twsc").parameters(context)
    settings = _settings(p)
    channels = 1 if degraded.ndim == 2 else degraded.shape[2]
    if p["estimate_noise"] or context.sigma is None:
        image = degraded if degraded.ndim == 3 else degraded[..., None]
        sigmas = np.array([estimate_noise_level(image[..., c], settings.patch) for c in range(channels)])
    else:
        sigmas = np.full(channels, float(context.sigma) / 255.0)
    return twsc_denoise(degraded, sigmas, settings, channel_weights=bool(p["channel_weights"]))
