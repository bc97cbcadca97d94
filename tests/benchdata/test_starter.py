"""The starter benchmark: built from installed packages, checksummed, idempotent, leak-free splits."""

import hashlib

import numpy as np
import pytest

from benchdata.image_files import read_image
from benchdata.importing import store_manifest, verify_store
from benchdata.manifests import load_manifest
from benchdata.starter import build_starter, load_recipe_crop, pixels_sha256
from benchdata.store import ensure_dataset


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    return build_starter(tmp_path_factory.mktemp("starter") / "starter")


def test_the_build_manifest_lists_every_file_with_its_checksum(starter):
    manifest = store_manifest(starter)
    pngs = sorted(p.name for p in starter.glob("*.png"))
    assert sorted(manifest.files) == pngs and len(pngs) >= 10
    for name, record in manifest.files.items():
        assert hashlib.sha256((starter / name).read_bytes()).hexdigest() == record.sha256
    assert verify_store(starter).ok


def test_images_are_the_pinned_crops_of_the_package_images(starter):
    recipe = {entry["name"]: entry for entry in load_manifest("starter").data["recipe"]}
    for path in starter.glob("*.png"):
        entry = recipe[path.stem]
        pixels = np.round(read_image(path) * 255).astype(np.uint8)
        assert pixels.shape == (192, 192, 3)
        assert pixels_sha256(pixels) == entry["pixels_sha256"]
        assert np.array_equal(pixels, load_recipe_crop(entry))


def test_splits_cover_all_images_and_never_share_a_source_photo(starter):
    manifest = store_manifest(starter)
    recipe = {entry["name"] + ".png": entry["file"] for entry in load_manifest("starter").data["recipe"]}
    splits = {split: manifest.split(split) for split in ("train", "val", "test")}
    assert sorted(sum(splits.values(), [])) == sorted(manifest.files)
    sources = {split: {recipe[name] for name in names} for split, names in splits.items()}
    assert not (sources["train"] & sources["test"]) and not (sources["val"] & sources["test"])
    assert not (sources["train"] & sources["val"])


def test_building_again_is_a_no_op_and_a_damaged_build_is_rebuilt(starter):
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in starter.iterdir()}
    build_starter(starter)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in starter.iterdir()} == before
    (starter / "chelsea.png").write_bytes(b"broken")
    build_starter(starter)
    assert (starter / "chelsea.png").read_bytes() == before["chelsea.png"][1]


def test_two_builds_in_different_places_are_byte_identical(starter, tmp_path):
    other = build_starter(tmp_path / "again")
    for path in starter.glob("*.png"):
        assert (other / path.name).read_bytes() == path.read_bytes()


def test_the_gray_variant_is_gray_and_sized_for_every_sr_scale(tmp_path):
    gray = ensure_dataset("starter_gray", tmp_path)
    images = [read_image(p) for p in sorted(gray.glob("*.png"))]
    assert len(images) == 6 and all(image.shape == (192, 192) for image in images)
    assert all(192 % scale == 0 for scale in (2, 3, 4))


def test_unknown_variants_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown starter variant 'starter_hd'"):
        build_starter(tmp_path, "starter_hd")
