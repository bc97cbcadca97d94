"""The bicubic protocol reproduces the published Set14 numbers (VDSR Table 3) on the shared CSet14 copy.

CSet14 is imported exactly as an organizer would (benchdata.importing.import_dataset), then every image
goes HR -> modcrop -> LR (uint8) -> bicubic SR (uint8), and PSNR is computed on the BT.601 luma
Y = 16 + 65.481 R + 128.553 G + 24.966 B (R, G, B on [0, 1]) with `scale` pixels shaved from every border,
as MATLAB's rgb2ycbcr and the SR papers' scripts do. Images stored as single-channel gray (bridge)
are compared on their gray values, as those scripts do (rgb2ycbcr is only applied to 3-channel images).
"""

import numpy as np
import pytest

from benchdata.importing import import_dataset, store_manifest
from benchdata.resize import bicubic_sr_protocol

from .conftest import shared_data_dir

PUBLISHED_BICUBIC_SET14 = {2: 30.24, 3: 27.55, 4: 26.00}  # VDSR (Kim et al., CVPR 2016), Table 3


def _y(image: np.ndarray) -> np.ndarray:
    values = image.astype(np.float64)
    if values.ndim == 2:
        return values
    return 16.0 + (65.481 * values[..., 0] + 128.553 * values[..., 1] + 24.966 * values[..., 2]) / 255.0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10.0 * np.log10(255.0**2 / np.mean((a - b) ** 2)))


@pytest.fixture(scope="module")
def cset14(tmp_path_factory):
    shared = shared_data_dir()
    if shared is None:
        pytest.skip("the shared benchmark data (../shared/data) is not on this machine")
    store = tmp_path_factory.mktemp("store")
    return import_dataset("cset14", shared / "CSet14", store).directory


@pytest.mark.slow
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_y_psnr_on_cset14_matches_the_published_table(cset14, scale):
    from PIL import Image

    scores = []
    for name in store_manifest(cset14).split("test"):
        hr = np.asarray(Image.open(cset14 / name))
        result = bicubic_sr_protocol(hr, scale)
        shave = (slice(scale, -scale), slice(scale, -scale))
        scores.append(_psnr(_y(result.hr)[shave], _y(result.sr)[shave]))
    assert len(scores) == 14
    # The table rounds to 0.01 dB and used another copy of Set14; this copy lands within 0.015 dB
    # (x3: 27.540 vs 27.55). Measured on this copy: a = -0.75 or no antialiasing moves the mean by
    # 0.19 to 0.98 dB, truncating instead of rounding the uint8 images by 0.03 to 0.07 dB.
    assert abs(np.mean(scores) - PUBLISHED_BICUBIC_SET14[scale]) < 0.015
