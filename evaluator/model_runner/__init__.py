"""Run submitted models (ONNX, or safetensors weights of a registered architecture) safely.

Public entry points:
- `run_model_submission(model_path, manifest, inputs_dir, out_dir, limits) -> RunReport`: run the model
  in a sandboxed child process on every input image and write validated PNG outputs (sandbox.py).
- `run_model_job(...) -> dict`: the same, then score the outputs with the evaluator (jobs.py) — JSON in,
  JSON out, for the platform's Celery task.
- `parse_manifest(dict) -> Manifest` (manifest.py), `RunLimits`, `RunReport` (limits.py).
- `sweep_stale_scratch()`: delete the scratch folders of runs whose process is gone (scratch.py).

See docs/model_submissions.md for formats, the manifest, the sandbox and its limits.
"""

from evaluator.model_runner.formats import ModelFormatError, detect_format
from evaluator.model_runner.inputs import InputFileError
from evaluator.model_runner.jobs import run_model_job
from evaluator.model_runner.limits import (
    ImageRun,
    ModelRunError,
    RunLimits,
    RunReport,
    SandboxUnavailableError,
)
from evaluator.model_runner.manifest import Manifest, ManifestError, parse_manifest
from evaluator.model_runner.sandbox import run_model_submission
from evaluator.model_runner.scratch import sweep_stale_scratch

__all__ = [
    "ImageRun",
    "InputFileError",
    "Manifest",
    "ManifestError",
    "ModelFormatError",
    "ModelRunError",
    "RunLimits",
    "RunReport",
    "SandboxUnavailableError",
    "detect_format",
    "parse_manifest",
    "run_model_job",
    "run_model_submission",
    "sweep_stale_scratch",
]
