"""Where a track's or a phase's data comes from: a dataset manifest and its splits, or the organizer's
own folders (`data: {inputs, ground_truth}` pairs, or inputs alone for a track without ground truth),
confined to the bundle's folder."""

import re
from pathlib import Path, PurePosixPath
from typing import Any

from restorebench.bundles.definitions import PairsDef
from restorebench.bundles.fields import FieldChecker
from restorebench.bundles.source import FieldPath
from restorebench.challenges.track_specs import value_kind


def dataset_splits(name: str) -> set[str] | None:
    """Split names a dataset manifest defines (None: unknown dataset)."""
    from benchdata.manifests import ManifestError, load_manifest

    try:
        manifest = load_manifest(name)
    except (ManifestError, OSError):
        return None
    splits = manifest.data.get("splits")
    if isinstance(splits, dict):
        return set(splits) | {"all"}
    # Built sets (the starter benchmark) have their splits in the recipe.
    return {entry["split"] for entry in manifest.data.get("recipe") or []} | {"all"}


PAIRS_FIELDS = {"inputs", "ground_truth"}


def data_folder(check: FieldChecker, data: dict, key: str, path: FieldPath) -> tuple[Path | None, str]:
    """A folder named relative to the bundle file, resolved, and confined to the bundle's folder."""
    raw = data.get(key)
    where = (*path, key)
    if not isinstance(raw, str) or not raw.strip():
        check.problem(where, f"must be a folder relative to the bundle file, got {value_kind(raw)}")
        return None, ""
    text = raw.strip()
    relative = PurePosixPath(text.replace("\\", "/"))
    if relative.is_absolute() or re.match(r"^[A-Za-z]:", text) or ".." in relative.parts:
        check.problem(where, f"{text!r} must be a folder inside the bundle's folder (relative, no '..')")
        return None, text
    if check.base_dir is None:
        return None, text  # parsed from text alone: the loader reads the files
    base = check.base_dir.resolve()
    folder = (base / relative).resolve()
    if not folder.is_relative_to(base):
        check.problem(where, f"{text!r} leads outside the bundle's folder (a symbolic link?)")
        return None, text
    if not folder.is_dir():
        check.problem(where, f"{text!r}: no such folder beside the bundle file")
        return None, text
    return folder, relative.as_posix()


def is_pairs_form(data: Any) -> bool:
    return isinstance(data, dict) and bool(PAIRS_FIELDS & set(data))


def pairs_parse(check: FieldChecker, raw: Any, path: FieldPath, ground_truth: bool) -> PairsDef | None:
    """The organizer-pairs form of `data` (inputs only for a track without ground truth), or None (a
    problem is recorded when it is malformed)."""
    if not ground_truth:
        if isinstance(raw, dict) and "ground_truth" in raw:
            check.problem(
                (*path, "ground_truth"),
                "this track has no ground truth (scoring: {ground_truth: false}): give its inputs only, "
                "data: {inputs: ...}",
            )
            return None
        data = check.mapping(raw, path, {"inputs"}, {"inputs"})
        inputs, inputs_label = data_folder(check, data, "inputs", path) if "inputs" in data else (None, "")
        return None if inputs is None else PairsDef(path, inputs, None, (inputs_label, ""))
    if isinstance(raw, dict) and "inputs" in raw and "ground_truth" not in raw:
        check.problem(
            (*path, "ground_truth"),
            "is required; a track judged without ground truth, by no-reference metrics only, says so: "
            "scoring: {ground_truth: false, metrics: [niqe, ...]}",
        )
        return None
    data = check.mapping(raw, path, PAIRS_FIELDS, PAIRS_FIELDS)
    if set(data) != PAIRS_FIELDS:
        return None
    inputs, inputs_label = data_folder(check, data, "inputs", path)
    truth, truth_label = data_folder(check, data, "ground_truth", path)
    if inputs is not None and truth is not None and inputs == truth:
        check.problem((*path, "ground_truth"), "must be another folder than inputs")
        return None
    if inputs is None or truth is None:
        return None
    return PairsDef(path, inputs, truth, (inputs_label, truth_label))
