"""Which (phase, method) pairs to run: the method selection ("fast", "all" or names), the code
version that identifies an entry, and the skips (a method that cannot serve the phase, or one already
entered at the same code version)."""

import hashlib
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from restorebench.baselines.services.phase_data import (
    BaselineError,
    method_registry,
    phase_data_task,
    phase_disclosures,
)
from restorebench.challenges.models import Phase
from restorebench.submissions.models import Submission, SubmissionStatus

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


def methods_for_task(task: str, selection: str | Sequence[str]) -> list[str]:
    """The method names `selection` means for `task`: "fast" (FAST_METHODS serving the task), "all"
    (every registered method serving the task), or explicit names (those serving the task)."""
    registry = method_registry()
    serving = [m.name for m in registry.list_methods(task)]
    if selection == "fast":
        return [name for name in serving if name in FAST_METHODS]
    if selection == "all":
        return serving
    return [name for name in selection if name in serving]


def methods_check(names: Iterable[str]) -> None:
    """Refuse unknown method names, listing the registered ones."""
    registry = method_registry()
    for name in names:
        registry.get_method(name)  # raises MethodError naming the valid methods


def method_code_version(name: str) -> str:
    """First 12 hex digits of the SHA-256 of the source of the module defining method `name`."""
    info = method_registry().get_method(name)
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
    registry = method_registry()
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
