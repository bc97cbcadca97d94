"""Run a submitted model on a folder of input images in a sandboxed child process (the parent side).

`run_model_submission(model_path, manifest, inputs_dir, out_dir, limits) -> RunReport`:
1. validates the manifest and inspects the model file statically (formats.py) — refusals never
   start a process;
2. checks and copies the masks / kernels a non-blind model's manifest asks for (side_inputs.py; a
   missing or invalid one fails the run here), copies the model and the inputs into a fresh scratch
   directory (owned by `nobody` when we run as root), writes a job file, and starts `child.py` with
   `python -I -B`, a minimal environment, its own process group (in the caller's session) and no
   stdin;
3. watches it: wall-clock deadline and resident-memory ceiling (both kill the whole process group),
   and validates every output file as it appears — dtype float32, the exact expected NCHW shape,
   no NaN/inf, values inside the manifest's output range (give or take `range_tolerance` of its
   span) — then converts it to an 8-bit PNG in `out_dir` (values clipped to [0, 1], rounded half
   away from zero) and deletes it;
4. reaps the child with `wait4` for its CPU time, and reports. Peak resident memory is the child's own
   VmHWM (sent with each output) or the largest VmRSS the parent saw, whichever is larger: `wait4`'s
   ru_maxrss would include the parent's resident memory copied into the child at fork time.

The child sets the kernel limits itself before it opens the model (see child.py). Every failure of
the model is returned as a report with `ok=False`, an `error_kind` and a message naming the problem;
mistakes of the caller (missing inputs folder, …) raise.

Image arrays here follow the platform convention: float64 (H, W) or (H, W, 3) on [0, 1].
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from evaluator.model_runner.colorspace import rgb_to_ycbcr, ycbcr_to_rgb
from evaluator.model_runner.formats import ModelFormatError, ModelInfo, inspect_model
from evaluator.model_runner.inputs import (
    InputFileError,
    InputImage,
    check_input,
    list_inputs,
    npy_header,
    read_input,
)
from evaluator.model_runner.manifest import Manifest, ManifestError, parse_manifest
from evaluator.model_runner.side_inputs import (
    KERNEL_DIR,
    MASK_DIR,
    SideInputError,
    side_roots,
    stage_side_inputs,
)

CHILD = Path(__file__).resolve().parent / "child.py"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Virtual memory each runtime maps beyond what the model uses (measured: onnxruntime ~0.2 GiB,
# torch ~3.2 GiB VmPeak at import), added to the address-space limit so `memory_bytes` means memory
# available to the model.
_RUNTIME_VIRTUAL = {"onnx": 1 << 30, "safetensors": 6 << 30}
_PASS_ENV = ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass(frozen=True)
class RunLimits:
    """Resource limits of one model run.

    wall_seconds: whole run, start-up included; the process group is killed when exceeded.
    cpu_seconds: RLIMIT_CPU of the child (default: wall_seconds × threads).
    memory_bytes: resident-memory ceiling (watched by the parent) and, for CPU inference, the
        address-space limit (plus the runtime's fixed virtual reservation).
    open_files: RLIMIT_NOFILE. threads: intra-op threads of the runtime.
    file_bytes: RLIMIT_FSIZE (default: the largest expected output file plus 1 MiB for logs).
    max_input_pixels: the largest input image (width × height) a run takes, PNG or `.npy`.
    range_tolerance: how far outside the declared output range, as a fraction of its span, values may
        go before the run is refused (values inside the tolerance are clipped). Trained networks
        overshoot at sharp edges as bicubic interpolation does, so the default (25%) only catches a
        wrongly declared range (0-255 against 0-1, or -1..1 against 0..1).
    """

    wall_seconds: float = 600.0
    cpu_seconds: float | None = None
    memory_bytes: int = 4 << 30
    open_files: int = 128
    threads: int = max(1, min(4, os.cpu_count() or 1))
    file_bytes: int | None = None
    max_model_bytes: int = 1 << 30
    max_input_pixels: int = 40_000_000
    range_tolerance: float = 0.25
    use_gpu: bool = True
    isolate_network: bool = True
    drop_privileges: bool = True
    poll_seconds: float = 0.01

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RunLimits:
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown run limit(s) {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(cls.__dataclass_fields__)}"
            )
        return cls(**data)


@dataclass
class ImageRun:
    """One restored image: its output file name (`<id>.png`, as the ground truth is named, whether the
    input was `<id>.png` or `<id>.npy`), the model's runtime on it and the output's shape."""

    name: str
    seconds: float
    output_shape: tuple[int, ...]


@dataclass
class RunReport:
    """What happened: success or the reason of failure, plus the measurements NTIRE factsheets ask for.

    peak_memory_bytes: the child's resident-set high-water mark (VmHWM, runtime included), or the
        largest resident set the parent observed when the child died before reporting it.
    seconds_per_image: mean model runtime per image (tiling included, decoding and encoding not).
    """

    ok: bool
    error_kind: str | None = None
    error: str | None = None
    failed_image: str | None = None
    format: str | None = None
    parameters: int | None = None
    model_bytes: int | None = None
    provider: str | None = None
    images: list[ImageRun] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_bytes: int | None = None
    exit_status: str | None = None
    sandbox: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds_per_image(self) -> float | None:
        return sum(i.seconds for i in self.images) / len(self.images) if self.images else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds_per_image"] = self.seconds_per_image
        return d

    def raise_for_error(self) -> None:
        if not self.ok:
            raise ModelRunError(self.error_kind or "error", self.error or "the model run failed")


class ModelRunError(RuntimeError):
    """Raised by `RunReport.raise_for_error()`; `kind` is the report's error_kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class _Refused(Exception):
    def __init__(self, kind: str, message: str, image: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.image = image


def expected_output_shape(
    size: tuple[int, int], is_rgb: bool, manifest: Manifest
) -> tuple[int, int, int, int]:
    """NCHW shape the network must produce for an input image of PIL `size` (W, H)."""
    w, h = size
    s = manifest.scale
    if manifest.color == "rgb":
        return (1, 3, s * h, s * w)
    if manifest.color == "gray" and is_rgb:
        return (3, 1, s * h, s * w)
    return (1, 1, s * h, s * w)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8, clipped, rounded half away from zero (the platform's file convention)."""
    return np.floor(np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _upscale_bicubic(plane: np.ndarray, scale: int) -> np.ndarray:
    h, w = plane.shape
    return np.asarray(
        Image.fromarray(plane.astype(np.float32), mode="F").resize((w * scale, h * scale), Image.BICUBIC),
        dtype=np.float64,
    )


def assemble_output(raw: np.ndarray, source: np.ndarray, manifest: Manifest) -> np.ndarray:
    """Validated raw NCHW output (already mapped to [0, 1]) -> platform image (H, W) or (H, W, 3).

    `source` is the input image, needed for the "y" colour mode's chroma and to return gray for gray.
    """
    if manifest.color == "rgb":
        out = raw[0].transpose(1, 2, 0)
        return out.mean(axis=2) if source.ndim == 2 else out
    if manifest.color == "gray":
        return raw[0, 0] if raw.shape[0] == 1 else raw[:, 0].transpose(1, 2, 0)
    if source.ndim == 2:
        return raw[0, 0]
    ycc = rgb_to_ycbcr(source)
    if manifest.scale > 1:
        chroma = [_upscale_bicubic(ycc[:, :, c], manifest.scale) for c in (1, 2)]
    else:
        chroma = [ycc[:, :, 1], ycc[:, :, 2]]
    return ycbcr_to_rgb(np.stack([raw[0, 0], *chroma], axis=2))


def validate_output(
    path: Path, name: str, expected: tuple[int, ...], manifest: Manifest, tolerance: float
) -> np.ndarray:
    """Check a raw output file like an upload; return it mapped to [0, 1] and clipped.

    Raises _Refused naming the image and the problem (dtype, shape, NaN/inf, range).
    """
    try:
        shape, fortran, dtype, _ = npy_header(path)
    except (OSError, ValueError) as exc:
        raise _Refused(
            "output_invalid", f"{name}: the model's output file is unreadable: {exc}", name
        ) from None
    if dtype != np.dtype("<f4") or fortran:
        raise _Refused("output_invalid", f"{name}: output dtype {dtype} (expected float32)", name)
    if tuple(shape) != tuple(expected):
        raise _Refused(
            "output_shape",
            f"{name}: the model produced shape {tuple(shape)} (N, C, H, W), expected {tuple(expected)} "
            f"for task {manifest.task!r}, scale {manifest.scale}, color {manifest.color!r}",
            name,
        )
    raw = np.load(path, allow_pickle=False)
    finite = np.isfinite(raw)
    if not finite.all():
        bad = int(raw.size - np.count_nonzero(finite))
        raise _Refused("nan", f"{name}: the model produced {bad} NaN or infinite value(s)", name)
    lo, hi = manifest.output_range
    span = hi - lo
    vmin, vmax = float(raw.min()), float(raw.max())
    if vmin < lo - tolerance * span or vmax > hi + tolerance * span:
        raise _Refused(
            "output_range",
            f"{name}: the model's outputs span [{vmin:.4g}, {vmax:.4g}] but the manifest declares "
            f"output_range [{lo:g}, {hi:g}] (tolerance {tolerance:.0%} of the span)",
            name,
        )
    return np.clip((raw.astype(np.float64) - lo) / span, 0.0, 1.0)


def _inspect(model_path: Path, manifest: Manifest, limits: RunLimits) -> ModelInfo:
    if not model_path.is_file():
        raise ModelFormatError("invalid_file", f"model file {model_path} does not exist")
    size = model_path.stat().st_size
    if size > limits.max_model_bytes:
        raise ModelFormatError(
            "invalid_file", f"{model_path.name} is {size} bytes; the limit is {limits.max_model_bytes} bytes"
        )
    return inspect_model(model_path, manifest)


def _fixed_hw(info: ModelInfo, manifest: Manifest) -> tuple[int, int] | None:
    shape = info.input_shape
    if shape is None or not (isinstance(shape[2], int) and isinstance(shape[3], int)):
        return None
    if manifest.tile_size is not None and (manifest.tile_size, manifest.tile_size) != tuple(shape[2:]):
        raise ModelFormatError(
            "manifest",
            f"the model's input has a fixed size {shape[2]}x{shape[3]} but the manifest's tile_size is "
            f"{manifest.tile_size}; set tile_size to the fixed size (or export with dynamic height/width)",
        )
    return (int(shape[2]), int(shape[3]))


def _child_env(scratch: Path, threads: int) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
    }
    env.update({k: os.environ[k] for k in _PASS_ENV if k in os.environ})
    return env


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_model_submission(
    model_path: str | Path,
    manifest: Mapping[str, Any] | Manifest,
    inputs_dir: str | Path,
    out_dir: str | Path,
    limits: RunLimits | Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """Run a submitted model on every input in `inputs_dir`, writing one restored 8-bit PNG per input
    into `out_dir`, named like the ground truth (`<id>.png` for `<id>.png` or `<id>.npy`); return a
    RunReport (ok=False with `error_kind` and `error` when the model is at fault).

    `inputs_dir` is the folder of inputs, or a track's public folder holding them in `inputs/`: 8-bit
    PNGs, or float `.npy` arrays (unclipped, [0, 1] scale; checked and loaded without pickle, see
    inputs.py). A malformed input raises InputFileError naming it (the phase's fault, not the model's).
    A manifest with `mask_input` / `kernel_input` needs each image's `masks/<id>.png` /
    `kernels/<id>.npy` there (see side_inputs.py); a missing or invalid one fails the run before the
    model starts.

    error_kind is one of: manifest, invalid_file, refused_format, custom_op, external_data, interface,
    side_input, model_load, weights, output_shape, output_invalid, output_range, nan, model_error,
    memory, wall_time, cpu_time, file_size, crash.
    progress(done, total) is called after each validated image.
    """
    t_start = time.perf_counter()
    limits = limits if isinstance(limits, RunLimits) else RunLimits.from_dict(limits)
    model_path, inputs_dir, out_dir = Path(model_path), Path(inputs_dir), Path(out_dir)
    # A track's public folder keeps its images in inputs/ (masks/ and kernels/ beside it).
    images_dir = inputs_dir / "inputs" if (inputs_dir / "inputs").is_dir() else inputs_dir
    inputs = list_inputs(images_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = RunReport(ok=False)
    try:
        manifest = parse_manifest(manifest)
        info = _inspect(model_path, manifest, limits)
        fixed_hw = _fixed_hw(info, manifest)
    except ManifestError as exc:
        report.error_kind, report.error = "manifest", str(exc)
        return report
    except ModelFormatError as exc:
        report.error_kind, report.error = exc.kind, str(exc)
        return report
    report.format, report.parameters, report.model_bytes = info.format, info.parameters, info.size_bytes

    checked: list[InputImage] = [check_input(path, limits.max_input_pixels) for path in inputs]
    expected = [expected_output_shape(c.size, c.is_rgb, manifest) for c in checked]
    largest = max(math.prod(e) for e in expected) * 4 + 4096
    file_bytes = limits.file_bytes or largest + (1 << 20)

    scratch = Path(tempfile.mkdtemp(prefix="restorebench-model-"))
    try:
        return _run_in_scratch(
            scratch,
            model_path,
            info,
            manifest,
            inputs,
            expected,
            out_dir,
            limits,
            fixed_hw,
            file_bytes,
            report,
            progress,
            t_start,
            side_roots(images_dir, inputs_dir),
            checked,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_in_scratch(
    scratch: Path,
    model_path: Path,
    info: ModelInfo,
    manifest: Manifest,
    inputs: list[Path],
    expected: list[tuple[int, ...]],
    out_dir: Path,
    limits: RunLimits,
    fixed_hw: tuple[int, int] | None,
    file_bytes: int,
    report: RunReport,
    progress: Callable[[int, int], None] | None,
    t_start: float,
    roots: list[Path],
    checked: list[InputImage],
) -> RunReport:
    (scratch / "in").mkdir()
    (scratch / "out").mkdir()
    try:
        # Masks and kernels are checked before the model is even copied: a phase that lacks them
        # fails at once, naming the image.
        side_files = stage_side_inputs(
            roots,
            inputs,
            [c.size for c in checked],
            scratch,
            mask=manifest.mask_input,
            kernel=manifest.kernel_input,
            kernel_shape=info.kernel_shape,
        )
    except SideInputError as exc:
        report.error_kind, report.error, report.failed_image = "side_input", str(exc), exc.image
        report.wall_seconds = time.perf_counter() - t_start
        return report
    model_name = "model.onnx" if info.format == "onnx" else "model.safetensors"
    shutil.copyfile(model_path, scratch / model_name)
    for path in inputs:
        shutil.copyfile(path, scratch / "in" / path.name)
    drop_to = None
    if limits.drop_privileges and os.getuid() == 0:
        # The child becomes `nobody`: it can read the copies and write only its scratch folders.
        drop_to = (65534, 65534)
        for p in (scratch, scratch / "out"):
            os.chown(p, *drop_to)
        side_dirs = [scratch / d for d in (MASK_DIR, KERNEL_DIR) if (scratch / d).is_dir()]
        for p in [scratch / "in", *(scratch / "in").iterdir(), scratch / model_name, *side_dirs, *side_files]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    cpu = limits.cpu_seconds or limits.wall_seconds * limits.threads
    job = {
        "backend": info.format,
        "model": model_name,
        "inputs": [p.name for p in inputs],
        "manifest": manifest.to_dict(),
        "threads": limits.threads,
        "use_gpu": limits.use_gpu,
        "isolate_network": limits.isolate_network,
        "drop_to": drop_to,
        "project_root": str(PROJECT_ROOT),
        "fixed_hw": fixed_hw,
        "limits": {
            "cpu_seconds": math.ceil(cpu),
            "address_space_bytes": limits.memory_bytes + _RUNTIME_VIRTUAL[info.format],
            "file_bytes": file_bytes,
            "open_files": limits.open_files,
        },
    }
    job_path = scratch / "job.json"
    job_path.write_text(json.dumps(job))
    log_path = scratch / "child.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(CHILD), str(job_path)],
            cwd=scratch,
            env=_child_env(scratch, limits.threads),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group (killpg takes the whole group) but the caller's session: a new
            # session would be a new scheduler autogroup, competing at nice 0 whatever the caller's
            # niceness, so a model started by a niced worker would outrun the worker itself.
            process_group=0,
            close_fds=True,
        )
    deadline = time.monotonic() + limits.wall_seconds
    events_path = scratch / "events.jsonl"
    buffer = b""
    offset = 0
    child_error: dict[str, Any] | None = None
    killed: tuple[str, str, str | None] | None = None
    done = 0
    peak_rss = 0
    status = 0
    usage = None
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            exited = pid != 0
            # Events: read what the child appended since the last poll (whole lines only).
            if events_path.exists():
                with events_path.open("rb") as f:
                    f.seek(offset)
                    chunk = f.read()
                offset += len(chunk)
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    event = json.loads(line)
                    kind = event.get("event")
                    peak_rss = max(peak_rss, int(event.get("peak_rss", 0)))
                    if kind == "sandbox":
                        report.sandbox.update({k: v for k, v in event.items() if k != "event"})
                    elif kind == "loaded":
                        report.provider = event["provider"]
                        report.sandbox["user"] = event["user"]
                        report.sandbox["limits"] = event["limits"]
                    elif kind == "error":
                        child_error = event
                    elif kind == "image" and killed is None:
                        index = int(event["index"])
                        try:
                            if index != done:
                                raise _Refused("crash", f"the child reported image {index} out of order")
                            raw_path = scratch / "out" / f"{index:06d}.npy"
                            image = validate_output(
                                raw_path,
                                inputs[index].name,
                                expected[index],
                                manifest,
                                limits.range_tolerance,
                            )
                            source = read_input(scratch / "in" / inputs[index].name)
                            final = assemble_output(image, source, manifest)
                            output_name = checked[index].output_name
                            Image.fromarray(to_uint8(final)).save(out_dir / output_name, format="PNG")
                            raw_path.unlink()
                        except _Refused as exc:
                            killed = (exc.kind, str(exc), exc.image)
                            _killpg(proc.pid)
                            continue
                        report.images.append(ImageRun(output_name, float(event["seconds"]), final.shape))
                        done += 1
                        if progress:
                            progress(done, len(inputs))
            if exited:
                break
            if killed is None and time.monotonic() > deadline:
                killed = (
                    "wall_time",
                    f"the model exceeded the wall-time limit of {limits.wall_seconds:g} s "
                    f"after {done} of {len(inputs)} image(s); the process group was killed",
                    inputs[done].name if done < len(inputs) else None,
                )
                _killpg(proc.pid)
            rss = _rss_bytes(proc.pid) if killed is None else 0
            peak_rss = max(peak_rss, rss)
            if rss > limits.memory_bytes:
                killed = (
                    "memory",
                    f"the model used {rss / 2**20:.0f} MiB of resident memory, above the limit of "
                    f"{limits.memory_bytes / 2**20:.0f} MiB; the process group was killed",
                    inputs[done].name if done < len(inputs) else None,
                )
                _killpg(proc.pid)
            time.sleep(limits.poll_seconds)
    finally:
        _killpg(proc.pid)  # leftovers of the group, whatever happened
        if proc.returncode is None:
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except ChildProcessError:
                pass
        proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again

    report.wall_seconds = time.perf_counter() - t_start
    if usage is not None:
        report.cpu_seconds = usage.ru_utime + usage.ru_stime
    report.peak_memory_bytes = peak_rss or None
    report.exit_status = _describe_status(status)
    error = killed or _diagnose(status, child_error, report, job, log_path, done, inputs)
    if error is None and done != len(inputs):
        error = (
            "crash",
            f"the model process exited after {done} of {len(inputs)} image(s) without an error",
            None,
        )
    if error is not None:
        report.error_kind, report.error, report.failed_image = error
        return report
    report.ok = True
    return report


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.WEXITSTATUS(status)}"


def _log_tail(log_path: Path) -> str:
    try:
        text = log_path.read_bytes()[-600:].decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f"; last output: {text}" if text else ""


def _diagnose(
    status: int,
    child_error: dict[str, Any] | None,
    report: RunReport,
    job: dict[str, Any],
    log_path: Path,
    done: int,
    inputs: list[Path],
) -> tuple[str, str, str | None] | None:
    where = inputs[done].name if done < len(inputs) else None
    at = f" while processing {where} (image {done + 1} of {len(inputs)})" if where else ""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        cpu_limit = job["limits"]["cpu_seconds"]
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and report.cpu_seconds >= cpu_limit):
            return ("cpu_time", f"the model exceeded the CPU-time limit of {cpu_limit} s{at}", where)
        if sig == signal.SIGXFSZ:
            return (
                "file_size",
                f"the model process exceeded the file-size limit of {job['limits']['file_bytes']} bytes{at}",
                where,
            )
        return (
            "crash",
            f"the model process crashed ({signal.Signals(sig).name}){at}{_log_tail(log_path)}",
            where,
        )
    code = os.WEXITSTATUS(status)
    if child_error is not None:
        return (child_error["kind"], child_error["message"], child_error.get("image") or where)
    if code != 0:
        return ("crash", f"the model process exited with status {code}{at}{_log_tail(log_path)}", where)
    return None


__all__ = [
    "ImageRun",
    "InputFileError",
    "ModelRunError",
    "RunLimits",
    "RunReport",
    "assemble_output",
    "expected_output_shape",
    "run_model_submission",
    "to_uint8",
    "validate_output",
]
