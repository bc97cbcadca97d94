"""Receiving and checking submission archives before anything is stored.

`archive_receive` streams an upload to a temporary file beside its final home while hashing it, and
stops as soon as the size limit is passed. `archive_inspect` reads only the zip's central directory
(no decompression) and refuses, with a message naming the offending entry: files that are not zips,
empty archives, zip bombs (declared total size or compression ratio over the limits), absolute paths
and `..` components, symbolic links, folders, non-image files, duplicate names (also names equal but
for the extension: the evaluator pairs by stem), too many entries and a wrong image count; given the
ground truth's sizes, it reads each image's first bytes and refuses a size that differs. A damaged
directory (bad offsets, an unsupported "version needed", a name flagged UTF-8 that is not) is refused
like a non-zip, never raised as something else. Decoding the images is the evaluator's job.
"""

import hashlib
import io
import lzma
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".webp")
READ_BLOCK = 1024 * 1024


class ArchiveError(ValueError):
    """The upload is refused; the message tells the participant what to fix."""


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class ArchiveContents:
    names: tuple[str, ...]
    uncompressed_bytes: int
    fingerprint: str

    @property
    def image_count(self) -> int:
        return len(self.names)


def _blocks(source: IO[bytes] | Iterable[bytes]) -> Iterable[bytes]:
    if hasattr(source, "read"):
        while block := source.read(READ_BLOCK):
            yield block
    else:
        yield from source


def archive_receive(source: IO[bytes] | Iterable[bytes], *, directory: Path, max_bytes: int) -> ReceivedFile:
    """Stream `source` into a new file under `directory`, hashing it; the caller owns (and must move or
    delete) the returned file. Nothing is left behind when the size limit is passed."""
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            for block in _blocks(source):
                size += len(block)
                if size > max_bytes:
                    raise ArchiveError(
                        f"upload too large: more than {max_bytes:,} bytes (the phase's limit); "
                        "send fewer or smaller images"
                    )
                digest.update(block)
                out.write(block)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return ReceivedFile(Path(name), size, digest.hexdigest())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _check_name(name: str) -> None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"absolute path in the zip: {name!r}; put the images at the top level of the zip")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        raise ArchiveError(f"path traversal in the zip: {name!r} contains '..'")


# What reading a zip's directory or an entry's first bytes raises on a damaged or hostile archive,
# beyond BadZipFile: an unsupported "version needed" or compression method (NotImplementedError), a
# name flagged UTF-8 that is not (UnicodeDecodeError), offsets past the end (ValueError, EOFError,
# struct.error, OverflowError), and the decompressors' own errors (zlib.error, lzma.LZMAError, OSError).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    NotImplementedError,
    UnicodeDecodeError,
    ValueError,
    EOFError,
    OverflowError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
    OSError,
)
# An image's size is in its first bytes (PNG IHDR, BMP and WebP headers, most TIFF first IFDs).
HEADER_BYTES = 64 * 1024


def _zip_open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ArchiveError(f"not a zip archive ({error}); upload a .zip of the restored images") from None
    except NotImplementedError as error:
        raise ArchiveError(
            f"unsupported zip archive ({error}); zip the images with a standard tool"
        ) from None
    except UnicodeDecodeError:
        raise ArchiveError(
            "damaged zip archive: a file name is flagged as UTF-8 but is not valid UTF-8"
        ) from None
    except OSError as error:
        # Never the error's own text: it names the server's file.
        raise ArchiveError(
            f"the upload could not be read as a zip archive ({error.strerror or type(error).__name__})"
        ) from None
    except _ZIP_ERRORS as error:
        raise ArchiveError(
            f"damaged zip archive ({type(error).__name__}); upload a .zip of the images"
        ) from None


