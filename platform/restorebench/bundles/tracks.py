"""A bundle's track: its task, specs, ranking, efficiency settings, data and phases, each through the
platform's one validator for it (`challenges.track_specs`, `track_ranking`, `track_efficiency`)."""

from typing import Any

from benchdata.tasks import TaskError, get_task, task_names
from restorebench.bundles.data_sources import dataset_splits, is_pairs_form, pairs_parse
from restorebench.bundles.definitions import PairsDef, PhaseDef, TrackDef
from restorebench.bundles.fields import FieldChecker, slugged_list
from restorebench.bundles.phases import phase_parse
from restorebench.bundles.source import FieldPath
from restorebench.challenges.track_specs import value_kind


def _specs(check: FieldChecker, track: dict, path: FieldPath, task: str, required: bool) -> tuple[dict, dict]:
    """(degradation_spec, scoring_spec) through the track's one spec validator; each problem is placed
    at the deepest field it names that the file has."""
    from restorebench.challenges.track_specs import TrackSpecError, track_specs_validate

    try:
        specs = track_specs_validate(
            task=task,
            degradation=track.get("degradation"),
            scoring=track.get("scoring"),
            degradation_required=required,
        )
    except TrackSpecError as error:
        for problem in error.problems:
            where = (*path, *problem.path)
            while len(where) > len(path) + 1 and where not in check.located.lines:
                where = where[:-1]
            check.problem(where, problem.message)
        specs = error.partial
    return specs.degradation_spec, specs.scoring_spec


def _ranking(
    check: FieldChecker, track: dict, path: FieldPath, scoring: dict
) -> tuple[str, list[dict], dict]:
    """(ranking_method, ranking_metrics, leaderboards) through the track's one ranking validator."""
    from evaluator.ranking import RankingConfigError
    from restorebench.challenges.track_ranking import track_ranking_validate

    where = (*path, "ranking")
    raw = track.get("ranking")
    scored = list(scoring.get("metrics") or [])
    if raw is None or (isinstance(raw, dict) and not raw.get("metrics") and "leaderboards" not in raw):
        if not scored:
            return "metric", [], {}  # the scoring problem is reported already
    try:
        rules = track_ranking_validate(raw, scored=scored or None, primary=scoring.get("ranking_metric"))
    except RankingConfigError as error:
        for problem in error.problems:
            check.problem((*where, *problem.path), problem.message)
        return "metric", [], {}
    return rules.ranking_method, rules.ranking_metrics, rules.leaderboards


def _efficiency(check: FieldChecker, track: dict, path: FieldPath, task: str) -> dict:
    """The track's efficiency settings through the track's one validator (track_efficiency.py)."""
    from restorebench.challenges.track_efficiency import EfficiencyConfigError, track_efficiency_validate

    try:
        return track_efficiency_validate(track.get("efficiency"), task=task)
    except EfficiencyConfigError as error:
        for where, message in error.problems:
            check.problem((*path, "efficiency", *where), message)
        return {}


TRACK_FIELDS = {
    "slug",
    "title",
    "description",
    "task",
    "compute",
    "degradation",
    "scoring",
    "ranking",
    "efficiency",
    "data",
    "phases",
}


def _track_task(check: FieldChecker, track: dict, path: FieldPath) -> tuple[Any, bool]:
    """(the `task` value, whether it names a task of the task table); an unknown one is reported."""
    task = track.get("task")
    known = isinstance(task, str) and task in task_names()
    if "task" in track and not known:
        try:
            get_task(task)
        except TaskError as error:  # names the valid tasks, or the new spelling of an old one
            check.problem((*path, "task"), str(error))
    return task, known


