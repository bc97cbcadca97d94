"""Data and scoring shared by `bench/tune_classic_methods.py` and `bench/repro_classic_methods.py`.

Datasets come in through `benchdata`'s own import path, as a real organizer's would: the standard sets
from `../shared/data` via `import_dataset` (every file's SHA-256 checked against `datasets/*.json`),
the starter benchmark via `build_starter`. Both land in the data store (`var/datasets`, or
`$RESTOREBENCH_VAR_DIR/datasets`).

Scoring follows docs/conventions: gray denoising PSNR on images rounded and clipped to uint8, no
shave (DnCNN); SR PSNR/SSIM on BT.601 Y with `scale` pixels shaved; deblurring and inpainting
(starter, RGB) PSNR/SSIM over RGB after rounding to uint8, no shave. SSIM is the evaluator's
`ssim_index` implementation.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from benchdata.importing import dataset_dir, import_dataset, store_manifest
from benchdata.manifests import ManifestError
from benchdata.starter import build_starter
from evaluator.metrics.color import rgb_to_bt601_luma, shave_border
from evaluator.metrics.psnr import psnr as _psnr
from evaluator.metrics.ssim import ssim as _ssim
from reference_methods.registry import RestorationContext, restore

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
FOLDERS = {"train400": "Train400", "set12": "Set12", "bsd68": "BSD68", "cset14": "CSet14"}


def dataset(name: str) -> Path:
    """The imported folder of `name`, importing it from ../shared/data (verified) the first time."""
    if name in ("starter", "starter_gray"):
        return build_starter(variant=name)
    try:
        return dataset_dir(name)
    except ManifestError:
        return import_dataset(name, SHARED_DATA / FOLDERS[name]).directory


def images(name: str, split: str = "all") -> list[tuple[str, np.ndarray]]:
    """(stem, float64 image on [0, 1]) for every file of a split, sorted by name."""
    from benchdata.image_files import read_image

    folder = dataset(name)
    names = store_manifest(folder).split(split)
    return [(Path(n).stem, read_image(folder / n)) for n in names]


def quantize(image: np.ndarray) -> np.ndarray:
    """Round half away from zero to the 8-bit grid and clip, as files and the denoising tables do."""
    return np.clip(np.floor(image * 255.0 + 0.5), 0, 255) / 255.0


def _tensor(image: np.ndarray) -> torch.Tensor:
    array = image[None, None] if image.ndim == 2 else np.moveaxis(image, 2, 0)[None]
    return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float64)


def psnr_ssim(restored: np.ndarray, truth: np.ndarray, *, y_shave: int | None = None) -> tuple[float, float]:
    """PSNR (dB) and SSIM of uint8-rounded images; `y_shave` = scale: on BT.601 Y with that border shaved."""
    pred, gt = _tensor(quantize(restored)), _tensor(quantize(truth))
    if y_shave is not None:
        pred, gt = (
            shave_border(rgb_to_bt601_luma(pred), y_shave),
            shave_border(rgb_to_bt601_luma(gt), y_shave),
        )
    return float(_psnr(pred, gt)[0]), float(_ssim(pred, gt)[0])


def psnr_only(restored: np.ndarray, truth: np.ndarray) -> float:
    """PSNR (dB) of uint8-rounded images (the denoising tables' protocol), numpy only."""
    mse = float(np.mean((quantize(restored) - quantize(truth)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def timed_restore(name: str, degraded: np.ndarray, context: RestorationContext) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = restore(name, degraded, context)
    return out, time.perf_counter() - start
