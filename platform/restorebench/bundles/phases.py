"""A bundle's phase: its dates, data split or organizer data, submission limits, visibility and what a
final phase requires."""

from typing import Any

from restorebench.bundles.data_sources import is_pairs_form, pairs_parse
from restorebench.bundles.definitions import PairsDef, PhaseDef
from restorebench.bundles.fields import FieldChecker
from restorebench.bundles.source import FieldPath
from restorebench.challenges.track_specs import value_kind

PHASE_FIELDS = {
    "slug",
    "title",
    "description",
    "starts_at",
    "ends_at",
    "split",
    "seed",
    "limits",
    "visibility",
    "final",
    "data",
}


def _phase_split(
    check: FieldChecker,
    phase: dict,
    path: FieldPath,
    data: dict,
    splits: set[str] | None,
    ground_truth: bool,
) -> Any:
    """The phase's dataset split (its own, else the track's, else "test"), checked against where the
    phase's data comes from: organizer data has no split; a dataset must have the split."""
    split = phase.get("split", data.get("split", "test"))
    split_path = (*path, "split") if "split" in phase else (path[0], path[1], "data", "split")
    if not isinstance(split, str):
        check.problem(split_path, f"must be a split name, got {value_kind(split)}")
    elif "data" in phase or is_pairs_form(data):
        pass  # organizer pairs: no dataset split
    elif not ground_truth:
        check.problem(
            path,
            "has no data: a track without ground truth takes the organizer's inputs, data: {inputs: ...} "
            "(a dataset's images would be its ground truth)",
        )
    elif "dataset" not in data:
        check.problem(
            path, "has no data: give the track a dataset, or the phase data: {inputs: ..., ground_truth: ...}"
        )
    elif splits is not None and split not in splits:
        check.problem(split_path, f"dataset has no split {split!r}; its splits: {', '.join(sorted(splits))}")
    return split


def phase_parse(
    check: FieldChecker,
    raw: Any,
    path: FieldPath,
    data: dict,
    splits: set[str] | None,
    track_pairs: PairsDef | None,
    ground_truth: bool,
) -> PhaseDef | None:
    """One entry of a track's `phases` (None when it is not a mapping); `data` is the track's data
    mapping, `splits` its dataset's splits, `track_pairs` the organizer data the track gives every phase."""
    phase = check.mapping(raw, path, PHASE_FIELDS, {"slug", "title", "starts_at", "ends_at"})
    if not phase:
        return None
    slug = check.slug(phase, "slug", path)
    title = check.text(phase, "title", path, required=True)
    description = check.text(phase, "description", path, max_length=20_000)
    starts, ends = check.when(phase, "starts_at", path), check.when(phase, "ends_at", path)
    if starts and ends and ends <= starts:
        check.problem((*path, "ends_at"), f"must be after starts_at ({starts.isoformat()})")
    pairs = (
        pairs_parse(check, phase["data"], (*path, "data"), ground_truth) if "data" in phase else track_pairs
    )
    split = _phase_split(check, phase, path, data, splits, ground_truth)
    seed = check.integer(phase, "seed", path, data.get("seed") if isinstance(data.get("seed"), int) else None)
    limits_path = (*path, "limits")
    limits = check.mapping(phase.get("limits", {}), limits_path, {"per_day", "total", "upload_bytes"})
    visibility_path = (*path, "visibility")
    visibility = check.mapping(
        phase.get("visibility", {}),
        visibility_path,
        {"leaderboard_public", "hidden_ground_truth", "score_decimals", "results_hidden", "reveal_at"},
    )
    final_path = (*path, "final")
    final = check.mapping(phase.get("final", {}), final_path, {"factsheet", "code", "max_team_size"})
    return PhaseDef(
        path=path,
        slug=slug,
        title=title,
        description=description,
        starts_at=starts,
        ends_at=ends,
        split=split if isinstance(split, str) else "",
        seed=seed,
        max_submissions_per_day=check.integer(limits, "per_day", limits_path, None),
        max_submissions_total=check.integer(limits, "total", limits_path, None),
        max_upload_bytes=check.integer(limits, "upload_bytes", limits_path, 2 * 1024**3, minimum=1),
        leaderboard_public=check.flag(visibility, "leaderboard_public", visibility_path, True),
        hidden_ground_truth=check.flag(visibility, "hidden_ground_truth", visibility_path, False),
        score_decimals=check.integer(visibility, "score_decimals", visibility_path, 4, maximum=10),
        results_hidden=bool(check.flag(visibility, "results_hidden", visibility_path, False)),
        reveal_at=check.when(visibility, "reveal_at", visibility_path),
        requires_factsheet=bool(check.flag(final, "factsheet", final_path, False)),
        requires_code=bool(check.flag(final, "code", final_path, False)),
        max_team_size=check.integer(final, "max_team_size", final_path, None, minimum=1),
        pairs=pairs,
    )
