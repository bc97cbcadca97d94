"""Example organizer data: pairs for the `enhance` example bundle (low-light photos and their clean
originals), and inputs alone for the real-world SR example (a track without ground truth).

The project ships no image, so the pairs are made on the user's machine from the starter benchmark's
crops of the photos scikit-image ships (`benchdata.starter`, pixels pinned by SHA-256): a stand-in for
the real pairs an organizer of a low-light track brings. `write_lowlight_pairs(out_dir)` writes

    out_dir/dev/input/<id>.png   out_dir/dev/gt/<id>.png     the starter's "val" crops
    out_dir/test/input/<id>.png  out_dir/test/gt/<id>.png    the starter's "test" crops

Low-light model (in the spirit of the synthetic pairs of Lv et al., "MBLLEN", BMVC 2018): with x the
clean image on [0, 1], the exposure is darkened and its tone curve bent, y = 0.2 * x ** 1.6; then shot
noise (Poisson, 400 photons at full scale) and read noise (Gaussian, sigma 1.5 on the 0-255 scale) are
added, and y is written as an 8-bit PNG (`to_uint8`). Each image's draws come from
`numpy.random.Generator(PCG64(image_seed(seed, id)))`, so the files are a pure function of the crops
and the seed (bit-reproducible).

`write_realworld_sr_inputs(out_dir)` writes `out_dir/dev/input/<id>.png` and `out_dir/test/input/<id>.png`
only: stand-ins for real-world low-resolution photos that have no high-resolution original. Each is the
crop downscaled ×2 (MATLAB-compatible bicubic, `benchdata.resize.imresize`) with Gaussian noise of
sigma 2 (0-255 scale) from the image's own seed, as an 8-bit PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchdata.degradations.seeds import image_seed
from benchdata.image_files import write_image
from benchdata.manifests import load_manifest
from benchdata.resize import imresize
from benchdata.starter import load_recipe_crop, pixels_sha256

GAIN = 0.2
GAMMA = 1.6
PHOTONS = 400.0
READ_NOISE = 1.5 / 255.0
SPLITS = {"dev": "val", "test": "test"}
DEFAULT_SEED = 2605


def darken(clean: np.ndarray, seed: int) -> np.ndarray:
    """The low-light version of `clean` (float64 on [0, 1]); see the module docstring."""
    rng = np.random.Generator(np.random.PCG64(seed))
    mean = GAIN * np.power(clean, GAMMA)
    shot = rng.poisson(mean * PHOTONS) / PHOTONS
    return shot + rng.normal(0.0, READ_NOISE, clean.shape)


def write_lowlight_pairs(out_dir: str | Path, seed: int = DEFAULT_SEED, per_split: int = 3) -> Path:
    """Write the example pairs under `out_dir` (see the module docstring); return `out_dir`."""
    out = Path(out_dir)
    for folder, split in SPLITS.items():
        for name, crop in _checked_crops(split, per_split):
            clean = crop.astype(np.float64) / 255.0
            write_image(out / folder / "gt" / f"{name}.png", crop)
            write_image(out / folder / "input" / f"{name}.png", darken(clean, image_seed(seed, name)))
    return out


def _checked_crops(split: str, per_split: int) -> list[tuple[str, np.ndarray]]:
    recipe = load_manifest("starter").data["recipe"]
    entries = [e for e in recipe if e["split"] == split and not e.get("optional")][:per_split]
    crops = []
    for entry in entries:
        crop = load_recipe_crop(entry)
        if crop is None or pixels_sha256(crop) != entry["pixels_sha256"]:
            raise ValueError(f"starter image {entry['name']}: not the pixels the recipe pins")
        crops.append((entry["name"], crop))
    return crops


REALWORLD_SCALE = 2
REALWORLD_NOISE = 2.0 / 255.0


def write_realworld_sr_inputs(out_dir: str | Path, seed: int = DEFAULT_SEED, per_split: int = 3) -> Path:
    """Write the real-world SR example's inputs under `out_dir` (see the module docstring); return it."""
    out = Path(out_dir)
    for folder, split in SPLITS.items():
        for name, crop in _checked_crops(split, per_split):
            small = imresize(crop.astype(np.float64) / 255.0, 1 / REALWORLD_SCALE)
            rng = np.random.Generator(np.random.PCG64(image_seed(seed, name)))
            write_image(
                out / folder / "input" / f"{name}.png", small + rng.normal(0.0, REALWORLD_NOISE, small.shape)
            )
    return out
