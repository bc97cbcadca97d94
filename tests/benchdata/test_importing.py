"""Folder import: every checksum verified; missing, extra and altered files reported by name."""

import json
import shutil

import pytest

from benchdata.importing import (
    DatasetVerificationError,
    dataset_dir,
    import_dataset,
    store_manifest,
    verify_folder,
    verify_store,
)
from benchdata.manifests import ManifestError, load_manifest

from .conftest import make_images, shared_data_dir, write_unknown_manifest


def _flip_one_byte(path, offset=100):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_matching_folder_is_imported_with_a_store_manifest(tiny_known, tmp_path):
    result = import_dataset("tiny", tiny_known, tmp_path / "store")
    assert result.directory == tmp_path / "store" / "tiny"
    assert sorted(p.name for p in result.directory.glob("*.png")) == [
        "img0.png",
        "img1.png",
        "img2.png",
        "img3.png",
    ]
    for name in ("img0.png", "img3.png"):
        assert (result.directory / name).read_bytes() == (tiny_known / name).read_bytes()
    stored = store_manifest(result.directory)
    assert stored.files == load_manifest("tiny").files
    assert stored.split("test") == ["img0.png", "img1.png", "img2.png"]
    assert verify_store(result.directory).ok
    assert dataset_dir("tiny", tmp_path / "store") == result.directory
    assert not result.trusted_on_first_import


def test_a_single_flipped_byte_is_detected_and_named(tiny_known, tmp_path):
    _flip_one_byte(tiny_known / "img2.png")
    with pytest.raises(DatasetVerificationError) as caught:
        import_dataset("tiny", tiny_known, tmp_path / "store")
    report = caught.value.report
    assert [entry.split(" ")[0] for entry in report.altered] == ["img2.png"]
    assert not report.missing and "img2.png" in str(caught.value)
    assert not (tmp_path / "store" / "tiny").exists()  # nothing imported


def test_missing_and_extra_files_are_reported_by_name(tiny_known, tmp_path):
    (tiny_known / "img1.png").unlink()
    (tiny_known / "notes.txt").write_text("hello")
    report = verify_folder("tiny", tiny_known, tmp_path / "store")
    assert report.missing == ["img1.png"] and report.extra == ["notes.txt"] and not report.ok
    with pytest.raises(DatasetVerificationError, match="missing \\(1\\): img1.png"):
        import_dataset("tiny", tiny_known, tmp_path / "store")


def test_extra_files_alone_do_not_fail_and_are_not_copied(tiny_known, tmp_path):
    (tiny_known / "README.txt").write_text("about")
    result = import_dataset("tiny", tiny_known, tmp_path / "store")
    assert result.report.extra == ["README.txt"]
    assert not (result.directory / "README.txt").exists()


def test_reimporting_replaces_the_copy_and_store_tampering_is_detected(tiny_known, tmp_path):
    first = import_dataset("tiny", tiny_known, tmp_path / "store")
    _flip_one_byte(first.directory / "img0.png")
    assert [a.split(" ")[0] for a in verify_store(first.directory).altered] == ["img0.png"]
    again = import_dataset("tiny", tiny_known, tmp_path / "store")
    assert verify_store(again.directory).ok


def test_first_import_of_an_unknown_set_trusts_and_records_its_checksums(manifests, tmp_path):
    write_unknown_manifest(manifests, "mystery", 3, stems=["a", "b", "c"])
    source = tmp_path / "src"
    for stem, path in zip("abc", make_images(source, count=3), strict=True):
        path.rename(source / f"{stem}.png")
    first = import_dataset("mystery", source, tmp_path / "store")
    assert first.trusted_on_first_import
    recorded = json.loads(first.manifest_path.read_text())
    assert recorded["checksums"] == "known" and len(recorded["files"]) == 3
    assert recorded["imported"]["verified_against"].startswith("trust on first import")
    # A later import must match what was recorded: a flipped byte is now caught.
    _flip_one_byte(source / "b.png")
    with pytest.raises(DatasetVerificationError) as caught:
        import_dataset("mystery", source, tmp_path / "store")
    assert caught.value.report.reference == "checksums recorded at first import"
    assert [a.split(" ")[0] for a in caught.value.report.altered] == ["b.png"]


def test_first_import_checks_the_expected_stems_and_count(manifests, tmp_path):
    write_unknown_manifest(manifests, "mystery", 3, stems=["a", "b", "c"])
    write_unknown_manifest(manifests, "counted", 5)
    source = tmp_path / "src"
    paths = make_images(source, count=3)
    paths[0].rename(source / "a.png")
    paths[1].rename(source / "b.png")
    paths[2].rename(source / "zzz.png")
    report = verify_folder("mystery", source, tmp_path / "store")
    assert report.missing == ["c"] and report.extra == ["zzz.png"]
    report = verify_folder("counted", source, tmp_path / "store")
    assert report.problems == ["found 3 image file(s), the dataset has 5"]
    with pytest.raises(DatasetVerificationError, match="found 3 image file"):
        import_dataset("counted", source, tmp_path / "store")


def test_dataset_dir_tells_how_to_import_a_missing_set(tmp_path):
    with pytest.raises(ManifestError, match="import_dataset set14 PATH"):
        dataset_dir("set14", tmp_path)


def test_the_starter_is_built_not_imported(tmp_path):
    with pytest.raises(ManifestError, match="is built, not imported"):
        verify_folder("starter", tmp_path)


def test_shared_set12_imports_through_the_repository_manifest_and_a_flipped_byte_fails(tmp_path):
    shared = shared_data_dir()
    if shared is None:
        pytest.skip("the shared benchmark data folder is not on this machine")
    source = tmp_path / "Set12"
    shutil.copytree(shared / "Set12", source)
    result = import_dataset("set12", source, tmp_path / "store")
    assert len(result.report.accepted) == 12 and result.report.reference == "repository manifest"
    _flip_one_byte(source / "07.png", offset=5000)
    with pytest.raises(DatasetVerificationError, match="altered \\(1\\): 07.png"):
        import_dataset("set12", source, tmp_path / "store2")
