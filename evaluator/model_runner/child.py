"""The sandboxed child process that runs a submitted model (started by `sandbox.py`, never imported).

Run as `python -I -B child.py SCRATCH/job.json PARENT_PID` with the scratch directory as working
directory and a minimal environment. In order, before it touches the submitted file, it (isolation.py):
1. arms the parent-death signal (SIGKILL when PARENT_PID dies) and exits at once if that parent is
   already gone, so a run never outlives its worker;
2. opens its event log (SCRATCH/events.jsonl, one JSON object per line, the parent's only channel);
3. moves into a new network namespace (`unshare(CLONE_NEWNET)`: only a down loopback device), where
   the host allows it, and sets PR_SET_NO_NEW_PRIVS;
4. imports the runtime (onnxruntime, or torch for safetensors weights), then confines itself:
   Landlock (it may read only the runtime's files and write only SCRATCH), then, when started as
   root, drops to the unprivileged uid/gid the parent chose (which clears the parent-death signal:
   it is armed again), and refuses to go on when a layer is missing unless the job allows a weaker
   sandbox; then sets resource limits: CPU seconds, address space (CPU inference only: CUDA
   reserves far more virtual memory than it uses), file size, open files, no core dumps.
Then it loads the model (ONNX from bytes, so no external path can resolve; no custom-op library is
ever registered), counts its parameters, FLOPs and activations at the track's reference input
(efficiency.py; a "profile" event, with the device and library versions), runs the first input once
untimed (warm-up), then runs every input image (a PNG, or an unclipped float `.npy` loaded with
`allow_pickle=False`; tiled, see tiling.py; with the manifest's side inputs, the
image's mask as one more channel and its kernel as the "kernel" input, staged by the parent in
SCRATCH/masks/ and SCRATCH/kernels/, see side_inputs.py) and writes each raw network output
as SCRATCH/out/NNNNNN.npy (float32, NCHW, in the manifest's output range). The parent validates
each file as it appears, like an uploaded image.

Exit codes: 0 done, 3 the model failed (an "error" event says why), 4 the sandbox is weaker than the
job allows (a "refused" event says which layer), 5 the parent was gone at start, anything else a crash.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import resource
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent


class SandboxRefused(Exception):
    """A layer of the sandbox is missing and the job does not allow a weaker one."""

    def __init__(self, isolation: dict, missing: dict) -> None:
        super().__init__(f"sandbox incomplete: {', '.join(missing)}")
        self.isolation, self.missing = isolation, missing


class ChildError(Exception):
    def __init__(self, kind: str, message: str, image: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.image = image


@functools.cache
def _load_sibling(name: str):  # noqa: ANN202 - a module object
    """Import evaluator/model_runner/<name>.py by path, without running the evaluator package's
    __init__ (which may import heavy scoring dependencies)."""
    spec = importlib.util.spec_from_file_location(f"_restorebench_model_runner_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _load_profile():  # noqa: ANN202 - a module object
    """evaluator/profile.py (the FLOP counter) by path, before the sandbox closes the project's files."""
    spec = importlib.util.spec_from_file_location("_restorebench_profile", _HERE.parent / "profile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


isolation = _load_sibling("isolation")


def _emit(log, **event: object) -> None:  # noqa: ANN001 - a text file
    log.write(json.dumps(event) + "\n")
    log.flush()


def _harden(job: dict) -> dict:
    """The layers set before the runtime is imported: network namespace and no_new_privs."""
    kind, network = isolation.isolate_network(job["isolate_network"])
    return {"network": network, "no_new_privs": isolation.set_no_new_privs(), "isolation": {"network": kind}}


def _drop_privileges(job: dict) -> tuple[str, str]:
    """Become the unprivileged user chosen by the parent (only when started as root).

    Called after the runtime's modules are imported: the interpreter may live where that user cannot
    read (e.g. under /root), and every module the run needs is then already in memory.
    """
    drop = job.get("drop_to")
    if os.getuid() != 0:
        return "unprivileged", "unchanged (not started as root)"
    if not drop:
        return "none", "unchanged (root: disabled by the caller)"
    uid, gid = drop
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    return "nobody" if uid == 65534 else "unprivileged", f"dropped to uid {uid}, gid {gid}"


def _restrict_filesystem(job: dict, gpu: bool) -> tuple[str, str]:
    if not job.get("restrict_filesystem", True):
        return "none", "disabled by the caller"
    # Our own code and the registered architectures stay importable; nothing else of the project is.
    ours = [str(_HERE), str(Path(job["project_root"]) / "reference_methods")]
    devices = isolation.gpu_device_paths() if gpu else []
    return isolation.restrict_filesystem([job["scratch"]], isolation.runtime_read_paths(ours), devices)


def _confine(job: dict, gpu: bool) -> dict:
    """Landlock, drop privileges, re-arm the parent-death signal, refuse a weak sandbox, then set the
    resource limits; return what was applied. Landlock comes first: it opens the runtime's folders,
    which `nobody` may not be able to reach."""
    fs_kind, filesystem = _restrict_filesystem(job, gpu)
    user_kind, user = _drop_privileges(job)
    # Changing credentials cleared the parent-death signal.
    death_kind, death = isolation.arm_parent_death(job["parent_pid"])
    record = {**job["isolation"], "filesystem": fs_kind, "parent_death": death_kind, "user": user_kind}
    details = {**job["isolation_details"], "filesystem": filesystem, "parent_death": death, "user": user}
    missing = {layer: details[layer] for layer, kind in record.items() if kind == "none"}
    if missing and not job.get("allow_weak_sandbox"):
        raise SandboxRefused(record, missing)
    applied = _set_limits(job["limits"], gpu)
    return {"user": user, "filesystem": filesystem, "limits": applied, "isolation": record}


def _set_limits(limits: dict, gpu: bool) -> dict:
    applied = {}

    def cap(which: int, value: int, name: str, hard: int | None = None) -> None:
        resource.setrlimit(which, (value, value if hard is None else hard))
        applied[name] = value

    cpu = limits.get("cpu_seconds")
    if cpu:
        # Soft limit: SIGXCPU; the hard limit a moment later is SIGKILL for a process that ignores it.
        cap(resource.RLIMIT_CPU, int(cpu), "cpu_seconds", hard=int(cpu) + 2)
    if limits.get("address_space_bytes") and not gpu:
        cap(resource.RLIMIT_AS, int(limits["address_space_bytes"]), "address_space_bytes")
    if limits.get("file_bytes"):
        cap(resource.RLIMIT_FSIZE, int(limits["file_bytes"]), "file_bytes")
    if limits.get("open_files"):
        cap(resource.RLIMIT_NOFILE, int(limits["open_files"]), "open_files")
    cap(resource.RLIMIT_CORE, 0, "core_bytes")
    return applied


def _read_image(path: Path):  # noqa: ANN202 - numpy array
    """An input (checked by the parent) as float64 (H, W) or (H, W, 3) on the [0, 1] scale: a PNG, or
    a `.npy` array loaded without pickle, float values kept unclipped, uint8 divided by 255."""
    import numpy as np
    from PIL import Image

    if path.is_dir():  # a multi-frame sample: its PNG frames in burst order, (N, H, W[, 3])
        return np.stack([_read_image(p) for p in sorted(path.iterdir()) if p.suffix.lower() == ".png"])
    if path.suffix.lower() == ".npy":
        arr = np.load(path, allow_pickle=False)
        return arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I"):
            arr = np.asarray(im, dtype=np.float64) / 65535.0
        elif im.mode in ("L", "RGB"):
            arr = np.asarray(im, dtype=np.float64) / 255.0
        elif im.mode == "P":
            arr = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
        else:
            raise ChildError("input", f"unsupported image mode {im.mode} in {path.name}", path.name)
    return arr


def network_input(image, color: str, lo: float, hi: float):  # noqa: ANN001, ANN201 - numpy arrays
    """(H, W) or (H, W, 3) on [0, 1] -> NCHW float32 on [lo, hi] for the manifest's colour mode."""
    import numpy as np

    if color == "rgb":
        rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
        x = rgb.transpose(2, 0, 1)[None]
    elif color == "gray":
        x = image[None, None] if image.ndim == 2 else image.transpose(2, 0, 1)[:, None]
    else:
        if image.ndim == 2:
            y = image
        else:
            colorspace = _load_sibling("colorspace")
            y = colorspace.rgb_to_ycbcr(image)[:, :, 0]
        x = y[None, None]
    return (lo + (hi - lo) * x).astype(np.float32)


def with_mask(x, mask):  # noqa: ANN001, ANN201 - numpy arrays
    """Append the mask (H, W), True or 1 = missing, to every item of x (N, C, H, W) as channel C.

    The mask channel is 1.0 (missing) or 0.0 (known), whatever the network's input range.
    """
    import numpy as np

    m = np.broadcast_to(np.asarray(mask, dtype=np.float32)[None, None], (x.shape[0], 1, *x.shape[2:]))
    return np.concatenate([x, m], axis=1)


def _read_mask(path: Path):  # noqa: ANN202 - numpy array
    """A mask PNG checked by the parent (0 = known, 255 = missing) -> bool (H, W), True = missing."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def _kernel_shape(job: dict) -> tuple[int, int, int, int] | None:
    """The kernel input's shape as the run feeds it: (1, 1, kh, kw) of the first image's kernel."""
    import numpy as np

    if not job["manifest"].get("kernel_input"):
        return None
    first = Path(job["inputs"][0]).stem
    kernel = np.load(Path(job["scratch"]) / "kernels" / f"{first}.npy", allow_pickle=False)
    return (1, 1, *kernel.shape[-2:])


def _onnx_runner(model_path: Path, job: dict):  # noqa: ANN202
    import numpy as np
    import onnx  # noqa: F401 - the FLOP counter's, imported before privileges are dropped
    import onnx.numpy_helper  # noqa: F401
    import onnx.shape_inference  # noqa: F401
    import onnxruntime as ort

    efficiency, profile, tiling = _load_sibling("efficiency"), _load_profile(), _load_sibling("tiling")
    gpu = job["use_gpu"] and "CUDAExecutionProvider" in ort.get_available_providers()
    gpu_name = efficiency.nvidia_gpu_name() if gpu else None
    limits = _confine(job, gpu)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = job["threads"]
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if gpu else ["CPUExecutionProvider"]
    try:
        # From bytes: an external-data reference has no directory to resolve against.
        session = ort.InferenceSession(model_path.read_bytes(), sess_options=opts, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ChildError(
            _classify(exc, "model_load"), f"onnxruntime could not load the model: {exc}"
        ) from None
    names = [i.name for i in session.get_inputs()]
    # The parent's inspection allowed a second input only when it is the kernel_input's "kernel".
    name = next(n for n in names if n != "kernel") if len(names) > 1 else names[0]

    def forward(x: np.ndarray, kernel: np.ndarray | None = None) -> np.ndarray:
        feeds = {name: x}
        if kernel is not None:
            feeds["kernel"] = kernel
        return session.run(None, feeds)[0]

    provider = session.get_providers()[0]
    fixed = tuple(job["fixed_hw"]) if job.get("fixed_hw") else None
    counts = efficiency.count_onnx(
        profile, model_path.read_bytes(), job["manifest"], job["reference_input"], fixed, _kernel_shape(job),
        tiling.tile_spans,
    )  # fmt: skip
    device = f"{gpu_name or 'GPU'} ({provider})" if gpu else f"{job['cpu']} ({job['threads']} threads)"
    return forward, provider, limits, {"counts": counts, "device": device}


def _torch_runner(model_path: Path, job: dict):  # noqa: ANN202
    import onnx  # noqa: F401 - the export and the FLOP counter's, imported before privileges are dropped
    import onnx.numpy_helper  # noqa: F401
    import onnx.shape_inference  # noqa: F401
    import torch
    import torch.onnx  # noqa: F401

    sys.path.insert(0, job["project_root"])
    from safetensors.torch import load_file

    from reference_methods.deep.archs import create_arch  # the registered reference architectures
    from reference_methods.deep.export import export_module  # counted as ONNX, like an ONNX submission

    efficiency, profile, tiling = _load_sibling("efficiency"), _load_profile(), _load_sibling("tiling")
    gpu = job["use_gpu"] and torch.cuda.is_available()
    torch.set_num_threads(job["threads"])
    limits = _confine(job, gpu)

    manifest = job["manifest"]
    try:
        net = create_arch(manifest["architecture"], **manifest.get("architecture_params", {}))
    except Exception as exc:  # noqa: BLE001 - report any construction problem to the participant
        raise ChildError(
            "weights", f"cannot build architecture {manifest['architecture']!r}: {exc}"
        ) from None
    try:
        state = load_file(str(model_path))
        result = net.load_state_dict(state, strict=False)
    except Exception as exc:  # noqa: BLE001 - shape mismatches and bad files
        raise ChildError(
            "weights", f"the weights do not fit architecture {manifest['architecture']!r}: {exc}"
        ) from None
    if result.missing_keys or result.unexpected_keys:
        raise ChildError(
            "weights",
            f"the weights do not fit architecture {manifest['architecture']!r}: missing "
            f"{sorted(result.missing_keys)[:10]}, unexpected {sorted(result.unexpected_keys)[:10]}",
        )
    net = net.eval()
    # Counted on the CPU, before the network moves to its device.
    counts = efficiency.count_torch(
        profile, export_module, net, manifest, job["reference_input"], Path(job["scratch"]), tiling.tile_spans
    )
    device = torch.device("cuda" if gpu else "cpu")
    net = net.to(device).eval()
    name = (
        f"{torch.cuda.get_device_name(device)} (CUDA)" if gpu else f"{job['cpu']} ({job['threads']} threads)"
    )

    def forward(x, kernel=None):  # noqa: ANN001, ANN202 - numpy arrays
        if kernel is not None:  # the manifest refuses kernel_input for safetensors; never reached
            raise ChildError("model_error", "safetensors architectures take no kernel input")
        with torch.inference_mode():
            return net(torch.from_numpy(x).to(device)).float().cpu().numpy()

    return forward, f"torch:{device.type}", limits, {"counts": counts, "device": name}


def _peak_rss_bytes() -> int:
    """VmHWM of this process: the resident-set high-water mark of its own address space.

    Unlike the parent's `wait4` ru_maxrss, it starts afresh at exec, so it does not include the
    parent's memory that the child inherited while forking.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _classify(exc: BaseException, default: str) -> str:
    text = str(exc).lower()
    if (
        isinstance(exc, MemoryError)
        or "bad_alloc" in text
        or "failed to allocate" in text
        or "out of memory" in text
    ):
        return "memory"
    return default


def _network_input(job: dict, scratch: Path, name: str):  # noqa: ANN202 - numpy array
    """The network input (NCHW float32) of one input sample, with its mask channel when asked."""
    import numpy as np

    manifest = job["manifest"]
    lo, hi = manifest["input_range"]
    image = _read_image(scratch / "in" / name)
    if manifest.get("frames", 1) > 1:
        # Frames concatenated along the channel axis, frame-major (manifest.py).
        x = np.concatenate([network_input(f, manifest["color"], lo, hi) for f in image], axis=1)
    else:
        x = network_input(image, manifest["color"], lo, hi)
    if manifest.get("mask_input"):
        # <id>.png beside an <id>.png or <id>.npy input; tiled with the image.
        mask_name = name if name.lower().endswith(".png") else f"{Path(name).stem}.png"
        x = with_mask(x, _read_mask(scratch / "masks" / mask_name))
    return x


def _restore(job: dict, scratch: Path, forward, name: str, x):  # noqa: ANN001, ANN202 - numpy arrays
    """Run the model (tiled) on one network input; its failures become the participant's errors."""
    import numpy as np

    manifest, tiling = job["manifest"], _load_sibling("tiling")
    fixed = tuple(job["fixed_hw"]) if job.get("fixed_hw") else None
    fn = forward
    if manifest.get("kernel_input"):
        kernel = np.load(scratch / "kernels" / f"{Path(name).stem}.npy", allow_pickle=False)
        kernel = np.ascontiguousarray(kernel, dtype=np.float32)[None, None]  # (1, 1, kh, kw)
        fn = functools.partial(forward, kernel=kernel)  # the same kernel for every tile
    try:
        return tiling.run_tiled(
            fn, x, manifest["scale"], manifest["tile_size"], manifest["tile_overlap"], fixed
        )
    except tiling.TileShapeError as exc:
        raise ChildError("output_shape", f"{name}: {exc}", name) from None
    except Exception as exc:  # noqa: BLE001 - any runtime failure of the submitted model
        raise ChildError(_classify(exc, "model_error"), f"the model failed on {name}: {exc}", name) from None


def run(job: dict, scratch: Path, log) -> None:  # noqa: ANN001 - a text file
    import numpy as np
    from PIL import Image

    # Everything the run needs is imported before privileges are dropped (see _drop_privileges).
    Image.preinit()
    _load_sibling("tiling")
    timer = _load_sibling("timer")
    _load_sibling("colorspace")
    efficiency = _load_sibling("efficiency")
    job["cpu"] = efficiency.cpu_name()  # /proc/cpuinfo is closed once the sandbox is up
    model_path = scratch / job["model"]
    backend = _onnx_runner if job["backend"] == "onnx" else _torch_runner
    t0 = time.perf_counter()
    forward, provider, limits, measured = backend(model_path, job)
    # torch on CUDA queues its kernels: CUDA events time them (timer.py). onnxruntime's run() returns
    # host outputs only once its stream is done, so the host's counter times it whole, on any device.
    clock = "cuda_events" if provider == "torch:cuda" else "perf_counter"
    _emit(log, event="loaded", provider=provider, clock=clock, seconds=time.perf_counter() - t0, **limits)
    libraries = efficiency.libraries(job["backend"])
    _emit(log, event="profile", threads=job["threads"], libraries=libraries, **measured)
    for index, name in enumerate(job["inputs"]):
        x = _network_input(job, scratch, name)
        if index == 0:  # warm-up: one untimed run, so no image's time includes the runtime's start-up
            _restore(job, scratch, forward, name, x)
        y, seconds = timer.time_call(functools.partial(_restore, job, scratch, forward, name, x), clock)
        out = scratch / "out" / f"{index:06d}.npy"
        np.save(out, np.asarray(y, dtype=np.float32), allow_pickle=False)
        _emit(
            log,
            event="image",
            index=index,
            name=name,
            seconds=seconds,
            file=str(out.relative_to(scratch)),
            peak_rss=_peak_rss_bytes(),
        )


def main(argv: list[str]) -> int:
    parent = int(argv[2])
    # First of all: a run never outlives the process that started it.
    death_kind, death = isolation.arm_parent_death(parent)
    job_path = Path(argv[1])
    scratch = job_path.parent
    job = json.loads(job_path.read_text())
    job.update(scratch=str(scratch), parent_pid=parent)
    with open(scratch / "events.jsonl", "a", buffering=1) as log:
        hardened = _harden(job)
        hardened["isolation"]["parent_death"] = death_kind
        job["isolation"] = hardened["isolation"]
        job["isolation_details"] = {"network": hardened["network"], "parent_death": death}
        _emit(log, event="sandbox", **hardened)
        try:
            run(job, scratch, log)
        except SandboxRefused as exc:
            _emit(log, event="refused", isolation=exc.isolation, missing=exc.missing)
            return 4
        except ChildError as exc:
            _emit(log, event="error", kind=exc.kind, message=str(exc), image=exc.image)
            return 3
        except MemoryError:
            _emit(log, event="error", kind="memory", message="the model ran out of memory", image=None)
            return 3
        _emit(log, event="done", peak_rss=_peak_rss_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
