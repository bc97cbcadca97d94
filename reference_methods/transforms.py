"""Transform-domain baselines: Fourier (Wiener deconvolution, low-pass), wavelet shrinkage
(VisuShrink, BayesShrink) and curvelet shrinkage.

Array convention (as everywhere in `reference_methods`): numpy float64, (H, W) gray or (H, W, 3) RGB,
intensities on [0, 1]; `context.sigma` on the 0-255 scale. Colour images are processed channel by
channel (the noise is white and independent per channel).

Fourier methods assume periodic images; to keep the border from ringing they work by default on the
image's even (mirror) extension to 2H x 2W, on which periodic convolution equals convolution with
symmetric boundaries (the boundary mode `benchdata` blurs with by default), exactly for centrally
symmetric kernels.

Registered methods:
- ``wiener`` (deblur): Wiener / regularised inverse filter with a power-law image spectrum model.
- ``fourier_lowpass`` (denoise): Butterworth low-pass filter.
- ``visushrink``, ``bayesshrink`` (denoise): soft thresholding of an orthogonal wavelet transform
  (PyWavelets) with Donoho & Johnstone's universal threshold, or Chang, Yu & Vetterli's
  subband-adaptive Bayesian threshold.
- ``curvelet`` (denoise): hard thresholding in the undecimated curvelet tight frame of
  `reference_methods.curvelet`.

Default parameters are tuned on Train400 crops and on the starter benchmark's validation split
(never on test images); `bench/tune_classic_methods.py` reproduces the tuning.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pywt

from reference_methods.curvelet import CurveletFrame
from reference_methods.filter_common import tuned
from reference_methods.registry import MethodError, RestorationContext, get_method, register_method

BOUNDARIES = ("symmetric", "periodic")


def _parameters(name: str, context: RestorationContext) -> dict[str, Any]:
    return get_method(name).parameters(context)


def _check(condition: bool, method: str, message: str) -> None:
    if not condition:
        raise MethodError(f"{method}: {message}")


def _channels(image: np.ndarray) -> list[np.ndarray]:
    return [image] if image.ndim == 2 else [image[:, :, c] for c in range(image.shape[2])]


def _stack(channels: list[np.ndarray], like: np.ndarray) -> np.ndarray:
    return channels[0] if like.ndim == 2 else np.stack(channels, axis=2)


def mirror_extend(channel: np.ndarray) -> np.ndarray:
    """The even extension of an (H, W) image to (2H, 2W): [[x, x⌐], [x¬, x⌐¬]] (flips)."""
    top = np.concatenate([channel, channel[:, ::-1]], axis=1)
    return np.concatenate([top, top[::-1]], axis=0)


def kernel_transfer(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The DFT (rfft2 layout) of `kernel` zero-padded to `shape` with its centre tap at the origin.

    kernel: (h, w) with odd sizes, centre (h//2, w//2), as `benchdata` defines convolution; the
    result is the transfer function of periodic convolution with that kernel on `shape`.
    """
    kh, kw = kernel.shape
    if kh > shape[0] or kw > shape[1]:
        raise MethodError(f"the {kh}x{kw} kernel is larger than the {shape[0]}x{shape[1]} (extended) image")
    padded = np.zeros(shape)
    padded[:kh, :kw] = kernel
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.rfft2(padded)


# ---------------------------------------------------------------------------------------------
# Wiener deconvolution

REGULARISERS = ("laplacian", "gradient", "identity")
# balance = WIENER_BALANCE(σ) · σ_eff², σ_eff = max(σ, 0.5)/255 (0.5 gray levels stands in for the
# 8-bit quantisation a noise-free track still has). Tuned on the starter validation split: about
# 100 from σ = 2.55 to 25 (Gaussian and motion blur alike), near the inverse filter without noise.
WIENER_BALANCE = {0: 1.0, 2.55: 100.0}


