"""Cheap checks of uploaded zips, each bad kind refused with a message naming the problem."""

import io
import stat
import zipfile
from pathlib import Path

import pytest
from rb_test_helpers import make_zip
from restorebench.submissions.archives import ArchiveError, archive_inspect, archive_receive

LIMITS = dict(max_members=10, max_uncompressed_bytes=50 * 1024**2, max_ratio=100.0)
PNG_LIKE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    return path


def _inspect(tmp_path, data: bytes, expected_count=None, **limits):
    return archive_inspect(_write(tmp_path, data), expected_count=expected_count, **(LIMITS | limits))


def test_a_good_zip_is_accepted_and_listed(tmp_path):
    contents = _inspect(tmp_path, make_zip({"0001.png": PNG_LIKE, "0002.png": PNG_LIKE}), expected_count=2)
    assert contents.names == ("0001.png", "0002.png")
    assert contents.uncompressed_bytes == 2 * len(PNG_LIKE)


def test_the_fingerprint_ignores_compression_and_timestamps_but_not_contents(tmp_path):
    def zipped(compression, date, payload=PNG_LIKE):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
            archive.writestr(zipfile.ZipInfo("a.png", date_time=date), payload)
        return buffer.getvalue()

    one = _inspect(tmp_path, zipped(zipfile.ZIP_STORED, (2020, 1, 1, 0, 0, 0))).fingerprint
    two = _inspect(tmp_path, zipped(zipfile.ZIP_DEFLATED, (2024, 5, 6, 7, 8, 10))).fingerprint
    other = _inspect(tmp_path, zipped(zipfile.ZIP_STORED, (2020, 1, 1, 0, 0, 0), PNG_LIKE + b"x")).fingerprint
    assert one == two != other


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    with pytest.raises(ArchiveError, match="not a zip archive"):
        _inspect(tmp_path, b"this is a text file, not a zip")


def test_an_empty_zip_is_refused(tmp_path):
    with pytest.raises(ArchiveError, match="empty zip"):
        _inspect(tmp_path, make_zip({}))


def test_a_zip_bomb_by_compression_ratio_is_refused(tmp_path):
    bomb = make_zip({"bomb.png": bytes(20 * 1024**2)})  # 20 MB of zeros deflate to ~20 kB
    with pytest.raises(ArchiveError, match="compression ratio.*possible zip bomb"):
        _inspect(tmp_path, bomb)


def test_a_zip_bomb_by_total_unpacked_size_is_refused(tmp_path):
    data = make_zip({f"{i}.png": PNG_LIKE for i in range(5)})
    with pytest.raises(ArchiveError, match="too large when unpacked"):
        _inspect(tmp_path, data, max_uncompressed_bytes=3 * len(PNG_LIKE))


def test_declared_sizes_are_what_is_checked_so_a_lying_header_cannot_pass_as_small(tmp_path):
    # A member that declares 10 GB: refused from the directory alone, nothing decompressed.
    data = bytearray(make_zip({"big.png": PNG_LIKE}))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.infolist()[0]
    central = bytes(data).rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10 * 1024**3 % 2**32).to_bytes(4, "little")
    assert info.file_size == len(PNG_LIKE)
    with pytest.raises(ArchiveError, match="possible zip bomb"):
        _inspect(tmp_path, bytes(data))


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "..\\evil.png"])
def test_path_traversal_is_refused(tmp_path, name):
    with pytest.raises(ArchiveError, match="path traversal"):
        _inspect(tmp_path, make_zip({name: PNG_LIKE}))


@pytest.mark.parametrize("name", ["/etc/evil.png", "\\evil.png", "C:/evil.png"])
def test_absolute_paths_are_refused(tmp_path, name):
    with pytest.raises(ArchiveError, match="absolute path"):
        _inspect(tmp_path, make_zip({name: PNG_LIKE}))


def test_a_symbolic_link_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link.*link.png"):
        _inspect(tmp_path, buffer.getvalue())


@pytest.mark.parametrize("members", [{"results/0001.png": PNG_LIKE}, {"results/": b"", "0001.png": PNG_LIKE}])
def test_folders_are_refused(tmp_path, members):
    with pytest.raises(ArchiveError, match="folder in the zip: 'results/"):
        _inspect(tmp_path, make_zip(members))


def test_too_many_files_are_refused(tmp_path):
    with pytest.raises(ArchiveError, match="too many files in the zip: 11"):
        _inspect(tmp_path, make_zip({f"{i:02d}.png": PNG_LIKE for i in range(11)}))


def test_the_wrong_image_count_is_refused(tmp_path):
    with pytest.raises(ArchiveError, match="the zip has 2, the phase expects 3"):
        _inspect(tmp_path, make_zip({"1.png": PNG_LIKE, "2.png": PNG_LIKE}), expected_count=3)


def test_non_image_files_are_refused(tmp_path):
    with pytest.raises(ArchiveError, match="not an image file: 'readme.txt'"):
        _inspect(tmp_path, make_zip({"1.png": PNG_LIKE, "readme.txt": b"hi"}))


def test_names_differing_only_in_case_are_refused(tmp_path):
    with pytest.raises(ArchiveError, match="duplicate file names"):
        _inspect(tmp_path, make_zip({"A.png": PNG_LIKE, "a.PNG": PNG_LIKE}))


def test_receiving_hashes_the_stream_and_keeps_it(tmp_path):
    import hashlib

    data = make_zip({"1.png": PNG_LIKE})
    received = archive_receive(io.BytesIO(data), directory=tmp_path / "tmp", max_bytes=10**6)
    assert received.path.read_bytes() == data
    assert (received.size, received.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_an_over_size_upload_is_stopped_and_nothing_is_left_behind(tmp_path):
    chunks = [b"x" * 1000] * 5
    with pytest.raises(ArchiveError, match="upload too large: more than 4,000 bytes"):
        archive_receive(chunks, directory=tmp_path / "tmp", max_bytes=4000)
    assert list((tmp_path / "tmp").iterdir()) == []
