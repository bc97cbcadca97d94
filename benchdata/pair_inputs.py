"""The data of a phase without ground truth: the organizer's inputs only (real-world images judged by
no-reference metrics; docs/platform.md, "Tracks without ground truth").

`check_inputs(inputs_dir, task=..., scale=...)` checks them as `pairs.check_pairs` checks pairs (every
problem at once, each naming its file; `PairDataError`) and returns a `PairSet` whose
`ground_truth_dir` is None; `pairs.install_pairs` installs such a set as the public folder alone:

    public_dir/inputs/<id>.png    what participants download, a model runs on, and the evaluator reads
                                  to name and size the expected outputs (input size times the scale)
    public_dir/manifest.json      every file's size and SHA-256, the items, `"ground_truth": false`

Inputs are single 8- or 16-bit PNG images: the evaluator decodes them (`ScoringSpec.ground_truth =
false`), so .npy inputs and multi-frame tasks are refused.
"""

from __future__ import annotations

from pathlib import Path

from benchdata.pairs import (
    GROUND_TRUTH_SUFFIXES,
    MANIFEST,
    PairDataError,
    PairItem,
    PairLimits,
    PairSet,
    _by_stem,
    _copy_verified,
    _dump,
    _public_items,
    _public_manifest,
    _Reader,
    _stem,
    task_geometry,
)
from benchdata.staging import staged_folders


def check_inputs(
    inputs_dir: str | Path,
    *,
    task: str,
    scale: int | None = None,
    limits: PairLimits | None = None,
    label: str | None = None,
) -> PairSet:
    """Check the inputs of a phase without ground truth (judged by no-reference metrics only); return
    them as a `PairSet` with no ground truth, or raise `PairDataError` listing every problem.

    Inputs are single PNG images (the evaluator reads them to name the expected outputs and to size
    them: input size times the task's scale), so multi-frame tasks and .npy inputs are refused."""
    limits = limits or PairLimits()
    factor, bursts = task_geometry(task, scale)
    inputs_dir = Path(inputs_dir)
    label = label or inputs_dir.name
    if bursts:
        raise PairDataError([f"{label}: a {task} phase needs ground truth (its inputs are bursts of frames)"])
    if inputs_dir.is_symlink() or not inputs_dir.is_dir():
        raise PairDataError([f"{label}: not a folder"])
    reader = _Reader(limits)
    inputs = reader.entries(inputs_dir, label, allow_folders=False)
    if not inputs:
        reader.problems.append(f"{label}: holds no files")
    if len(inputs) > limits.max_items:
        reader.problems.append(f"{label}: {len(inputs):,} entries, over the limit of {limits.max_items:,}")
    if reader.problems:
        raise PairDataError(reader.problems)
    items, files = [], []
    for stem, name in sorted(_by_stem(inputs, label, reader.problems, _stem).items()):
        shape = reader.shape(inputs[name], f"{label}/{name}", GROUND_TRUTH_SUFFIXES, files, name)
        if shape is not None:
            output = [shape[0] * factor, shape[1] * factor, *shape[2:]]
            items.append(PairItem(stem, name, "", shape, output))
    if reader.total > limits.max_total_bytes:
        reader.problems.append(f"{label}: more than {limits.max_total_bytes:,} bytes in all, over the limit")
    if reader.problems:
        raise PairDataError(reader.problems)
    return PairSet(task, scale if factor > 1 else None, inputs_dir, None, items, files, [])


def install_inputs(pairs: PairSet, public_dir: Path, track: str | None) -> dict:
    """Copy a checked set of inputs (no ground truth) into `public_dir` with its SHA-256 manifest (which
    says `"ground_truth": false`); return that manifest. `install_pairs` calls it for such a set."""
    with staged_folders(public_dir, prefix="pairs-public") as (stage,):
        _copy_verified(pairs.input_files, pairs.inputs_dir, stage / "inputs", "inputs")
        public = _public_manifest(pairs, _public_items(pairs), stage, track)
        (stage / MANIFEST).write_text(_dump(public), encoding="utf-8")
    return public
