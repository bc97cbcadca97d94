"""ITU-R BT.601 YCbCr as MATLAB's `rgb2ycbcr` / `ycbcr2rgb` compute it, for the "y" colour mode.

Arrays are float, RGB in [0, 1] with shape (H, W, 3); Y, Cb, Cr are returned on [0, 1] too
(Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255, so Y lies in [16/255, 235/255]).
Source: ITU-R BT.601; the constants are MATLAB's documented ones, used by the SRCNN/VDSR evaluation.
"""

from __future__ import annotations

import numpy as np

_M = np.array(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]], dtype=np.float64
)
_OFFSET = np.array([16.0, 128.0, 128.0])


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB on [0, 1] -> (H, W, 3) Y, Cb, Cr on [0, 1]."""
    return (rgb.astype(np.float64) @ _M.T + _OFFSET) / 255.0


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_ycbcr` (not clipped)."""
    return (ycc.astype(np.float64) * 255.0 - _OFFSET) @ np.linalg.inv(_M).T
