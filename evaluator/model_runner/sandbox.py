"""Run a submitted model on a folder of input images in a sandboxed child process (the parent side).

`run_model_submission(model_path, manifest, inputs_dir, out_dir, limits) -> RunReport`:
1. validates the manifest and inspects the model file statically (formats.py) — refusals never
   start a process;
2. checks and copies the masks / kernels a non-blind model's manifest asks for (side_inputs.py; a
   missing or invalid one fails the run here), copies the model and the inputs into a fresh scratch
   folder owned by this process (scratch.py; readable by `nobody` when we run as root), writes a job
   file and starts `child.py` (process.py), which isolates itself (isolation.py: network namespace,
   Landlock, parent-death signal, `nobody`, rlimits) before it opens the model;
3. watches it (process.py): wall-clock deadline and resident-memory ceiling (both kill the whole
   process group), and validates every output file as it appears (outputs.py) — dtype float32, the
   exact expected NCHW shape, no NaN/inf, values inside the manifest's output range (give or take
   `range_tolerance` of its span) — then converts it to an 8-bit PNG in `out_dir` and deletes it;
4. reaps the child with `wait4` for its CPU time, and reports. Peak resident memory is the child's own
   VmHWM (sent with each output) or the largest VmRSS the parent saw, whichever is larger: `wait4`'s
   ru_maxrss would include the parent's resident memory copied into the child at fork time.

Every failure of the model is returned as a report with `ok=False`, an `error_kind` and a message
naming the problem; mistakes of the caller (missing inputs folder, …) raise, and so does a host that
cannot give the sandbox its layers (SandboxUnavailableError) unless `allow_weak_sandbox` is set.

Image arrays here follow the platform convention: float64 (H, W) or (H, W, 3) on [0, 1].
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from evaluator.model_runner.formats import ModelFormatError, ModelInfo, inspect_model
from evaluator.model_runner.inputs import (
    InputFileError,
    InputImage,
    check_frames,
    check_input,
    frame_files,
    list_inputs,
    read_input,
)
from evaluator.model_runner.limits import (
    ImageRun,
    ModelRunError,
    RunLimits,
    RunReport,
    SandboxUnavailableError,
)
from evaluator.model_runner.manifest import Manifest, ManifestError, parse_manifest
from evaluator.model_runner.outputs import (
    assemble_output,
    expected_output_shape,
    to_uint8,
    validate_output,
)
from evaluator.model_runner.process import (
    CHILD,
    ChildOutcome,
    describe_status,
    diagnose,
    start_child,
    watch_child,
)
from evaluator.model_runner.scratch import scratch_create
from evaluator.model_runner.side_inputs import (
    KERNEL_DIR,
    MASK_DIR,
    SideInputError,
    side_roots,
    stage_side_inputs,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Virtual memory each runtime maps beyond what the model uses (measured: onnxruntime ~0.2 GiB,
# torch ~3.2 GiB VmPeak at import), added to the address-space limit so `memory_bytes` means memory
# available to the model.
_RUNTIME_VIRTUAL = {"onnx": 1 << 30, "safetensors": 6 << 30}


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


def _multi_frame(manifest: Mapping[str, Any] | Manifest) -> bool:
    """Whether the manifest's task takes a folder of frames per sample (read before it is validated:
    an invalid manifest is reported as the model's fault below)."""
    from benchdata.tasks import TaskError, get_task

    task = manifest.task if isinstance(manifest, Manifest) else dict(manifest or {}).get("task")
    try:
        return get_task(task).multi_frame
    except TaskError:
        return False


