"""The degradation model y = Hx + n for the four tracks (denoise, deblur, sr, inpaint).

Public API: `DegradationSpec.from_dict({...})`, `degrade(image, spec, seed) -> Degraded`, plus the
building blocks (kernels, masks, convolution) for callers that need them alone.
"""

from benchdata.degradations.apply import Degraded, degrade
from benchdata.degradations.convolution import BOUNDARY_MODES, convolve
from benchdata.degradations.kernels import (
    gaussian_kernel,
    load_kernel,
    motion_kernel,
    save_kernel,
    validate_kernel,
)
from benchdata.degradations.masks import brush_strokes_mask, random_boxes_mask, random_pixels_mask
from benchdata.degradations.spec import TASKS, DegradationSpec, KernelSpec, MaskSpec, SpecError

__all__ = [
    "BOUNDARY_MODES",
    "TASKS",
    "DegradationSpec",
    "Degraded",
    "KernelSpec",
    "MaskSpec",
    "SpecError",
    "brush_strokes_mask",
    "convolve",
    "degrade",
    "gaussian_kernel",
    "load_kernel",
    "motion_kernel",
    "random_boxes_mask",
    "random_pixels_mask",
    "save_kernel",
    "validate_kernel",
]
