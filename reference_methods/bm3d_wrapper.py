"""BM3D through the `bm3d` package: `bm3d`.

BM3D (Dabov, Foi, Katkovnik & Egiazarian, IEEE TIP 2007) through the `bm3d` package of its
authors' group (Mäkinen, Azzari & Foi 2020), its default "np" profile (profile="2007": the 2007
MATLAB release's fixed parameters, for comparing with tables made with it); colour images use its
CBM3D (opponent colour space). (Not named `bm3d.py`: that would shadow the package.)

Array convention: float64, (H, W) gray or (H, W, 3) RGB on [0, 1]; σ on the 0–255 scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_methods.registry import MethodError, RestorationContext, get_method, register_method


def _bm3d_defaults(context: RestorationContext) -> dict[str, Any]:
    return {"profile": "np"}


_BM3D_PROFILES = {
    "np": "BM3DProfile",
    "refilter": "BM3DProfileRefilter",
    "vn": "BM3DProfileVN",
    "vn_old": "BM3DProfileVNOld",
    "high": "BM3DProfileHigh",
    "lc": "BM3DProfileLC",
    "2007": "BM3DProfile",  # adjusted in _bm3d_profile
}


def _bm3d_profile(name: str, sigma255: float) -> Any:
    """The package profile `name`; "2007" = the fixed parameters of the 2007 MATLAB release (BM3D.m).

    The package (v4) chooses the hard threshold λ_3D and the Wiener factor μ² itself (exact
    transform-domain variances, Mäkinen, Azzari & Foi 2020) and has no σ-dependent switch. The 2007
    release used λ_3D = 2.7, μ² = 1 ('np'), and for σ > 40 switched to the 'vn' settings (32 blocks,
    step 4, 11×11 Wiener blocks, step 6, τ_match 3500, λ_3D = 2.8). "2007" restores those, for
    comparing with tables computed with the original code (e.g. the DnCNN paper's BM3D rows).
    """
    from bm3d import profiles

    if name != "2007":
        return getattr(profiles, _BM3D_PROFILES[name])()
    profile = profiles.BM3DProfileVN() if sigma255 > 40 else profiles.BM3DProfile()
    profile.lambda_thr3d = 2.8 if sigma255 > 40 else 2.7
    profile.mu2 = 1.0
    return profile


@register_method(
    "bm3d",
    family="sparse",
    tasks=("denoise",),
    citation=(
        "Dabov, Foi, Katkovnik & Egiazarian, Image denoising by sparse 3-D transform-domain collaborative "
        "filtering, IEEE TIP 2007 (via the `bm3d` package, Mäkinen, Azzari & Foi 2020)"
    ),
    defaults=_bm3d_defaults,
    summary="BM3D collaborative filtering (the `bm3d` package; CBM3D for colour)",
)
def bm3d_method(degraded: np.ndarray, context: RestorationContext) -> np.ndarray:
    """BM3D collaborative filtering (the `bm3d` package; CBM3D for colour)."""
    import bm3d

    p = get_method("bm3d").parameters(context)
    name = p["profile"]
    if not isinstance(name, str) or name not in _BM3D_PROFILES:
        valid = ", ".join(_BM3D_PROFILES)
        raise MethodError(f"bm3d: parameter 'profile' must be one of {valid}, got {name!r}")
    profile = _bm3d_profile(name, float(context.sigma or 0.0))
    # One thread: the package's multi-threaded aggregation is not bit-reproducible across runs.
    profile.num_threads = 1
    sigma = float(context.sigma) / 255.0
    if sigma == 0:
        return degraded.copy()
    if degraded.ndim == 2:
        return np.asarray(bm3d.bm3d(degraded, sigma_psd=sigma, profile=profile), dtype=np.float64)
    return np.asarray(bm3d.bm3d_rgb(degraded, sigma_psd=sigma, profile=profile), dtype=np.float64)
