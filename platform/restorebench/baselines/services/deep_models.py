"""The deep reference methods entered the other way a participant can: exported to ONNX
(`reference_methods.deep.export`) and submitted as reference *model* submissions, which the workers
run in the evaluator's sandbox and score, recording runtime, parameters and peak memory. An entry is
skipped when the same ONNX file (same SHA-256) is already entered for the phase."""

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from restorebench import storage
from restorebench.baselines.services.phase_data import BaselineError, phase_data_task
from restorebench.baselines.services.planning import CODE_VERSION_PREFIX
from restorebench.baselines.services.running import Progress, RunReport
from restorebench.challenges.models import Phase
from restorebench.submissions.archives import file_sha256
from restorebench.submissions.models import Submission, SubmissionKind, SubmissionStatus
from restorebench.submissions.services import submission_create_model_baseline


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
