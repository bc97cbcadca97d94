"""Running a plan: restore each item (in a process pool with `jobs` > 1), enter the outputs through
`submission_create_baseline`, and wait for the workers to score them."""

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import django
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from restorebench import storage
from restorebench.baselines.services.phase_data import (
    BaselineError,
    method_registry,
    phase_data_task,
    phase_public_dir,
)
from restorebench.baselines.services.planning import CODE_VERSION_PREFIX, PlanItem
from restorebench.baselines.services.restoring import BaselineOutput, baseline_outputs_make
from restorebench.challenges.models import Phase
from restorebench.submissions.models import Submission, SubmissionStatus
from restorebench.submissions.services import submission_create_baseline

Progress = Callable[[str], None]


@dataclass
class RunReport:
    entered: list[Submission] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _description(method: str, version: str) -> str:
    info = method_registry().get_method(method)
    return (
        f"Reference method {method} ({info.family}; {info.fn.__module__}). {info.summary}\n"
        f"{info.citation}\n{CODE_VERSION_PREFIX}{version}"
    )


def _restore_arguments(todo: Sequence[PlanItem], scratch: Path, report: RunReport) -> dict[int, tuple]:
    """`baseline_outputs_make`'s arguments for each item of `todo` whose phase has usable inputs (by
    index in `todo`); the others are reported as failed."""
    arguments = {}
    for index, item in enumerate(todo):
        try:
            public = phase_public_dir(item.phase)
        except BaselineError as error:
            report.failed.append(f"{item.phase} {item.method}: {error}")
            continue
        arguments[index] = (
            str(public),
            item.method,
            phase_data_task(item.phase),
            str(scratch / f"{index}.zip"),
        )
    return arguments


def _restored(arguments: dict[int, tuple], jobs: int) -> Iterator[tuple[int, BaselineOutput | Exception]]:
    """(index, output or the error it raised) for each item, in order with one job, else as they finish
    in a pool of `jobs` processes. One method's failure must not stop the others."""
    if jobs <= 1:
        for index, args in arguments.items():
            try:
                output = baseline_outputs_make(*args)
            except Exception as error:
                yield index, error
            else:
                yield index, output
        return
    # spawn, not fork: the parent holds database connections and possibly torch threads.
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=get_context("spawn"), initializer=django.setup
    ) as pool:
        futures = {pool.submit(baseline_outputs_make, *args): index for index, args in arguments.items()}
        for future in as_completed(futures):
            index = futures[future]
            try:
                output = future.result()
            except Exception as error:
                yield index, error
            else:
                yield index, output


def _enter(
    item: PlanItem, output: BaselineOutput, report: RunReport, actor: AbstractBaseUser | None, say: Progress
) -> None:
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
        arguments = _restore_arguments(todo, scratch, report)
        # closing: an error while entering shuts the pool down before the scratch folder goes.
        with closing(_restored(arguments, jobs)) as outcomes:
            for index, outcome in outcomes:
                item = todo[index]
                if isinstance(outcome, Exception):
                    report.failed.append(f"{item.phase} {item.method}: {type(outcome).__name__}: {outcome}")
                else:
                    _enter(item, outcome, report, actor, say)
                if on_done:
                    on_done()
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
