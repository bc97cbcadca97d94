"""The challenge bundle format, and its validation into plain definitions.

A bundle is one YAML file (format 1):

    format: 1
    challenge: {slug, title, description?, public?, organizers?: [username, ...]}
    tracks:
      - slug, title, description?, compute?: cpu | gpu
        task: denoise | deblur | sr | inpaint | jpeg | burst_sr | enhance     # benchdata.tasks
        degradation: {...}     # benchdata.degradations spec without `task` (it follows the track's);
                               # none for a task without synthetic data (enhance)
        scoring: {...}         # evaluator.spec.ScoringSpec fields; default: the task's conventions
        ranking: {method?: metric | mean_rank, metrics?: [psnr, {metric: lpips, higher_is_better: false}]}
          # or several leaderboards (docs/ranking.md): {leaderboards: [{slug, title, score, order,
          #   gate?, per_image?} | {slug, title, metrics, method?, gate?} | {slug, title, combine}]}
        efficiency: {input_size: [256, 256]}  # [height, width] of the model input at which model
          # submissions' FLOPs are counted; an sr track's LOW-resolution input; default: the task's (256)
        data: {dataset: starter, split?: test, seed?: int, disclose_kernel?: bool, disclose_mask?: bool}
          # or organizer pairs, for every phase without its own `data`:
          #   {inputs: dev/input, ground_truth: dev/gt}
          # or, for a track without ground truth (scoring: {ground_truth: false, metrics: [niqe, ...]}:
          #   real-world inputs judged by no-reference metrics only), the inputs alone: {inputs: real/in}
        phases:
          - slug, title, description?, split?, seed?
            data?: {inputs: dev/input, ground_truth: dev/gt}   # folders, relative to the bundle file
            starts_at: 2026-01-01T00:00:00Z      # an explicit time zone is required
            ends_at: 2026-03-01T00:00:00+01:00
            limits: {per_day?: int, total?: int, upload_bytes?: int}      # absent = no limit
            visibility: {leaderboard_public?: bool, hidden_ground_truth?: bool, score_decimals?: int,
                         results_hidden?: bool, reveal_at?: time}    # a final phase (docs/ranking.md)
            final: {factsheet?: bool, code?: bool, max_team_size?: int}    # required to be ranked

Everything is checked here, before the database or the disk is touched, and every problem is
reported (not only the first) with its field path and line. The seed is what makes the noise and
masks; whoever knows it can regenerate the hidden test data, so a real challenge leaves it out (a
random one is drawn and kept only in the hidden manifest) or keeps its bundle private.

Organizer pairs (`data: {inputs, ground_truth}`) replace the dataset and degradation of a phase: the
folders are relative to the bundle file and must stay inside its folder. A track whose every phase
brings pairs needs no `degradation` (an `enhance` track never has one). The files themselves are
checked by the loader (`benchdata.pairs.check_pairs`), all of them before anything is stored.

A track without ground truth (`scoring.ground_truth: false`) names only no-reference metrics (the
scoring spec refuses the others), and each phase's data is the organizer's inputs alone (`data:
{inputs: ...}`, PNG images; `benchdata.pair_inputs.check_inputs`): no dataset, no `ground_truth` folder.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from benchdata.tasks import TaskError, get_task, task_names
from restorebench.bundles.source import FieldPath, Located, format_path
from restorebench.challenges.track_specs import value_kind

FORMAT = 1
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


@dataclass(frozen=True)
class Problem:
    path: FieldPath
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{format_path(self.path)}: {self.message}"


class BundleError(ValueError):
    """A bundle that cannot be loaded; `problems` lists every field at fault with its line."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = problems
        lines = [f"{filename}: {len(problems)} problem(s); nothing was loaded"]
        lines += [
            f"  {filename}:{p.line}: {format_path(p.path)}: {p.message}"
            if p.line is not None
            else f"  {filename}: {format_path(p.path)}: {p.message}"
            for p in problems
        ]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class PairsDef:
    """Organizer pairs: two folders (resolved, inside the bundle's folder) and how the bundle wrote them."""

    path: FieldPath  # the `data` field that named them
    inputs: Path
    ground_truth: Path | None  # None: a track without ground truth (inputs only)
    labels: tuple[str, str]