def run_model_submission(
    model_path: str | Path,
    manifest: Mapping[str, Any] | Manifest,
    inputs_dir: str | Path,
    out_dir: str | Path,
    limits: RunLimits | Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    reference_input: tuple[int, int] | None = None,
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
    reference_input: (height, width) of the model input at which the child counts FLOPs, parameters
    and activations (`RunReport.profile`; efficiency.py); default: the manifest task's
    (`benchdata.tasks`), for a scaled task the low-resolution input.
    """
    t_start = time.perf_counter()
    limits = limits if isinstance(limits, RunLimits) else RunLimits.from_dict(limits)
    model_path, inputs_dir, out_dir = Path(model_path), Path(inputs_dir), Path(out_dir)
    # A track's public folder keeps its images in inputs/ (masks/ and kernels/ beside it).
    images_dir = inputs_dir / "inputs" if (inputs_dir / "inputs").is_dir() else inputs_dir
    inputs = list_inputs(images_dir, frames=_multi_frame(manifest))
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
    reference_input = _reference_input(reference_input, manifest)
    report.format, report.parameters, report.model_bytes = info.format, info.parameters, info.size_bytes

    checked: list[InputImage] = [
        check_frames(path, limits.max_input_pixels, manifest.frames)
        if path.is_dir()
        else check_input(path, limits.max_input_pixels)
        for path in inputs
    ]
    expected = [expected_output_shape(c.size, c.is_rgb, manifest) for c in checked]
    largest = max(math.prod(e) for e in expected) * 4 + 4096
    file_bytes = limits.file_bytes or largest + (1 << 20)

    scratch = scratch_create()
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
            reference_input,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _reference_input(value: tuple[int, int] | None, manifest: Manifest) -> tuple[int, int]:
    from benchdata.tasks import REFERENCE_INPUT_BOUNDS, get_task

    if value is None:
        return get_task(manifest.task).reference_input
    low, high = REFERENCE_INPUT_BOUNDS
    if len(value) != 2 or not all(isinstance(v, int) and low <= v <= high for v in value):
        raise ValueError(
            f"reference_input must be (height, width) with sides in [{low}, {high}], got {value!r}"
        )
    return (int(value[0]), int(value[1]))


def _stage(
    scratch: Path,
    model_path: Path,
    info: ModelInfo,
    inputs: list[Path],
    side_files: list[Path],
    limits: RunLimits,
) -> tuple[str, tuple[int, int] | None]:
    """Copy the model and the inputs into the scratch folder; return the model's file name there and
    the uid/gid the child drops to (None when it keeps ours)."""
    model_name = "model.onnx" if info.format == "onnx" else "model.safetensors"
    shutil.copyfile(model_path, scratch / model_name)
    for path in inputs:
        if path.is_dir():  # a multi-frame sample: its PNG frames
            (scratch / "in" / path.name).mkdir()
            for frame in frame_files(path):
                shutil.copyfile(frame, scratch / "in" / path.name / frame.name)
        else:
            shutil.copyfile(path, scratch / "in" / path.name)
    if not (limits.drop_privileges and os.getuid() == 0):
        return model_name, None
    # The child becomes `nobody`: it can read the copies and write only its scratch folders.
    drop_to = (65534, 65534)
    for p in (scratch, scratch / "out"):
        os.chown(p, *drop_to)
    side_dirs = [scratch / d for d in (MASK_DIR, KERNEL_DIR) if (scratch / d).is_dir()]
    for p in [scratch / "in", *(scratch / "in").rglob("*"), scratch / model_name, *side_dirs, *side_files]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return model_name, drop_to


def _job(
    info: ModelInfo,
    model_name: str,
    inputs: list[Path],
    manifest: Manifest,
    limits: RunLimits,
    drop_to: tuple[int, int] | None,
    fixed_hw: tuple[int, int] | None,
    file_bytes: int,
    reference_input: tuple[int, int],
) -> dict[str, Any]:
    cpu = limits.cpu_seconds or limits.wall_seconds * limits.threads
    return {
        "backend": info.format,
        "model": model_name,
        "inputs": [p.name for p in inputs],
        "manifest": manifest.to_dict(),
        "threads": limits.threads,
        "use_gpu": limits.use_gpu,
        "isolate_network": limits.isolate_network,
        "restrict_filesystem": limits.restrict_filesystem,
        "allow_weak_sandbox": limits.allow_weak_sandbox,
        "drop_to": drop_to,
        "project_root": str(PROJECT_ROOT),
        "fixed_hw": fixed_hw,
        "reference_input": list(reference_input),
        "limits": {
            "cpu_seconds": math.ceil(cpu),
            "address_space_bytes": limits.memory_bytes + _RUNTIME_VIRTUAL[info.format],
            "file_bytes": file_bytes,
            "open_files": limits.open_files,
        },
    }


def sandbox_refusal_message(refused: Mapping[str, Any]) -> str:
    """The operator's error for a host that cannot give a model run its sandbox (no server paths)."""
    weak = ", ".join(f"{layer}: {why}" for layer, why in sorted((refused.get("missing") or {}).items()))
    return (
        f"model runs are refused on this host: the sandbox is incomplete ({weak}). Fix the host (see "
        'docs/deployment.md, "Model sandbox") or explicitly allow a weaker sandbox '
        "(RunLimits.allow_weak_sandbox; on the platform RESTOREBENCH_SANDBOX_ALLOW_WEAK=1)"
    )


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
    reference_input: tuple[int, int],
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
    model_name, drop_to = _stage(scratch, model_path, info, inputs, side_files, limits)
    job = _job(info, model_name, inputs, manifest, limits, drop_to, fixed_hw, file_bytes, reference_input)
    job_path = scratch / "job.json"
    job_path.write_text(json.dumps(job))

    def on_image(event: dict[str, Any]) -> None:
        index = int(event["index"])
        raw_path = scratch / "out" / f"{index:06d}.npy"
        name = inputs[index].name
        image = validate_output(raw_path, name, expected[index], manifest, limits.range_tolerance)
        final = assemble_output(image, read_input(scratch / "in" / name), manifest)
        output_name = checked[index].output_name
        Image.fromarray(to_uint8(final)).save(out_dir / output_name, format="PNG")
        raw_path.unlink()
        report.images.append(ImageRun(output_name, float(event["seconds"]), final.shape))
        if progress:
            progress(index + 1, len(inputs))

    proc = start_child(scratch, job_path, limits.threads)
    outcome = watch_child(proc, scratch, limits, report, inputs, on_image)
    return _finish(outcome, report, job, scratch, inputs, t_start)


def _finish(
    outcome: ChildOutcome,
    report: RunReport,
    job: dict[str, Any],
    scratch: Path,
    inputs: list[Path],
    t_start: float,
) -> RunReport:
    report.wall_seconds = time.perf_counter() - t_start
    if outcome.usage is not None:
        report.cpu_seconds = outcome.usage.ru_utime + outcome.usage.ru_stime
    report.peak_memory_bytes = outcome.peak_rss or None
    report.exit_status = describe_status(outcome.status)
    if outcome.refused is not None:
        raise SandboxUnavailableError(
            sandbox_refusal_message(outcome.refused), report.sandbox.get("isolation", {})
        )
    error = diagnose(outcome, report, job, scratch / "child.log", inputs)
    if error is not None:
        report.error_kind, report.error, report.failed_image = error
        return report
    report.ok = True
    return report


__all__ = [
    "CHILD",
    "ImageRun",
    "InputFileError",
    "ModelRunError",
    "RunLimits",
    "RunReport",
    "SandboxUnavailableError",
    "assemble_output",
    "expected_output_shape",
    "run_model_submission",
    "sandbox_refusal_message",
    "to_uint8",
    "validate_output",
]
