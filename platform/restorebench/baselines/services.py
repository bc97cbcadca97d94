"""Scoring reference methods on phases: restore a phase's participant inputs with each method, zip the
outputs and enter them through `submissions.services.submission_create_baseline`, so baselines go
through exactly the checks and evaluation pipeline a participant's zip goes through.

Each entry records the method's code version (the SHA-256 of its module's source, first 12 hex
digits) in the submission's description, as the line "Code version: <hex>"; a method already entered
for a phase at the same code version is skipped, unless forced. A changed module gives a new entry,
and the leaderboard shows each method's latest scored one.

Restoring happens in `baseline_outputs_make`, a function of files only (no database), so that it can
run in a process pool; the submissions are created in the calling process.

`deep_models_enter` enters the deep reference methods the other way a participant can: exported to
ONNX (`reference_methods.deep.export`) and submitted as reference *model* submissions, which the
workers run in the evaluator's sandbox and score, recording runtime, parameters and peak memory. An
entry is skipped when the same ONNX file (same SHA-256) is already entered for the phase.
"""

import hashlib
import inspect
import json
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import django
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from restorebench import storage
from restorebench.challenges.models import Phase
from restorebench.submissions.archives import file_sha256
from restorebench.submissions.models import Submission, SubmissionKind, SubmissionStatus
from restorebench.submissions.services import submission_create_baseline, submission_create_model_baseline

# Methods fast enough to score by default: each restores a 192 x 192 RGB starter image (a 14-frame
# burst of 48 x 48 frames for burst SR) in about a second or less on the 2-core development machine
# without a GPU (measured 2026-11; the deep ones once their network is loaded). A method serves the
# tasks its registration says (the task table's names); this is only the speed selection. The slow ones
# (nlm, ksvd, richardson_lucy, TV deblurring, ...) need `--methods all` or their name. A deep method
# whose weights are not on disk fails with a message saying so, and the others go on.
FAST_METHODS: frozenset[str] = frozenset(
    {
        "identity",
        "gaussian",
        "bilateral",
        "bayesshrink",
        "visushrink",
        "fourier_lowpass",
        "domain_transform",
        "perona_malik",
        "edge_enhancing_diffusion",
        "tv",
        "dncnn",
        "wiener",
        "hyper_laplacian",
        "bicubic",
        "srcnn",
        "espcn",
        "vdsr",
        "harmonic_inpaint",
        "biharmonic_inpaint",
        "tv_deblock",
        "burst_bicubic",
        "shift_and_add",
    }
)
CODE_VERSION_PREFIX = "Code version: "

Progress = Callable[[str], None]


class BaselineError(ValueError):
    """A request the baseline runner cannot carry out (unknown method, phase without data)."""


def _registry():
    import reference_methods.registry as registry

    return registry


def phase_data_task(phase: Phase) -> str:
    return phase.track.task


def phase_disclosures(phase: Phase) -> set[str]:
    """What the phase's data disclose to methods (its spec's sigma / scale / quality; kernels and masks
    when its public manifest says they are given)."""
    manifest = _public_manifest(phase)
    given = manifest.get("disclosed") or {}
    spec = manifest.get("spec") or phase.track.degradation_spec or manifest_scale_spec(manifest)
    return _registry().track_disclosures(
        phase.track.task, spec, kernel=bool(given.get("kernel")), mask=bool(given.get("mask"))
    )


def manifest_scale_spec(manifest: dict) -> dict:
    """What the public manifest of organizer data (pairs, or inputs alone) discloses without a
    degradation spec: its scale, which an SR method needs."""
    scale = manifest.get("scale")
    return {"scale": scale} if isinstance(scale, int) and scale > 1 else {}


def _public_manifest(phase: Phase) -> dict:
    try:
        return json.loads((_public_dir(phase) / "manifest.json").read_text(encoding="utf-8"))
    except (BaselineError, OSError, ValueError):
        return {}


def methods_for_task(task: str, selection: str | Sequence[str]) -> list[str]:
    """The method names `selection` means for `task`: "fast" (FAST_METHODS serving the task), "all"
    (every registered method serving the task), or explicit names (those serving the task)."""
    registry = _registry()
    serving = [m.name for m in registry.list_methods(task)]
    if selection == "fast":
        return [name for name in serving if name in FAST_METHODS]
    if selection == "all":
        return serving
    return [name for name in selection if name in serving]