@dataclass
class PhaseDef:
    path: FieldPath
    slug: str
    title: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    split: str
    seed: int | None
    max_submissions_per_day: int | None
    max_submissions_total: int | None
    max_upload_bytes: int
    leaderboard_public: bool
    hidden_ground_truth: bool
    score_decimals: int
    results_hidden: bool = False
    reveal_at: dt.datetime | None = None
    requires_factsheet: bool = False
    requires_code: bool = False
    max_team_size: int | None = None
    pairs: PairsDef | None = None


@dataclass
class TrackDef:
    path: FieldPath
    slug: str
    title: str
    description: str
    task: str
    compute: str
    degradation_spec: dict
    scoring_spec: dict
    ranking_method: str
    ranking_metrics: list[dict]
    leaderboards: dict  # {} or {"leaderboards": [...]} (evaluator.ranking.boards, stored form)
    efficiency: dict  # {"input_size": [h, w]} (challenges/track_efficiency.py)
    dataset: str
    disclose_kernel: bool | None
    disclose_mask: bool | None
    phases: list[PhaseDef] = field(default_factory=list)


@dataclass
class ChallengeDef:
    slug: str
    title: str
    description: str
    is_public: bool
    organizers: list[str]
    tracks: list[TrackDef] = field(default_factory=list)


class _Checker:
    """Reads values out of the located data, recording a problem (and returning a default) on error."""

    def __init__(self, located: Located, base_dir: Path | None = None) -> None:
        self.located = located
        self.base_dir = base_dir  # the bundle file's folder: organizer data must stay inside it
        self.problems: list[Problem] = []

    def problem(self, path: FieldPath, message: str) -> None:
        self.problems.append(Problem(tuple(path), self.located.line_of(path), message))

    def mapping(
        self, value: Any, path: FieldPath, allowed: set[str], required: set[str] = frozenset()
    ) -> dict:
        if not isinstance(value, dict):
            self.problem(path, f"must be a mapping of fields, got {value_kind(value)}")
            return {}
        for key in sorted(set(value) - allowed):
            self.problem((*path, key), f"unknown field; allowed here: {', '.join(sorted(allowed))}")
        for key in sorted(required - set(value)):
            self.problem((*path, key), "is required")
        return value

    def text(
        self, data: dict, key: str, path: FieldPath, *, required: bool = False, max_length: int = 200
    ) -> str:
        if key not in data:
            return ""  # `mapping` reported it when required
        value = data[key]
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem((*path, key), f"must be a non-empty text, got {value_kind(value)}")
            return ""
        if len(value) > max_length:
            self.problem((*path, key), f"is {len(value)} characters long; at most {max_length}")
        return value.strip()

    def slug(self, data: dict, key: str, path: FieldPath) -> str:
        value = self.text(data, key, path, required=True, max_length=64)
        if value and not SLUG.match(value):
            self.problem((*path, key), f"{value!r} is not a slug (letters, digits, '-' and '_' only)")
        return value

    def flag(self, data: dict, key: str, path: FieldPath, default: bool | None) -> bool | None:
        if key not in data:
            return default
        if not isinstance(data[key], bool):
            self.problem((*path, key), f"must be true or false, got {value_kind(data[key])}")
            return default
        return data[key]

    def integer(
        self,
        data: dict,
        key: str,
        path: FieldPath,
        default: int | None,
        minimum: int = 0,
        maximum: int | None = None,
    ) -> int | None:
        if key not in data or data[key] is None:
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem((*path, key), f"must be an integer >= {minimum}, got {value!r}")
            return default
        if maximum is not None and value > maximum:
            self.problem((*path, key), f"must be at most {maximum}, got {value}")
            return default
        return value

    def when(self, data: dict, key: str, path: FieldPath) -> dt.datetime | None:
        if key not in data:
            return None
        raw = data[key]
        example = "e.g. 2026-01-01T00:00:00Z or 2026-01-01T09:00:00+09:00"
        if not isinstance(raw, str):
            self.problem(
                (*path, key), f"must be a date and time with a time zone ({example}), got {value_kind(raw)}"
            )
            return None
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            self.problem((*path, key), f"{raw!r} is not an ISO 8601 date and time ({example})")
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.problem((*path, key), f"{raw!r} has no time zone; write it explicitly ({example})")
            return None
        return value


