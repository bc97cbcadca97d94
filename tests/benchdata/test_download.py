"""Download: archives and per-file addresses go through the same verification as a folder import."""

import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile

import pytest

from benchdata.download import DownloadError, download_dataset
from benchdata.importing import DatasetVerificationError, verify_store
from benchdata.manifests import ManifestError

from .conftest import make_images, write_unknown_manifest


def _set_download(manifests, name, download):
    path = manifests / f"{name}.json"
    data = json.loads(path.read_text())
    data["source"]["download"] = download
    path.write_text(json.dumps(data))


def _zip_folder(folder, archive, prefix):
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"{prefix}/{path.name}")
    return archive


@pytest.fixture
def http_root(tmp_path):
    """A static file server on 127.0.0.1 serving tmp_path/www; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_zip_from_a_file_url_is_extracted_verified_and_imported(tiny_known, manifests, tmp_path):
    archive = _zip_folder(tiny_known, tmp_path / "tiny.zip", "tiny-main/data")
    _set_download(manifests, "tiny", {"url": archive.as_uri(), "format": "zip", "subdir": "tiny-main/data"})
    result = download_dataset("tiny", tmp_path / "store")
    assert len(result.report.accepted) == 4 and verify_store(result.directory).ok


def test_a_corrupted_file_inside_the_archive_fails_like_a_folder_import(tiny_known, manifests, tmp_path):
    data = bytearray((tiny_known / "img1.png").read_bytes())
    data[60] ^= 0x10
    (tiny_known / "img1.png").write_bytes(bytes(data))
    archive = _zip_folder(tiny_known, tmp_path / "tiny.zip", "d")
    _set_download(manifests, "tiny", {"url": archive.as_uri(), "format": "zip", "subdir": "d"})
    with pytest.raises(DatasetVerificationError, match="altered \\(1\\): img1.png"):
        download_dataset("tiny", tmp_path / "store")


def test_tar_gz_over_http_on_loopback(tiny_known, manifests, tmp_path, http_root):
    root, base = http_root
    with tarfile.open(root / "tiny.tar.gz", "w:gz") as bundle:
        bundle.add(tiny_known, arcname="bench/tiny")
    digest = hashlib.sha256((root / "tiny.tar.gz").read_bytes()).hexdigest()
    download = {"url": f"{base}/tiny.tar.gz", "format": "tar.gz", "subdir": "bench/tiny", "sha256": digest}
    _set_download(manifests, "tiny", download)
    result = download_dataset("tiny", tmp_path / "store")
    assert sorted(result.report.accepted) == ["img0.png", "img1.png", "img2.png", "img3.png"]


def test_a_pinned_archive_checksum_must_match(tiny_known, manifests, tmp_path):
    archive = _zip_folder(tiny_known, tmp_path / "tiny.zip", "d")
    _set_download(
        manifests, "tiny", {"url": archive.as_uri(), "format": "zip", "subdir": "d", "sha256": "0" * 64}
    )
    with pytest.raises(DownloadError, match="archive sha256 .* differs"):
        download_dataset("tiny", tmp_path / "store")


def test_per_file_downloads_over_http_record_checksums_on_first_import(manifests, tmp_path, http_root):
    root, base = http_root
    for stem, path in zip(["k1", "k2"], make_images(root / "imgs", count=2), strict=True):
        path.rename(root / "imgs" / f"{stem}.png")
    write_unknown_manifest(
        manifests, "kodakish", 2, stems=["k1", "k2"],
        download={"url": f"{base}/imgs/", "format": "files", "extension": ".png", "sha256": None},
    )  # fmt: skip
    result = download_dataset("kodakish", tmp_path / "store")
    assert result.trusted_on_first_import and sorted(result.report.accepted) == ["k1.png", "k2.png"]


def test_unsafe_archive_members_are_refused(tiny_known, manifests, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../escape.png", b"x")
    _set_download(manifests, "tiny", {"url": archive.as_uri(), "format": "zip", "subdir": "d"})
    with pytest.raises(DownloadError, match="unsafe member '../escape.png'"):
        download_dataset("tiny", tmp_path / "store")
    assert not (tmp_path / "escape.png").exists()


def test_tar_links_are_refused(tiny_known, manifests, tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as bundle:
        info = tarfile.TarInfo("d/img0.png")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        bundle.addfile(info, io.BytesIO(b""))
    _set_download(manifests, "tiny", {"url": archive.as_uri(), "format": "tar", "subdir": "d"})
    with pytest.raises(DownloadError, match="non-regular member"):
        download_dataset("tiny", tmp_path / "store")


def test_unreachable_addresses_and_sets_without_one_fail_clearly(tiny_known, manifests, tmp_path):
    _set_download(
        manifests, "tiny", {"url": (tmp_path / "nope.zip").as_uri(), "format": "zip", "subdir": "d"}
    )
    with pytest.raises(DownloadError, match="cannot download"):
        download_dataset("tiny", tmp_path / "store")
    write_unknown_manifest(manifests, "private", 3)
    with pytest.raises(ManifestError, match="no public download address"):
        download_dataset("private", tmp_path / "store")


def test_the_wrong_subdir_is_named(tiny_known, manifests, tmp_path):
    archive = _zip_folder(tiny_known, tmp_path / "tiny.zip", "d")
    _set_download(manifests, "tiny", {"url": archive.as_uri(), "format": "zip", "subdir": "other"})
    with pytest.raises(DownloadError, match="no folder 'other'"):
        download_dataset("tiny", tmp_path / "store")
