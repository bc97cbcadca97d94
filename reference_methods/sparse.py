"""The sparse-representation family, by its former single-module name.

The family now lives in one module per concept: `reference_methods.patches` (patches on a grid),
`reference_methods.ksvd` (OMP, K-SVD, the `ksvd` method) and `reference_methods.scsr` (the lasso,
the `scsr` method). This module re-exports their public names so that code written against
`reference_methods.sparse` (training scripts, other methods' modules) keeps working.
"""

from __future__ import annotations

from reference_methods.ksvd import (
    ksvd_denoise_channel,
    ksvd_inpaint_channel,
    ksvd_train,
    masked_omp,
    omp,
    overcomplete_dct,
)
from reference_methods.patches import aggregate_patches, extract_patches, grid_positions
from reference_methods.scsr import (
    CoupledDictionary,
    back_projection,
    lasso,
    load_coupled_dictionary,
    rgb_to_ycbcr,
    scsr_feature_patches,
    scsr_features,
    scsr_upscale,
    upscale_bicubic,
    ycbcr_to_rgb,
)

__all__ = [
    "CoupledDictionary",
    "aggregate_patches",
    "back_projection",
    "extract_patches",
    "grid_positions",
    "ksvd_denoise_channel",
    "ksvd_inpaint_channel",
    "ksvd_train",
    "lasso",
    "load_coupled_dictionary",
    "masked_omp",
    "omp",
    "overcomplete_dct",
    "rgb_to_ycbcr",
    "scsr_feature_patches",
    "scsr_features",
    "scsr_upscale",
    "upscale_bicubic",
    "ycbcr_to_rgb",
]