def methods_check(names: Iterable[str]) -> None:
    """Refuse unknown method names, listing the registered ones."""
    registry = _registry()
    for name in names:
        registry.get_method(name)  # raises MethodError naming the valid methods


def method_code_version(name: str) -> str:
    """First 12 hex digits of the SHA-256 of the source of the module defining method `name`."""
    info = _registry().get_method(name)
    source = inspect.getsourcefile(info.fn)
    data = Path(source).read_bytes() if source else info.fn.__module__.encode()
    return hashlib.sha256(data).hexdigest()[:12]


def _entered(phase: Phase, method: str, version: str) -> Submission | None:
    """A reference entry of `method` at `version` that is scored or on its way (not failed)."""
    return (
        Submission.objects.filter(
            phase=phase,
            is_reference=True,
            method_name=method,
            description__contains=f"{CODE_VERSION_PREFIX}{version}",
        )
        .exclude(status__in=(SubmissionStatus.FAILED, SubmissionStatus.CANCELLED))
        .order_by("-created_at")
        .first()
    )


@dataclass
class PlanItem:
    phase: Phase
    method: str
    version: str
    skip_reason: str = ""


def baseline_plan(
    *, phases: Sequence[Phase], selection: str | Sequence[str], force: bool = False
) -> list[PlanItem]:
    """Every (phase, method) pair to run, with a reason where it is skipped."""
    if not isinstance(selection, str):
        methods_check(selection)
    plan = []
    registry = _registry()
    for phase in phases:
        task = phase_data_task(phase)
        disclosed = phase_disclosures(phase)
        for method in methods_for_task(task, selection):
            version = method_code_version(method)
            item = PlanItem(phase=phase, method=method, version=version)
            refusal = registry.serves(registry.get_method(method), task, disclosed)
            existing = None if force or refusal else _entered(phase, method, version)
            if refusal:
                item.skip_reason = refusal
            elif existing is not None:
                item.skip_reason = f"already entered at code version {version} (submission #{existing.pk})"
            plan.append(item)
    if not isinstance(selection, str):
        served = {item.method for item in plan}
        unused = [name for name in selection if name not in served]
        if unused:
            tasks = sorted({phase_data_task(p) for p in phases})
            raise BaselineError(
                f"method(s) {', '.join(unused)} serve none of the selected phases' tasks ({', '.join(tasks)})"
            )
    return plan


# --- Restoring (no database: runs in worker processes) --------------------------------------------


@dataclass
class BaselineOutput:
    zip_path: str
    runtime_per_mp: float | None  # seconds per output megapixel, median over the images
    images: int


def baseline_outputs_make(public_dir: str, method: str, task: str, out_zip: str) -> BaselineOutput:
    """Restore every input of the phase data in `public_dir` with `method` and zip the results as
    `<id>.png` (the ground truth's names). Raises the method's error on the first image it fails."""
    import numpy as np

    from benchdata.image_files import read_mask, write_image
    from benchdata.track_data import load_public_input
    from reference_methods.registry import context_from_spec, restore

    public = Path(public_dir)
    manifest = json.loads((public / "manifest.json").read_text(encoding="utf-8"))
    spec = manifest.get("spec") or manifest_scale_spec(manifest)
    _registry().list_methods()  # import every method module now, not inside the first timing
    per_mp: list[float] = []
    out = Path(out_zip)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=out.parent))
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
            for item in manifest["items"]:
                degraded = load_public_input(public, item)
                kernel = np.load(public / item["kernel"], allow_pickle=False) if item.get("kernel") else None
                mask = read_mask(public / item["mask"]) if item.get("mask") else None
                context = context_from_spec(task, spec, kernel=kernel, mask=mask)
                start = time.perf_counter()
                restored = restore(method, degraded, context)
                per_mp.append((time.perf_counter() - start) / (restored.shape[0] * restored.shape[1] / 1e6))
                name = f"{item['id']}.png"
                write_image(staging / name, restored)
                archive.write(staging / name, name)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The median, so that a first call loading a network or warming caches does not dominate.
    return BaselineOutput(str(out), float(np.median(per_mp)) if per_mp else None, len(manifest["items"]))


