"""Blur kernels for deblurring tracks: Gaussian, random camera-shake motion, and kernels from files.

A kernel is float64 (h, w) with odd h and w, non-negative, summing to 1, centred at (h // 2, w // 2)
(docs/architecture.md). On disk: `.npy` (exact float64) plus a PNG preview scaled so the largest
tap is 255 (`save_kernel`); `load_kernel` reads `.npy` or `.png`.

Motion blur follows the camera-shake trajectory model of G. Boracchi and A. Foi, "Modeling the
performance of image restoration from motion blur", IEEE TIP 21(8), 2012: a 2-D random walk of the
camera with inertia (velocity kept at a fixed step length), a Gaussian random acceleration, a
centripetal pull toward the start, and rare abrupt "shakes" that reverse the direction partly. The
trajectory is rasterised with bilinear splatting into the kernel grid.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

KERNEL_SUM_TOLERANCE = 1e-6


def validate_kernel(kernel: np.ndarray, what: str = "kernel") -> np.ndarray:
    """Return `kernel` as float64 after checking: 2-D, odd sizes, finite, >= 0, sum 1 (+-1e-6)."""
    array = np.asarray(kernel, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{what}: must be 2-D, got shape {array.shape}")
    if array.shape[0] % 2 == 0 or array.shape[1] % 2 == 0:
        raise ValueError(f"{what}: sizes must be odd so the kernel has a centre, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what}: contains NaN or infinite values")
    if array.min() < 0:
        raise ValueError(f"{what}: has negative taps (min {array.min():.3g}); blur kernels are non-negative")
    total = float(array.sum())
    if abs(total - 1.0) > KERNEL_SUM_TOLERANCE:
        raise ValueError(f"{what}: taps sum to {total:.9g}, not 1 (tolerance {KERNEL_SUM_TOLERANCE:g})")
    return array


def gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian of odd `size` and std `sigma` pixels: exp(-x^2 / (2 sigma^2)) / sum."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"gaussian kernel: size must be a positive odd integer, got {size}")
    if not sigma > 0:
        raise ValueError(f"gaussian kernel: sigma must be > 0, got {sigma}")
    # math.exp (the C library), not numpy's SIMD exp, whose last bit can depend on the CPU.
    g = np.array([math.exp(-((i - size // 2) ** 2) / (2.0 * sigma * sigma)) for i in range(size)])
    return g / g.sum()


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """Isotropic 2-D Gaussian, size x size, as MATLAB's fspecial('gaussian', size, sigma) (outer product
    of the normalised 1-D Gaussian, which equals fspecial's normalised 2-D form up to rounding)."""
    g = gaussian_kernel_1d(size, sigma)
    return np.outer(g, g)