def _dataset_splits(name: str) -> set[str] | None:
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


def _specs(check: _Checker, track: dict, path: FieldPath, task: str, required: bool) -> tuple[dict, dict]:
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


def _ranking(check: _Checker, track: dict, path: FieldPath, scoring: dict) -> tuple[str, list[dict], dict]:
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


def _efficiency(check: _Checker, track: dict, path: FieldPath, task: str) -> dict:
    """The track's efficiency settings through the track's one validator (track_efficiency.py)."""
    from restorebench.challenges.track_efficiency import EfficiencyConfigError, track_efficiency_validate

    try:
        return track_efficiency_validate(track.get("efficiency"), task=task)
    except EfficiencyConfigError as error:
        for where, message in error.problems:
            check.problem((*path, "efficiency", *where), message)
        return {}


PAIRS_FIELDS = {"inputs", "ground_truth"}


def _data_folder(check: _Checker, data: dict, key: str, path: FieldPath) -> tuple[Path | None, str]:
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


def _is_pairs_form(data: Any) -> bool:
    return isinstance(data, dict) and bool(PAIRS_FIELDS & set(data))


def _pairs(check: _Checker, raw: Any, path: FieldPath, ground_truth: bool) -> PairsDef | None:
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
        inputs, inputs_label = _data_folder(check, data, "inputs", path) if "inputs" in data else (None, "")
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
    inputs, inputs_label = _data_folder(check, data, "inputs", path)
    truth, truth_label = _data_folder(check, data, "ground_truth", path)
    if inputs is not None and truth is not None and inputs == truth:
        check.problem((*path, "ground_truth"), "must be another folder than inputs")
        return None
    if inputs is None or truth is None:
        return None
    return PairsDef(path, inputs, truth, (inputs_label, truth_label))


def _phase(
    check: _Checker,
    raw: Any,
    path: FieldPath,
    data: dict,
    splits: set[str] | None,
    track_pairs: PairsDef | None,
    ground_truth: bool,
) -> PhaseDef | None:
    phase = check.mapping(
        raw,
        path,
        {
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
        },
        {"slug", "title", "starts_at", "ends_at"},
    )
    if not phase:
        return None
    slug = check.slug(phase, "slug", path)
    title = check.text(phase, "title", path, required=True)
    description = check.text(phase, "description", path, max_length=20_000)
    starts, ends = check.when(phase, "starts_at", path), check.when(phase, "ends_at", path)
    if starts and ends and ends <= starts:
        check.problem((*path, "ends_at"), f"must be after starts_at ({starts.isoformat()})")
    pairs = _pairs(check, phase["data"], (*path, "data"), ground_truth) if "data" in phase else track_pairs
    split = phase.get("split", data.get("split", "test"))
    split_path = (*path, "split") if "split" in phase else (path[0], path[1], "data", "split")
    if not isinstance(split, str):
        check.problem(split_path, f"must be a split name, got {value_kind(split)}")
    elif "data" in phase or _is_pairs_form(data):
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