def image_header_size(head: bytes) -> tuple[int, int] | None:
    """(height, width) from an image file's first bytes, or None when they do not tell (the evaluator
    decodes the whole file later and reports what is wrong with it)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(head)) as image:
            width, height = image.size
    except Exception:  # noqa: BLE001 - any header Pillow cannot read just leaves the size unknown
        return None
    return height, width


def _check_sizes(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    expected: Mapping[str, tuple[int, int]],
    basis: str,
) -> None:
    for info in infos:
        want = expected.get(PurePosixPath(info.filename).stem)
        if want is None:
            continue
        try:
            with archive.open(info) as member:
                head = member.read(HEADER_BYTES)
        except _ZIP_ERRORS as error:
            raise ArchiveError(
                f"{info.filename!r} cannot be read from the zip ({type(error).__name__}): "
                "the archive is damaged or uses an unsupported compression"
            ) from None
        got = image_header_size(head)
        if got is not None and got != want:
            raise ArchiveError(
                f"{info.filename}: is {got[1]}×{got[0]} (W×H), expected {want[1]}×{want[0]}, {basis}"
            )


def _check_entry(
    info: zipfile.ZipInfo,
    seen: dict[str, str],
    max_depth: int = 1,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
) -> bool:
    """Refuse an entry that breaks the rules (ArchiveError); False for a folder entry to skip (allowed
    only above `max_depth`), True for a file."""
    name = info.filename
    _check_name(name)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"symbolic link in the zip: {name!r}; zip the image files themselves")
    depth = len(PurePosixPath(name).parts)
    if max_depth > 1 and info.is_dir() and depth < max_depth and "\\" not in name:
        return False
    if info.is_dir() or depth > max_depth or "\\" in name:
        raise ArchiveError(
            f"folder in the zip: {name!r}; put the images at the top level of the zip, not inside a folder"
            if max_depth == 1
            else f"unexpected folder in the zip: {name!r} (at most {max_depth - 1} folder levels)"
        )
    if info.flag_bits & 0x1:
        raise ArchiveError(f"encrypted file in the zip: {name!r}")
    if not name.lower().endswith(suffixes):
        raise ArchiveError(
            f"not an image file: {name!r}; the zip may contain only {', '.join(suffixes)} files"
        )
    if name.lower() in seen:
        raise ArchiveError(f"duplicate file names in the zip: {seen[name.lower()]!r} and {name!r}")
    # The evaluator pairs files with the ground truth by name without extension: "rocket.png" and
    # "rocket.tif" would both claim "rocket".
    stem = str(PurePosixPath(name.lower()).with_suffix(""))  # within its folder
    other = next(
        (earlier for key, earlier in seen.items() if str(PurePosixPath(key).with_suffix("")) == stem), None
    )
    if other is not None:
        raise ArchiveError(
            f"file names that differ only by extension or case: {other!r} and {name!r}; "
            "images are matched to the ground truth by name without extension, keep one"
        )
    seen[name.lower()] = name
    return True


def archive_inspect(
    path: Path,
    *,
    expected_count: int | None,
    max_members: int,
    max_uncompressed_bytes: int,
    max_ratio: float,
    expected_sizes: Mapping[str, tuple[int, int]] | None = None,
    size_basis: str = "the ground truth's size",
    max_depth: int = 1,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
) -> ArchiveContents:
    """Check a stored zip from its central directory, and with `expected_sizes` ({stem: (height,
    width)}) each matching image's size from its first bytes (a wrong one is explained as
    `size_basis`); raises ArchiveError naming the problem.

    max_depth: path components a file may have (1: top level only, as a submission; an organizer's
    data zip has `inputs/...` and `ground_truth/...`); folder entries are then skipped."""
    archive = _zip_open(path)
    with archive:
        infos = archive.infolist()
        if not infos:
            raise ArchiveError("empty zip: it contains no files")
        if len(infos) > max_members:
            raise ArchiveError(f"too many files in the zip: {len(infos):,} (at most {max_members:,})")
        seen: dict[str, str] = {}
        total = 0
        files = []
        for info in infos:
            if not _check_entry(info, seen, max_depth, suffixes):
                continue
            files.append(info)
            name = info.filename
            total += info.file_size
            if total > max_uncompressed_bytes:
                raise ArchiveError(
                    f"zip too large when unpacked: more than {max_uncompressed_bytes:,} bytes "
                    "(possible zip bomb)"
                )
            if info.file_size > READ_BLOCK and info.file_size > max_ratio * max(info.compress_size, 1):
                raise ArchiveError(
                    f"suspicious compression ratio for {name!r}: {info.file_size:,} bytes from "
                    f"{info.compress_size:,} (more than {max_ratio:g}x; possible zip bomb)"
                )
        names = [info.filename for info in files]
        if not names:
            raise ArchiveError("empty zip: it contains no files")
        archive_bytes = max(path.stat().st_size, 1)
        if total > READ_BLOCK and total > max_ratio * archive_bytes:
            raise ArchiveError(
                f"suspicious compression ratio: {total:,} bytes unpacked from {archive_bytes:,} "
                f"(more than {max_ratio:g}x; possible zip bomb)"
            )
        if expected_count is not None and len(names) != expected_count:
            raise ArchiveError(
                f"wrong number of images: the zip has {len(names)}, the phase expects {expected_count}"
            )
        if expected_sizes:
            _check_sizes(archive, files, expected_sizes, size_basis)
        digest = hashlib.sha256()
        for info in sorted(files, key=lambda i: i.filename):
            digest.update(f"{info.filename}\0{info.file_size}\0{info.CRC:08x}\n".encode())
        return ArchiveContents(tuple(names), total, digest.hexdigest())


def expected_count_of(expected_images: Sequence[str]) -> int | None:
    return len(expected_images) if expected_images else None


def archive_extract(path: Path, contents: ArchiveContents, *, target: Path) -> None:
    """Write the inspected members of a zip under `target` (which must not exist yet). A member whose
    data is longer than its declared size, or does not inflate, is refused (ArchiveError); the caller
    removes `target` on any error."""
    target.mkdir(parents=True)
    with _zip_open(path) as archive:
        for name in contents.names:
            info = archive.getinfo(name)
            out = target / PurePosixPath(name)
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as member, open(out, "xb") as handle:
                    written = 0
                    while block := member.read(READ_BLOCK):
                        written += len(block)
                        if written > info.file_size:
                            raise ArchiveError(f"{name!r} inflates past its declared size (a forged zip?)")
                        handle.write(block)
            except _ZIP_ERRORS as error:  # never the error's text: an OSError's names a server file
                raise ArchiveError(f"{name!r} cannot be unpacked ({type(error).__name__})") from None
