"""Downloading a dataset from its public address, then importing it through the same verification.

`download_dataset(name)` fetches what the manifest's `source.download` names -- an archive (zip, tar,
tar.gz) with the dataset in `subdir`, or one request per file ("files") -- into a temporary folder,
checks the archive's SHA-256 when the manifest pins one, extracts it refusing unsafe members
(absolute paths, "..", links, devices), and hands the extracted folder to
`benchdata.importing.import_dataset`: every file is verified exactly as a local folder import would.

Any URL scheme urllib supports works (https, http, file); tests use file:// and a server on 127.0.0.1.
This machine has no network, so the public addresses in the manifests have not been exercised here.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from benchdata.importing import ImportResult, import_dataset
from benchdata.manifests import ManifestError, load_manifest

_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download failed, or what arrived is not what the manifest describes."""


def _fetch(url: str, target: Path, timeout: float) -> str:
    """Stream `url` into `target`; return the hex SHA-256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as handle:  # noqa: S310
            while block := response.read(_CHUNK):
                digest.update(block)
                handle.write(block)
    except OSError as error:  # URLError, HTTPError and socket errors are OSErrors
        raise DownloadError(f"cannot download {url}: {error}") from error
    return digest.hexdigest()


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and name.strip() != ""


def _extract(archive: Path, kind: str, out: Path) -> None:
    if kind == "zip":
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist():
                if not _safe_member(info.filename):
                    raise DownloadError(f"{archive.name}: refusing unsafe member {info.filename!r}")
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise DownloadError(f"{archive.name}: refusing symbolic link {info.filename!r}")
            bundle.extractall(out)
        return
    mode = "r:gz" if kind == "tar.gz" else "r:"
    with tarfile.open(archive, mode) as bundle:
        for member in bundle.getmembers():
            if not _safe_member(member.name):
                raise DownloadError(f"{archive.name}: refusing unsafe member {member.name!r}")
            if not (member.isfile() or member.isdir()):
                raise DownloadError(f"{archive.name}: refusing non-regular member {member.name!r}")
        bundle.extractall(out, filter="data")


def download_dataset(
    name: str,
    root: str | Path | None = None,
    url: str | None = None,
    timeout: float = 60.0,
) -> ImportResult:
    """Download dataset `name` (from `url` if given, else the manifest's address) and import it."""
    manifest = load_manifest(name)
    source = manifest.download
    if source is None and url is None:
        note = (manifest.data.get("source") or {}).get("note", "")
        raise ManifestError(f"dataset {manifest.name} has no public download address. {note}".strip())
    source = dict(source or {"format": "zip"})
    address = url or source["url"]
    kind = source["format"]
    with tempfile.TemporaryDirectory(prefix=f"restorebench-{manifest.name}-") as scratch:
        scratch = Path(scratch)
        if kind == "files":
            folder = scratch / "files"
            folder.mkdir()
            if manifest.checksums_known:
                names = sorted(manifest.files)
            else:
                names = [stem + source.get("extension", ".png") for stem in manifest.expected_stems]
            base = address if address.endswith("/") else address + "/"
            for file_name in names:
                target = folder / file_name
                target.parent.mkdir(parents=True, exist_ok=True)
                _fetch(base + file_name, target, timeout)
        else:
            archive = scratch / ("archive." + kind)
            digest = _fetch(address, archive, timeout)
            pinned = source.get("sha256")
            if pinned and url is None and digest != pinned:
                raise DownloadError(
                    f"{address}: archive sha256 {digest} differs from the manifest's {pinned}"
                )
            extracted = scratch / "extracted"
            extracted.mkdir()
            _extract(archive, kind, extracted)
            folder = extracted / source["subdir"] if source.get("subdir") else extracted
            if not folder.is_dir():
                raise DownloadError(f"{address}: the archive has no folder {source.get('subdir')!r}")
        result = import_dataset(manifest.name, folder, root)
        shutil.rmtree(scratch / "files", ignore_errors=True)
        return result
