"""The calibration pairs that ship in the pyiqa wheel (TID2013 I03, I04, I06, I08, I19: `ResultsCalibra/
dist_dir` and `ref_dir`) and the published reference values from pyiqa's `ResultsCalibra/
calibration_summary.csv` (chaofengc/IQA-PyTorch): the authors' MATLAB code on rgb2gray input ("niqe",
"brisque", "ms_ssim" rows: the original release code; "niqe_matlab", "brisque_matlab", "piqe": MATLAB's
built-in functions)."""

from pathlib import Path

import numpy as np
import pyiqa
from PIL import Image

from evaluator.metrics.color import matlab_rgb2gray_uint8

ROOT = Path(pyiqa.__file__).resolve().parents[1] / "ResultsCalibra"
NAMES = ("I03", "I04", "I06", "I08", "I19")
PUBLISHED = {
    "ms_ssim": dict(I03=0.6733, I04=0.9996, I06=0.9998, I08=0.9566, I19=0.8462),
    "niqe": dict(I03=15.7536, I04=3.6549, I06=3.2355, I08=3.184, I19=8.6352),
    "niqe_matlab": dict(I03=7.2, I04=2.99, I06=3.17, I08=3.71, I19=7.69),
    "brisque": dict(I03=94.6421, I04=-0.1076, I06=0.9929, I08=5.3583, I19=72.2617),
    "brisque_matlab": dict(I03=70.68, I04=-2.36, I06=15.8, I08=23.28, I19=60.97),
    "piqe": dict(I03=100.0, I04=21.62, I06=35.86, I08=41.15, I19=76.95),
}


def calibration_rgb(name: str, which: str = "dist") -> np.ndarray:
    path = ROOT / f"{which}_dir" / f"{name}.bmp"
    assert path.is_file(), f"pyiqa's calibration image {path.name} is missing from the installed wheel"
    return np.asarray(Image.open(path).convert("RGB"))


def calibration_gray(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(distorted, reference) as MATLAB rgb2gray gives them, float64 on 0–255."""
    return (
        matlab_rgb2gray_uint8(calibration_rgb(name, "dist")).astype(np.float64),
        matlab_rgb2gray_uint8(calibration_rgb(name, "ref")).astype(np.float64),
    )