def _track_data(
    check: FieldChecker, track: dict, data_path: FieldPath, ground_truth: bool
) -> tuple[dict, PairsDef | None]:
    """(the track's `data` mapping, the organizer data it gives every phase, if any)."""
    if is_pairs_form(track.get("data")):
        track_pairs = pairs_parse(check, track["data"], data_path, ground_truth)
        return track["data"], track_pairs  # tells the phases the track's data is pairs, even when malformed
    data = check.mapping(
        track.get("data", {}),
        data_path,
        {"dataset", "split", "seed", "disclose_kernel", "disclose_mask"},
        {"dataset"} if "data" in track else set(),
    )
    return data, None


def _all_phases_bring_pairs(track: dict) -> bool:
    """Whether every phase gets organizer data (the track's or its own): then no degradation is needed."""
    phases_raw = track.get("phases")
    return is_pairs_form(track.get("data")) or (
        isinstance(phases_raw, list)
        and bool(phases_raw)
        and all(isinstance(p, dict) and "data" in p for p in phases_raw)
    )


def _track_dataset(check: FieldChecker, data: dict, data_path: FieldPath) -> tuple[str, set[str] | None]:
    """(the dataset's name, its splits); an ill-typed or unknown dataset is reported."""
    splits = None
    dataset = data.get("dataset", "")
    if "dataset" in data:
        if not isinstance(dataset, str) or not dataset:
            check.problem((*data_path, "dataset"), f"must be a dataset name, got {value_kind(dataset)}")
            dataset = ""
        else:
            splits = dataset_splits(dataset)
            if splits is None:
                from benchdata.manifests import list_datasets

                check.problem(
                    (*data_path, "dataset"),
                    f"no dataset manifest named {dataset!r} in datasets/; "
                    f"known: {', '.join(list_datasets())}",
                )
    return dataset, splits


def track_parse(check: FieldChecker, raw: Any, path: FieldPath) -> TrackDef | None:
    """One entry of the bundle's `tracks` (None when it is not a mapping)."""
    track = check.mapping(raw, path, TRACK_FIELDS, {"slug", "title", "task", "phases"})
    if not track:
        return None
    slug = check.slug(track, "slug", path)
    title = check.text(track, "title", path, required=True)
    description = check.text(track, "description", path, max_length=20_000)
    task, known = _track_task(check, track, path)
    compute = track.get("compute", "cpu")
    if compute not in ("cpu", "gpu"):
        check.problem((*path, "compute"), f"{compute!r} is not one of cpu, gpu")

    data_path = (*path, "data")
    scoring_raw = track.get("scoring")
    ground_truth = not (isinstance(scoring_raw, dict) and scoring_raw.get("ground_truth") is False)
    data, track_pairs = _track_data(check, track, data_path, ground_truth)
    # A dataset phase needs the degradation that makes its inputs; organizer pairs come degraded.
    required = not _all_phases_bring_pairs(track)
    degradation, scoring = _specs(check, track, path, task, required) if known else ({}, {})
    method, metrics, leaderboards = _ranking(check, track, path, scoring)
    efficiency = _efficiency(check, track, path, task) if known else {}
    dataset, splits = _track_dataset(check, data, data_path)
    check.integer(data, "seed", data_path, None)

    phases: list[PhaseDef] = slugged_list(
        check,
        track,
        "phases",
        path,
        lambda item, where: phase_parse(check, item, where, data, splits, track_pairs, ground_truth),
    )
    if known and not get_task(task).synthetic and "dataset" in data:
        for phase in phases:
            if phase.pairs is None:
                check.problem(
                    phase.path,
                    f"an {task} track has no synthetic data: give the phase organizer pairs, "
                    "data: {inputs: ..., ground_truth: ...}",
                )
    return TrackDef(
        path=path,
        slug=slug,
        title=title,
        description=description,
        task=task if known else "",
        compute=compute,
        degradation_spec=degradation,
        scoring_spec=scoring,
        ranking_method=method,
        ranking_metrics=metrics,
        leaderboards=leaderboards,
        efficiency=efficiency,
        dataset=dataset,
        disclose_kernel=check.flag(data, "disclose_kernel", data_path, None),
        disclose_mask=check.flag(data, "disclose_mask", data_path, None),
        phases=phases,
    )