# --- Running a plan -------------------------------------------------------------------------------


@dataclass
class RunReport:
    entered: list[Submission] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _description(method: str, version: str) -> str:
    info = _registry().get_method(method)
    return (
        f"Reference method {method} ({info.family}; {info.fn.__module__}). {info.summary}\n"
        f"{info.citation}\n{CODE_VERSION_PREFIX}{version}"
    )


def _public_dir(phase: Phase) -> Path:
    try:
        return storage.phase_inputs_for_reading(phase)
    except storage.DataUnavailable as error:
        raise BaselineError(f"phase {phase} has no usable participant inputs: {error}") from error


def baselines_run(
    *,
    plan: Sequence[PlanItem],
    jobs: int = 1,
    actor: AbstractBaseUser | None = None,
    progress: Progress | None = None,
    on_done: Callable[[], None] | None = None,
) -> RunReport:
    """Restore and enter every item of `plan` that is not skipped. `jobs` > 1 restores in that many
    processes. `on_done` is called after each item restored (a progress bar's update)."""
    report = RunReport()
    say = progress or (lambda message: None)
    todo = []
    for item in plan:
        if item.skip_reason:
            report.skipped.append(f"{item.phase} {item.method}: {item.skip_reason}")
        else:
            todo.append(item)
    if not todo:
        return report
    scratch = Path(tempfile.mkdtemp(prefix="baselines-", dir=storage.scratch_dir()))
    try:
        arguments = {}
        for index, item in enumerate(todo):
            try:
                public = _public_dir(item.phase)
            except BaselineError as error:
                report.failed.append(f"{item.phase} {item.method}: {error}")
                continue
            arguments[index] = (
                str(public),
                item.method,
                phase_data_task(item.phase),
                str(scratch / f"{index}.zip"),
            )

        def enter(index: int, output: BaselineOutput) -> None:
            item = todo[index]
            try:
                submission = submission_create_baseline(
                    phase=item.phase,
                    method_name=item.method,
                    zip_path=output.zip_path,
                    runtime_per_mp=output.runtime_per_mp,
                    description=_description(item.method, item.version),
                    actor=actor,
                )
            except ValidationError as error:
                report.failed.append(f"{item.phase} {item.method}: refused: {'; '.join(error.messages)}")
            else:
                report.entered.append(submission)
                say(f"entered {item.method} on {item.phase} as submission #{submission.pk}")
            finally:
                Path(output.zip_path).unlink(missing_ok=True)

        def failed(index: int, error: BaseException) -> None:
            item = todo[index]
            report.failed.append(f"{item.phase} {item.method}: {type(error).__name__}: {error}")

        if jobs <= 1:
            for index, args in arguments.items():
                try:
                    output = baseline_outputs_make(*args)
                except Exception as error:  # one method's failure must not stop the others
                    failed(index, error)
                else:
                    enter(index, output)
                if on_done:
                    on_done()
        else:
            # spawn, not fork: the parent holds database connections and possibly torch threads.
            with ProcessPoolExecutor(
                max_workers=jobs, mp_context=get_context("spawn"), initializer=django.setup
            ) as pool:
                futures = {
                    pool.submit(baseline_outputs_make, *args): index for index, args in arguments.items()
                }
                for future in as_completed(futures):
                    index = futures[future]
                    try:
                        output = future.result()
                    except Exception as error:
                        failed(index, error)
                    else:
                        enter(index, output)
                    if on_done:
                        on_done()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


# --- Deep methods as model submissions -------------------------------------------------------------


def deep_model_entries(phase: Phase) -> list[str]:
    """The exportable deep entries (`reference_methods.deep.export.SUBMISSIONS`) that restore this
    phase's task, at its scale for super-resolution."""
    from benchdata.tasks import get_task
    from reference_methods.deep.export import SUBMISSIONS

    task = phase_data_task(phase)
    scale = (phase.track.degradation_spec or {}).get("scale")
    scaled = get_task(task).scaled
    return [
        name for name, sub in SUBMISSIONS.items() if sub.task == task and (not scaled or sub.scale == scale)
    ]