def motion_kernel(
    size: int, rng: np.random.Generator, intensity: float = 0.5, steps: int = 2000
) -> np.ndarray:
    """Random camera-shake kernel (Boracchi & Foi 2012), size x size, from the generator `rng`.

    intensity in [0, 1] scales the random and centripetal accelerations and the frequency of abrupt
    shakes (0 gives a straight line; 1 gives strongly curved, occasionally kinked paths). The
    trajectory's length is the kernel's size minus 2 pixels; its centroid is placed at the kernel
    centre and it is shrunk about the centroid if it would leave the grid.
    """
    if size < 3 or size % 2 == 0:
        raise ValueError(f"motion kernel: size must be an odd integer >= 3, got {size}")
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"motion kernel: intensity must be in [0, 1], got {intensity}")
    length = float(size - 2)
    step = length / (steps - 1)
    # The model's random constants, drawn per kernel as in the paper's generator; `anxiety` (the
    # paper's exposure-dependent scale) weights the random and centripetal accelerations.
    anxiety = 0.01 * intensity
    centripetal = 0.7 * float(rng.random())
    gaussian_term = 10.0 * float(rng.random())
    shake_probability = 0.2 * float(rng.random()) * anxiety
    angle = 2.0 * math.pi * float(rng.random())
    normals = rng.standard_normal((steps, 2)).tolist()
    shake_draws = rng.random((steps, 2)).tolist()
    # Scalar Python floats and the math module (not numpy's SIMD transcendental functions, whose last
    # bit depends on the CPU): the trajectory is the same on every machine with the same C library.
    vx, vy = math.cos(angle) * step, math.sin(angle) * step
    px = py = 0.0
    xs = [0.0] * steps
    ys = [0.0] * steps
    for t in range(steps):
        xs[t], ys[t] = px, py
        sx = sy = 0.0
        if shake_draws[t][0] < shake_probability:
            # Abrupt shake: a kick of twice the velocity, turned by pi +- 0.5 rad (roughly backwards).
            turn = math.pi + (shake_draws[t][1] - 0.5)
            sx = 2.0 * (vx * math.cos(turn) - vy * math.sin(turn))
            sy = 2.0 * (vx * math.sin(turn) + vy * math.cos(turn))
        ax = anxiety * (gaussian_term * normals[t][0] - centripetal * px) * step
        ay = anxiety * (gaussian_term * normals[t][1] - centripetal * py) * step
        vx, vy = vx + ax + sx, vy + ay + sy
        magnitude = math.hypot(vx, vy)
        if magnitude > 0:
            vx, vy = vx / magnitude * step, vy / magnitude * step
        else:
            vx, vy = step, 0.0
        px, py = px + vx, py + vy
    points = np.array(xs) + 1j * np.array(ys)
    points = points - points.mean()
    centre = size // 2
    reach = float(np.max(np.maximum(np.abs(points.real), np.abs(points.imag))))
    limit = centre - 1.0  # keep every bilinear splat inside the grid
    if reach > limit:
        points = points * (limit / reach)
    return _splat(points.real + centre, points.imag + centre, size)


def _splat(cols: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    kernel = np.zeros((size, size), dtype=np.float64)
    r0 = np.floor(rows).astype(np.int64)
    c0 = np.floor(cols).astype(np.int64)
    fr = rows - r0
    fc = cols - c0
    # np.add.at accumulates in index order: deterministic.
    np.add.at(kernel, (r0, c0), (1 - fr) * (1 - fc))
    np.add.at(kernel, (r0 + 1, c0), fr * (1 - fc))
    np.add.at(kernel, (r0, c0 + 1), (1 - fr) * fc)
    np.add.at(kernel, (r0 + 1, c0 + 1), fr * fc)
    return kernel / kernel.sum()


def load_kernel(path: str | Path, normalize: bool = False) -> np.ndarray:
    """Load a kernel from `.npy` (float array) or `.png` (gray; always normalised to sum 1, since 8-bit
    taps cannot sum to 1). A `.npy` kernel must already sum to 1 unless `normalize` is true."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"kernel file {path}: not found")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise ValueError(f"kernel file {path}: not a plain numpy array ({error})") from error
        array = np.asarray(array, dtype=np.float64)
    elif suffix == ".png":
        with Image.open(path) as image:
            if image.mode not in ("L", "I;16", "I;16B", "I"):
                raise ValueError(f"kernel file {path}: a kernel PNG must be gray, got mode {image.mode!r}")
            array = np.asarray(image, dtype=np.float64)
        normalize = True
    else:
        raise ValueError(f"kernel file {path}: unsupported extension {suffix!r} (use .npy or .png)")
    if normalize:
        if array.ndim != 2 or not np.all(np.isfinite(array)) or array.min() < 0 or array.sum() <= 0:
            raise ValueError(
                f"kernel file {path}: cannot normalise (need a finite non-negative 2-D array with sum > 0)"
            )
        array = array / array.sum()
    return validate_kernel(array, f"kernel file {path}")


def save_kernel(path: str | Path, kernel: np.ndarray) -> tuple[Path, Path]:
    """Write `kernel` to `path` (.npy, exact) and a PNG preview beside it (largest tap = 255)."""
    path = Path(path)
    if path.suffix != ".npy":
        raise ValueError(f"save_kernel: path must end in .npy, got {path}")
    kernel = validate_kernel(kernel)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, kernel, allow_pickle=False)
    preview = path.with_suffix(".png")
    scaled = np.floor(kernel / kernel.max() * 255.0 + 0.5).astype(np.uint8)
    Image.fromarray(scaled).save(preview, format="PNG", compress_level=6)
    return path, preview
