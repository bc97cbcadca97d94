"""Scoring reference methods on phases, split by concept; import from here.

Each method restores a phase's participant inputs, the outputs are zipped and entered through
`submissions.services.submission_create_baseline`, so baselines go through exactly the checks and
evaluation pipeline a participant's zip goes through.

- `phase_data`: what a phase gives the methods (task, participant inputs, what they disclose);
- `planning`: the method selection (`FAST_METHODS`, "all", names), code versions and skips;
- `restoring`: `baseline_outputs_make`, a function of files only (no database), so that it can run in
  a process pool;
- `running`: restoring and entering a plan (`baselines_run`), and waiting for the scores;
- `deep_models`: the deep methods exported to ONNX and entered as reference model submissions.

Each entry records the method's code version (the SHA-256 of its module's source, first 12 hex
digits) in the submission's description, as the line "Code version: <hex>"; a method already entered
for a phase at the same code version is skipped, unless forced. A changed module gives a new entry,
and the leaderboard shows each method's latest scored one.
"""

from restorebench.baselines.services.deep_models import (
    deep_model_entries,
    deep_model_names,
    deep_models_enter,
)
from restorebench.baselines.services.phase_data import (
    BaselineError,
    manifest_scale_spec,
    phase_data_task,
    phase_disclosures,
)
from restorebench.baselines.services.planning import (
    CODE_VERSION_PREFIX,
    FAST_METHODS,
    PlanItem,
    baseline_plan,
    method_code_version,
    methods_check,
    methods_for_task,
)
from restorebench.baselines.services.restoring import BaselineOutput, baseline_outputs_make
from restorebench.baselines.services.running import (
    Progress,
    RunReport,
    baselines_pending,
    baselines_run,
    baselines_wait,
)

__all__ = [
    "CODE_VERSION_PREFIX",
    "FAST_METHODS",
    "BaselineError",
    "BaselineOutput",
    "PlanItem",
    "Progress",
    "RunReport",
    "baseline_outputs_make",
    "baseline_plan",
    "baselines_pending",
    "baselines_run",
    "baselines_wait",
    "deep_model_entries",
    "deep_model_names",
    "deep_models_enter",
    "manifest_scale_spec",
    "method_code_version",
    "methods_check",
    "methods_for_task",
    "phase_data_task",
    "phase_disclosures",
]