def _model_entered(phase: Phase, name: str, sha256: str) -> Submission | None:
    return (
        Submission.objects.filter(
            phase=phase, is_reference=True, kind=SubmissionKind.MODEL, method_name=name, sha256=sha256
        )
        .exclude(status__in=(SubmissionStatus.FAILED, SubmissionStatus.CANCELLED))
        .order_by("-created_at")
        .first()
    )


def _model_description(name: str, sha256: str) -> str:
    from reference_methods.deep.export import SUBMISSIONS

    weights = SUBMISSIONS[name].weights
    return (
        f"Reference deep method {name} (weights {weights}, model card "
        f"reference_methods/deep/weights/{weights}.md), exported to ONNX by reference_methods.deep.export "
        f"and run in the model-submission sandbox.\n{CODE_VERSION_PREFIX}{sha256[:12]}"
    )


def deep_model_names(selection: str) -> list[str] | None:
    """A command-line selection of deep entries: "all" → None (every entry serving each phase), else
    the comma-separated names."""
    if selection == "all":
        return None
    return [name.strip() for name in selection.split(",") if name.strip()]


def deep_models_enter(
    *,
    phases: Sequence[Phase],
    names: Sequence[str] | None = None,
    force: bool = False,
    actor: AbstractBaseUser | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Export the deep entries serving each phase (or only `names`) to ONNX, once each, and enter them
    as reference model submissions. Entries already entered with the same file are skipped unless
    `force`; an export or a refusal is reported as failed and the others go on."""
    from reference_methods.deep.export import SUBMISSIONS, export_submission

    if names is not None:
        unknown = [name for name in names if name not in SUBMISSIONS]
        if unknown:
            raise BaselineError(
                f"unknown deep entr{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                f"exportable: {', '.join(SUBMISSIONS)}"
            )
    say = progress or (lambda message: None)
    report = RunReport()
    scratch = Path(tempfile.mkdtemp(prefix="deep-models-", dir=storage.scratch_dir()))
    exported: dict[str, tuple[Path, dict, str] | BaseException] = {}
    try:
        for phase in phases:
            for name in deep_model_entries(phase):
                if names is not None and name not in names:
                    continue
                if name not in exported:
                    try:
                        path, manifest = export_submission(name, scratch)
                        exported[name] = (path, manifest, file_sha256(path))
                    except Exception as error:  # e.g. weights missing: the others go on
                        exported[name] = error
                item = exported[name]
                if isinstance(item, BaseException):
                    report.failed.append(f"{phase} {name}: export failed: {type(item).__name__}: {item}")
                    continue
                path, manifest, sha256 = item
                existing = None if force else _model_entered(phase, name, sha256)
                if existing is not None:
                    report.skipped.append(
                        f"{phase} {name}: this ONNX file is already entered (submission #{existing.pk})"
                    )
                    continue
                try:
                    submission = submission_create_model_baseline(
                        phase=phase,
                        method_name=name,
                        model_path=path,
                        manifest=manifest,
                        description=_model_description(name, sha256),
                        actor=actor,
                    )
                except ValidationError as error:
                    report.failed.append(f"{phase} {name}: refused: {'; '.join(error.messages)}")
                else:
                    report.entered.append(submission)
                    say(f"entered {name} on {phase} as model submission #{submission.pk}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def baselines_pending(*, phases: Sequence[Phase]) -> int:
    """Reference submissions of `phases` still queued or running."""
    return Submission.objects.filter(
        phase__in=phases,
        is_reference=True,
        status__in=(SubmissionStatus.QUEUED, SubmissionStatus.RUNNING),
    ).count()


def baselines_wait(
    *, phases: Sequence[Phase], timeout_s: float, poll_s: float = 1.0, progress: Progress | None = None
) -> bool:
    """Wait until no reference submission of `phases` is queued or running; False on timeout."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        pending = baselines_pending(phases=phases)
        if pending != last and progress:
            progress(f"{pending} baseline submission(s) waiting to be scored ({timezone.now():%H:%M:%S} UTC)")
        last = pending
        if pending == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
