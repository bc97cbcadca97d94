"""The starter benchmark: small crops of the natural images that installed packages ship.

It needs no download, so a fresh machine can run the demo and the tests. Two variants, each a recipe
in `datasets/` (`checksums: "built"`):

- `starter`: 192 x 192 RGB crops of scikit-image's astronaut, chelsea, coffee, motorcycle, ihc and
  rocket images, plus matplotlib's grace_hopper photo when matplotlib is installed (optional);
- `starter_gray`: 192 x 192 gray crops of scikit-image's camera, coins, moon, brick, grass, gravel.

192 = 16 x 12, a multiple of every SR scale (2, 3, 4). Splits keep all crops of one source photo in
the same split, so train and test never share a photo.

Each recipe entry pins the SHA-256 of the cropped uint8 pixels (row-major bytes), so a package that
ships a different image is detected (a required image then stops the build; an optional one is left
out and the build manifest says so). The PNG files' own checksums are computed at build time and
written to `<out>/manifest.json` in the same format as an imported dataset.

`build_starter(out_dir)` is idempotent: when `out_dir` already holds a build of the same recipe whose
files match its manifest, nothing is rewritten.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchdata.image_files import write_image
from benchdata.importing import STORE_MANIFEST, data_root, store_manifest, verify_store
from benchdata.manifests import SCHEMA_VERSION, DatasetManifest, ManifestError, load_manifest, scan_folder

STARTER_VARIANTS = ("starter", "starter_gray")


class StarterBuildError(RuntimeError):
    """A required source image is missing or is not the image the recipe pins."""


def pixels_sha256(pixels: np.ndarray) -> str:
    """SHA-256 of a uint8 array's row-major bytes (what the recipe pins)."""
    return hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).hexdigest()


def _source_path(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / relative
    return path if path.is_file() else None


def _package_version(package: str) -> str | None:
    distribution = {"skimage": "scikit-image"}.get(package, package)
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def load_recipe_crop(entry: dict) -> np.ndarray | None:
    """The uint8 crop an entry describes, or None when its (optional) source is not installed."""
    path = _source_path(entry["package"], entry["file"])
    if path is None:
        if entry.get("optional"):
            return None
        raise StarterBuildError(
            f"starter image {entry['name']}: {entry['package']}/{entry['file']} is not installed"
        )
    with Image.open(path) as image:
        pixels = np.asarray(image.convert(entry["mode"]))
    top, left, height, width = entry["crop"]
    crop = pixels[top : top + height, left : left + width]
    if crop.shape[:2] != (height, width):
        raise StarterBuildError(
            f"starter image {entry['name']}: {path} is too small for the crop {entry['crop']}"
        )
    return crop


def _recipe_key(manifest: DatasetManifest) -> str:
    return hashlib.sha256(repr(manifest.data["recipe"]).encode()).hexdigest()


def _up_to_date(out: Path, recipe_key: str) -> bool:
    if not (out / STORE_MANIFEST).is_file():
        return False
    try:
        report = verify_store(out)
        stored = store_manifest(out)
    except (ManifestError, OSError, ValueError):
        return False
    same_recipe = stored.data.get("built", {}).get("recipe_sha256") == recipe_key
    return report.ok and not report.extra and same_recipe


def build_starter(out_dir: str | Path | None = None, variant: str = "starter") -> Path:
    """Build (or confirm) the starter benchmark `variant` in `out_dir` (default: the data store)."""
    if variant not in STARTER_VARIANTS:
        raise ValueError(f"unknown starter variant {variant!r}; valid: {', '.join(STARTER_VARIANTS)}")
    recipe = load_manifest(variant)
    if recipe.data["checksums"] != "built":
        raise ManifestError(f"datasets/{variant}.json: a starter manifest must have checksums 'built'")
    out = Path(out_dir) if out_dir is not None else data_root() / variant
    key = _recipe_key(recipe)
    if _up_to_date(out, key):
        return out

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{variant}-", dir=out.parent))
    try:
        included, left_out = [], []
        for entry in recipe.data["recipe"]:
            crop = load_recipe_crop(entry)
            if crop is not None and pixels_sha256(crop) != entry["pixels_sha256"]:
                if not entry.get("optional"):
                    found, pinned = pixels_sha256(crop)[:12], entry["pixels_sha256"][:12]
                    raise StarterBuildError(
                        f"starter image {entry['name']}: the installed {entry['package']} ships other pixels "
                        f"for {entry['file']} (sha256 {found}..., recipe {pinned}...)"
                    )
                crop = None
            if crop is None:
                left_out.append(entry["name"])
                continue
            write_image(staging / f"{entry['name']}.png", crop)
            included.append(entry)
        files = scan_folder(staging)
        splits: dict[str, list[str]] = {}
        for entry in included:
            splits.setdefault(entry["split"], []).append(f"{entry['name']}.png")
        sources = sorted({entry["package"] for entry in included})
        data = {
            "schema": SCHEMA_VERSION,
            "name": variant,
            "title": recipe.data["title"],
            "description": recipe.data["description"],
            "variant": recipe.data.get("variant"),
            "checksums": "known",
            "splits": {split: sorted(names) for split, names in sorted(splits.items())},
            "source": recipe.data["source"],
            "licence": recipe.data["licence"],
            "recommended_use": recipe.data["recommended_use"],
            "built": {
                "recipe_sha256": key,
                "packages": {package: _package_version(package) for package in sources},
                "left_out": left_out,
            },
            "files": [record.to_dict() for record in files.values()],
        }
        (staging / STORE_MANIFEST).write_text(DatasetManifest(variant, data).to_json(), encoding="utf-8")
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{variant}-old-", dir=out.parent))
            out.rename(retired / variant)
            staging.rename(out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