def regulariser_transfer(kind: str, shape: tuple[int, int]) -> np.ndarray:
    """|R(ω)|² on the rfft2 grid of `shape` for the Wiener regulariser `kind`.

    laplacian: the 5-point Laplacian (Gonzalez & Woods' constrained least-squares filter, and
    scikit-image's `wiener` default); gradient: |Dx|² + |Dy|² of forward differences, i.e. a Wiener
    filter whose image power spectrum falls as 1/|ω|²; identity: 1 (a constant noise-to-signal ratio).
    """
    if kind == "identity":
        return np.ones((shape[0], shape[1] // 2 + 1))
    wy = 2.0 * math.pi * np.fft.fftfreq(shape[0])[:, None]
    wx = 2.0 * math.pi * np.fft.rfftfreq(shape[1])[None, :]
    grad2 = (2.0 - 2.0 * np.cos(wy)) + (2.0 - 2.0 * np.cos(wx))  # |e^{iω} - 1|² summed over axes
    return grad2 * grad2 if kind == "laplacian" else grad2


def wiener_deconvolve(
    image: np.ndarray,
    kernel: np.ndarray,
    balance: float,
    regulariser: str = "gradient",
    boundary: str = "symmetric",
) -> np.ndarray:
    """x̂ = F⁻¹( H* Y / (|H|² + balance · |R|²) ), per channel.

    image: (H, W) or (H, W, C); kernel: odd (h, w) summing to 1; balance >= 0 (0 is the plain
    inverse filter, unstable with noise); regulariser: see `regulariser_transfer`; boundary:
    "symmetric" works on the mirror extension (2H, 2W), "periodic" on the image itself (what
    scikit-image's `restoration.wiener` assumes).
    """
    out = []
    for channel in _channels(image):
        work = mirror_extend(channel) if boundary == "symmetric" else channel
        h_tf = kernel_transfer(kernel, work.shape)
        r2 = regulariser_transfer(regulariser, work.shape)
        spectrum = np.conj(h_tf) * np.fft.rfft2(work) / (np.abs(h_tf) ** 2 + balance * r2)
        restored = np.fft.irfft2(spectrum, s=work.shape)
        out.append(restored[: channel.shape[0], : channel.shape[1]])
    return _stack(out, image)


def _wiener_defaults(ctx: RestorationContext) -> dict[str, Any]:
    sigma_eff = max(float(ctx.sigma or 0.0), 0.5) / 255.0
    return {
        "balance": tuned(ctx.sigma, WIENER_BALANCE) * sigma_eff * sigma_eff,
        "regulariser": "gradient",
        "boundary": "symmetric",
    }


@register_method(
    "wiener",
    family="transform",
    tasks=("deblur",),
    citation="N. Wiener, Extrapolation, Interpolation, and Smoothing of Stationary Time Series, MIT "
    "Press, 1949; R. C. Gonzalez and R. E. Woods, Digital Image Processing, 4th ed., 2018, sec. 5.8-5.9",
    defaults=_wiener_defaults,
)
def wiener(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Wiener deconvolution with a 1/|ω|² image spectrum (non-blind: uses the track's kernel)."""
    p = _parameters("wiener", context)
    _check(p["balance"] >= 0, "wiener", f"balance must be >= 0, got {p['balance']}")
    _check(p["regulariser"] in REGULARISERS, "wiener", f"regulariser must be one of {REGULARISERS}")
    _check(p["boundary"] in BOUNDARIES, "wiener", f"boundary must be one of {BOUNDARIES}")
    kernel = np.asarray(context.kernel, dtype=np.float64)
    _check(
        kernel.shape[0] % 2 == 1 and kernel.shape[1] % 2 == 1,
        "wiener",
        f"the kernel must have odd sizes, got {kernel.shape}",
    )
    return wiener_deconvolve(degraded, kernel, float(p["balance"]), p["regulariser"], p["boundary"])


# ---------------------------------------------------------------------------------------------
# Fourier low-pass

LOWPASS_CUTOFF = {5: 0.48, 15: 0.32, 25: 0.2, 50: 0.1}  # cycles per pixel
LOWPASS_ORDER = {5: 4, 15: 2, 25: 1, 50: 1}  # tuned with the cutoff (rounded when interpolated)


def butterworth_lowpass(
    image: np.ndarray, cutoff: float, order: int = 2, boundary: str = "symmetric"
) -> np.ndarray:
    """Butterworth low-pass H(f) = 1 / (1 + (|f| / cutoff)^(2·order)), |f| in cycles per pixel
    (0.5 = Nyquist along an axis), per channel, on the mirror extension by default."""
    out = []
    for channel in _channels(image):
        work = mirror_extend(channel) if boundary == "symmetric" else channel
        fy = np.fft.fftfreq(work.shape[0])[:, None]
        fx = np.fft.rfftfreq(work.shape[1])[None, :]
        gain = 1.0 / (1.0 + ((fy * fy + fx * fx) / (cutoff * cutoff)) ** order)
        restored = np.fft.irfft2(gain * np.fft.rfft2(work), s=work.shape)
        out.append(restored[: channel.shape[0], : channel.shape[1]])
    return _stack(out, image)


@register_method(
    "fourier_lowpass",
    family="transform",
    tasks=("denoise",),
    citation="S. Butterworth, On the theory of filter amplifiers, Experimental Wireless 7:536-541, 1930; "
    "R. C. Gonzalez and R. E. Woods, Digital Image Processing, 4th ed., 2018, sec. 4.8",
    defaults=lambda ctx: {
        "cutoff": tuned(ctx.sigma, LOWPASS_CUTOFF),
        "order": int(round(tuned(ctx.sigma, LOWPASS_ORDER))),
        "boundary": "symmetric",
    },
)
def fourier_lowpass(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Frequency-domain Butterworth low-pass filter with a noise-dependent cutoff."""
    p = _parameters("fourier_lowpass", context)
    m = "fourier_lowpass"
    _check(0 < p["cutoff"], m, f"cutoff must be > 0 cycles/pixel, got {p['cutoff']}")
    _check(1 <= p["order"] <= 20, m, f"order must be an integer in [1, 20], got {p['order']}")
    _check(p["boundary"] in BOUNDARIES, m, f"boundary must be one of {BOUNDARIES}")
    return butterworth_lowpass(degraded, float(p["cutoff"]), int(p["order"]), p["boundary"])


# ---------------------------------------------------------------------------------------------
# Wavelet shrinkage

THRESHOLD_MODES = ("soft", "hard")


def _wavelet_levels(shape: tuple[int, int], wavelet: str, levels: int | None) -> int:
    """`levels`, capped at the deepest useful level; by default that level minus 3 (at least 1)."""
    max_level = max(pywt.dwtn_max_level(shape, wavelet), 1)
    if levels is None:
        return max(max_level - 3, 1)
    return min(int(levels), max_level)


def wavelet_shrink(
    image: np.ndarray,
    noise_std: float,
    rule: str,
    wavelet: str = "db8",
    levels: int | None = None,
    mode: str = "soft",
    scale: float = 1.0,
) -> np.ndarray:
    """Orthogonal-wavelet shrinkage, per channel: decompose, threshold the detail subbands, invert.

    rule "visushrink": one universal threshold τ = σ·sqrt(2 ln N) for every subband (N = pixels),
    Donoho & Johnstone 1994. rule "bayesshrink": per detail subband τ = σ² / σ_x with
    σ_x = sqrt(max(mean(c²) - σ², ε)), the Bayes-risk-minimising soft threshold for a generalised
    Gaussian prior (Chang, Yu & Vetterli 2000). `scale` multiplies every threshold (1 = the papers).
    The approximation band is kept. Decomposition: `pywt.wavedec2` with symmetric extension,
    `levels` (default: the maximum level minus 3, at least 1, as scikit-image does).
    noise_std in intensity units.
    """
    out = []
    for channel in _channels(image):
        lv = _wavelet_levels(channel.shape, wavelet, levels)
        coeffs = pywt.wavedec2(channel, wavelet, mode="symmetric", level=lv)
        var = noise_std * noise_std
        universal = noise_std * math.sqrt(2.0 * math.log(channel.size))
        shrunk = [coeffs[0]]
        for details in coeffs[1:]:
            level = []
            for band in details:
                if rule == "visushrink":
                    tau = universal
                else:
                    excess = max(float(np.mean(band * band)) - var, np.finfo(np.float64).eps)
                    tau = var / math.sqrt(excess)
                level.append(pywt.threshold(band, scale * tau, mode=mode))
            shrunk.append(tuple(level))
        restored = pywt.waverec2(shrunk, wavelet, mode="symmetric")
        out.append(restored[: channel.shape[0], : channel.shape[1]])
    return _stack(out, image)


# Decomposition depth tuned per σ on Train400 (sym8 won or tied at every σ); the thresholds
# themselves are the papers' (scale 1).
WAVELET_LEVELS = {"visushrink": {5: 1, 15: 1, 25: 2, 50: 3}, "bayesshrink": {5: 3, 15: 3, 25: 3, 50: 4}}


def _shrink(rule: str, degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    p = _parameters(rule, context)
    _check(p["wavelet"] in pywt.wavelist(kind="discrete"), rule, f"unknown discrete wavelet {p['wavelet']!r}")
    _check(1 <= p["levels"] <= 10, rule, f"levels must be in [1, 10], got {p['levels']}")
    _check(p["mode"] in THRESHOLD_MODES, rule, f"mode must be one of {THRESHOLD_MODES}, got {p['mode']!r}")
    _check(p["scale"] > 0, rule, f"scale must be > 0, got {p['scale']}")
    noise = float(context.sigma) / 255.0
    return wavelet_shrink(degraded, noise, rule, p["wavelet"], p["levels"], p["mode"], float(p["scale"]))


def _wavelet_defaults(rule: str):
    def defaults(ctx: RestorationContext) -> dict[str, Any]:
        return {
            "wavelet": "sym8",
            "levels": int(round(tuned(ctx.sigma, WAVELET_LEVELS[rule]))),
            "mode": "soft",
            "scale": 1.0,
        }

    return defaults


@register_method(
    "visushrink",
    family="transform",
    tasks=("denoise",),
    citation="D. L. Donoho and I. M. Johnstone, Ideal spatial adaptation by wavelet shrinkage, "
    "Biometrika 81(3):425-455, 1994",
    defaults=_wavelet_defaults("visushrink"),
)
def visushrink(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Wavelet soft thresholding with the universal threshold σ·sqrt(2 ln N)."""
    return _shrink("visushrink", degraded, context)


@register_method(
    "bayesshrink",
    family="transform",
    tasks=("denoise",),
    citation="S. G. Chang, B. Yu and M. Vetterli, Adaptive wavelet thresholding for image denoising "
    "and compression, IEEE TIP 9(9):1532-1546, 2000",
    defaults=_wavelet_defaults("bayesshrink"),
)
def bayesshrink(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Wavelet soft thresholding with a subband-adaptive Bayesian threshold σ²/σ_x."""
    return _shrink("bayesshrink", degraded, context)


# ---------------------------------------------------------------------------------------------
# Curvelet shrinkage

# Starck, Candès & Donoho (2002) use k = 4 (finest) / 3; tuned on Train400, our undecimated frame
# prefers slightly lower thresholds at low noise.
CURVELET_K_FINE = {5: 3.0, 15: 3.0, 25: 3.5, 50: 4.0}
CURVELET_K_OTHER = {5: 2.5, 15: 2.5, 25: 2.5, 50: 3.0}
CURVELET_PAD = 16  # pixels of symmetric extension against the transform's periodicity


def curvelet_denoise(
    image: np.ndarray,
    noise_std: float,
    k_fine: float = 4.0,
    k_other: float = 3.0,
    scales: int | None = None,
    coarsest_orientations: int = 8,
    pad: int = CURVELET_PAD,
) -> np.ndarray:
    """Hard thresholding in the curvelet tight frame (Starck, Candès & Donoho 2002's rule: keep
    |c| >= k·σ_b, k = 4 at the finest scale and 3 elsewhere), per channel, on the image extended
    symmetrically by `pad` pixels. noise_std in intensity units."""
    out = []
    for channel in _channels(image):
        p = min(pad, channel.shape[0] - 1, channel.shape[1] - 1)
        work = np.pad(channel, p, mode="symmetric")
        frame = CurveletFrame(work.shape, scales, coarsest_orientations)
        restored = frame.hard_threshold(work, noise_std, k_fine, k_other)
        out.append(restored[p : p + channel.shape[0], p : p + channel.shape[1]])
    return _stack(out, image)


@register_method(
    "curvelet",
    family="transform",
    tasks=("denoise",),
    citation="J.-L. Starck, E. J. Candès and D. L. Donoho, The curvelet transform for image denoising, "
    "IEEE TIP 11(6):670-684, 2002; E. J. Candès, L. Demanet, D. L. Donoho and L. Ying, Fast discrete "
    "curvelet transforms, Multiscale Model. Simul. 5(3):861-899, 2006",
    defaults=lambda ctx: {
        "k_fine": tuned(ctx.sigma, CURVELET_K_FINE),
        "k_other": tuned(ctx.sigma, CURVELET_K_OTHER),
        "scales": None,
        "coarsest_orientations": 8,
    },
)
def curvelet(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """Hard thresholding in an undecimated, frequency-partitioned curvelet tight frame."""
    p = _parameters("curvelet", context)
    m = "curvelet"
    _check(p["k_fine"] >= 0 and p["k_other"] >= 0, m, "k_fine and k_other must be >= 0")
    _check(p["scales"] is None or 2 <= p["scales"] <= 12, m, f"scales must be in [2, 12], got {p['scales']}")
    _check(1 <= p["coarsest_orientations"] <= 64, m, "coarsest_orientations must be in [1, 64]")
    _check(min(degraded.shape[:2]) >= 8, m, f"image must be at least 8x8, got {degraded.shape[:2]}")
    noise = float(context.sigma) / 255.0
    return curvelet_denoise(
        degraded, noise, p["k_fine"], p["k_other"], p["scales"], p["coarsest_orientations"]
    )