def _track(check: _Checker, raw: Any, path: FieldPath) -> TrackDef | None:
    track = check.mapping(
        raw,
        path,
        {
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
        },
        {"slug", "title", "task", "phases"},
    )
    if not track:
        return None
    slug = check.slug(track, "slug", path)
    title = check.text(track, "title", path, required=True)
    description = check.text(track, "description", path, max_length=20_000)
    task = track.get("task")
    known = isinstance(task, str) and task in task_names()
    if "task" in track and not known:
        try:
            get_task(task)
        except TaskError as error:  # names the valid tasks, or the new spelling of an old one
            check.problem((*path, "task"), str(error))
    compute = track.get("compute", "cpu")
    if compute not in ("cpu", "gpu"):
        check.problem((*path, "compute"), f"{compute!r} is not one of cpu, gpu")

    data_path = (*path, "data")
    track_pairs = None
    scoring_raw = track.get("scoring")
    ground_truth = not (isinstance(scoring_raw, dict) and scoring_raw.get("ground_truth") is False)
    if _is_pairs_form(track.get("data")):
        track_pairs = _pairs(check, track["data"], data_path, ground_truth)
        data: dict = track["data"]  # tells the phases the track's data is pairs, even when malformed
    else:
        data = check.mapping(
            track.get("data", {}),
            data_path,
            {"dataset", "split", "seed", "disclose_kernel", "disclose_mask"},
            {"dataset"} if "data" in track else set(),
        )
    # A dataset phase needs the degradation that makes its inputs; organizer pairs come degraded.
    phases_raw = track.get("phases")
    all_pairs = _is_pairs_form(track.get("data")) or (
        isinstance(phases_raw, list)
        and bool(phases_raw)
        and all(isinstance(p, dict) and "data" in p for p in phases_raw)
    )
    degradation, scoring = _specs(check, track, path, task, not all_pairs) if known else ({}, {})
    method, metrics, leaderboards = _ranking(check, track, path, scoring)
    efficiency = _efficiency(check, track, path, task) if known else {}
    splits = None
    dataset = data.get("dataset", "")
    if "dataset" in data:
        if not isinstance(dataset, str) or not dataset:
            check.problem((*data_path, "dataset"), f"must be a dataset name, got {value_kind(dataset)}")
            dataset = ""
        else:
            splits = _dataset_splits(dataset)
            if splits is None:
                from benchdata.manifests import list_datasets

                check.problem(
                    (*data_path, "dataset"),
                    f"no dataset manifest named {dataset!r} in datasets/; "
                    f"known: {', '.join(list_datasets())}",
                )
    check.integer(data, "seed", data_path, None)

    phases: list[PhaseDef] = []
    if "phases" in track and (not isinstance(phases_raw, list) or not phases_raw):
        check.problem((*path, "phases"), "must be a non-empty list of phases")
    elif isinstance(phases_raw, list):
        seen: dict[str, int] = {}
        for i, item in enumerate(phases_raw):
            phase = _phase(check, item, (*path, "phases", i), data, splits, track_pairs, ground_truth)
            if phase is None:
                continue
            if phase.slug in seen:
                check.problem(
                    (*path, "phases", i, "slug"),
                    f"{phase.slug!r} is also the slug of phases[{seen[phase.slug]}]",
                )
            seen.setdefault(phase.slug, i)
            phases.append(phase)
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


def bundle_parse(located: Located, filename: str = "<bundle>", base_dir: Path | None = None) -> ChallengeDef:
    """Validate a located bundle; raise `BundleError` listing every problem with its line. `base_dir`
    (the bundle file's folder) is where organizer data folders are looked up; without it they are only
    checked to be relative."""
    check = _Checker(located, base_dir)
    top = check.mapping(located.data, (), {"format", "challenge", "tracks"}, {"challenge", "tracks"})
    if "format" in top and top["format"] != FORMAT:
        check.problem(("format",), f"this loader reads format {FORMAT}, the file says {top['format']!r}")
    challenge = check.mapping(
        top.get("challenge", {}),
        ("challenge",),
        {"slug", "title", "description", "public", "organizers"},
        {"slug", "title"} if "challenge" in top else set(),
    )
    organizers = challenge.get("organizers", [])
    if not isinstance(organizers, list) or not all(isinstance(o, str) and o for o in organizers):
        check.problem(("challenge", "organizers"), "must be a list of user names")
        organizers = []
    result = ChallengeDef(
        slug=check.slug(challenge, "slug", ("challenge",)),
        title=check.text(challenge, "title", ("challenge",), required=True),
        description=check.text(challenge, "description", ("challenge",), max_length=50_000),
        is_public=bool(check.flag(challenge, "public", ("challenge",), True)),
        organizers=organizers,
    )
    tracks = top.get("tracks")
    if "tracks" in top and (not isinstance(tracks, list) or not tracks):
        check.problem(("tracks",), "must be a non-empty list of tracks")
    elif isinstance(tracks, list):
        seen: dict[str, int] = {}
        for i, item in enumerate(tracks):
            track = _track(check, item, ("tracks", i))
            if track is None:
                continue
            if track.slug in seen:
                check.problem(
                    ("tracks", i, "slug"), f"{track.slug!r} is also the slug of tracks[{seen[track.slug]}]"
                )
            seen.setdefault(track.slug, i)
            result.tracks.append(track)
    if check.problems:
        raise BundleError(filename, sorted(check.problems, key=lambda p: (p.line or 0, format_path(p.path))))
    return result
