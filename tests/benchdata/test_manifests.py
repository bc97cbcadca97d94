"""The repository's dataset manifests, and the manifest schema checks."""

import json

import pytest

from benchdata.manifests import (
    ManifestError,
    list_datasets,
    load_manifest,
    manifest_from_folder,
    manifests_dir,
    validate_manifest_data,
)

from .conftest import make_images, shared_data_dir

REQUIRED = {
    "starter", "set5", "set14", "bsd68", "cbsd68", "set12", "urban100", "manga109", "kodak24", "mcmaster",
    "div2k_train", "div2k_valid", "train400", "t91", "cset14",
}  # fmt: skip
KNOWN_COUNTS = {"set12": 12, "bsd68": 68, "cbsd68": 68, "cset14": 14, "train400": 400}


def test_every_required_dataset_has_a_valid_manifest():
    assert REQUIRED <= set(list_datasets())
    for name in list_datasets():
        manifest = load_manifest(name)
        assert manifest.name == name
        assert manifest.data["licence"] and manifest.data["recommended_use"] and manifest.data["source"]


def test_the_manifests_folder_is_data_not_a_package():
    assert not (manifests_dir() / "__init__.py").exists()
    assert not list(manifests_dir().glob("*.py"))


@pytest.mark.parametrize(("name", "count"), sorted(KNOWN_COUNTS.items()))
def test_sets_we_hold_have_per_file_checksums(name, count):
    manifest = load_manifest(name)
    assert manifest.checksums_known and len(manifest.files) == count


def test_sets_we_never_saw_say_their_checksums_are_unknown():
    for name in REQUIRED - set(KNOWN_COUNTS) - {"starter"}:
        manifest = load_manifest(name)
        assert manifest.data["checksums"] == "unknown" and not manifest.files
        assert manifest.expected_count > 0


def test_known_manifests_agree_with_the_shared_data_sha256sums():
    shared = shared_data_dir()
    if shared is None:
        pytest.skip("the shared benchmark data folder is not on this machine")
    sums = dict(
        reversed(line.split()) for line in (shared / "SHA256SUMS").read_text().splitlines() if line.strip()
    )
    folders = {
        "set12": "Set12",
        "bsd68": "BSD68",
        "cbsd68": "CBSD68",
        "cset14": "CSet14",
        "train400": "Train400",
    }
    for name, folder in folders.items():
        for file_name, record in load_manifest(name).files.items():
            assert sums[f"{folder}/{file_name}"] == record.sha256


def test_unknown_dataset_names_list_the_valid_ones():
    with pytest.raises(ManifestError, match="unknown dataset 'set99'; known datasets: .*bsd68"):
        load_manifest("set99")


def test_names_are_case_insensitive():
    assert load_manifest("Set12").name == "set12"


def test_manifest_from_folder_records_sizes_and_checksums(tmp_path):
    paths = make_images(tmp_path / "src", count=2)
    manifest = manifest_from_folder(tmp_path / "src", name="x", title="X")
    import hashlib

    for path in paths:
        record = manifest.files[path.name]
        assert record.size == path.stat().st_size
        assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert json.loads(manifest.to_json()) == manifest.data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": 2}, "schema must be 1"),
        ({"name": "Bad Name"}, "lowercase identifier"),
        ({"checksums": "maybe"}, "checksums must be"),
        ({"files": []}, "'files' is empty"),
        ({"files": [{"name": "../x.png", "size": 1, "sha256": "0" * 64}]}, "unsafe file name"),
        ({"files": [{"name": "a.png", "size": 1, "sha256": "xyz"}]}, "64 lowercase hex"),
        ({"splits": {"test": ["nope.png"]}}, "split 'test' names files not in the manifest"),
    ],
)
def test_schema_errors_name_the_field(change, message):
    data = {
        "schema": 1,
        "name": "ok",
        "title": "OK",
        "checksums": "known",
        "files": [{"name": "a.png", "size": 1, "sha256": "0" * 64}],
        "source": {},
        "licence": "x",
        "recommended_use": "y",
        **change,
    }
    with pytest.raises(ManifestError, match=message):
        validate_manifest_data(data, "test.json")
