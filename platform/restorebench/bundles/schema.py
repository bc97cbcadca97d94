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

Modules: the definitions a bundle becomes (`definitions`), the field readers that collect problems
(`fields`), tracks (`tracks`), phases (`phases`) and where their data comes from (`data_sources`);
`bundle_parse` here reads the whole file.
"""

from pathlib import Path

from restorebench.bundles.definitions import (
    BundleError,
    ChallengeDef,
    PairsDef,
    PhaseDef,
    Problem,
    TrackDef,
)
from restorebench.bundles.fields import FieldChecker, slugged_list
from restorebench.bundles.source import Located, format_path
from restorebench.bundles.tracks import track_parse

__all__ = [
    "FORMAT",
    "BundleError",
    "ChallengeDef",
    "PairsDef",
    "PhaseDef",
    "Problem",
    "TrackDef",
    "bundle_parse",
]

FORMAT = 1


def bundle_parse(located: Located, filename: str = "<bundle>", base_dir: Path | None = None) -> ChallengeDef:
    """Validate a located bundle; raise `BundleError` listing every problem with its line. `base_dir`
    (the bundle file's folder) is where organizer data folders are looked up; without it they are only
    checked to be relative."""
    check = FieldChecker(located, base_dir)
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
    result.tracks.extend(
        slugged_list(check, top, "tracks", (), lambda item, where: track_parse(check, item, where))
    )
    if check.problems:
        raise BundleError(filename, sorted(check.problems, key=lambda p: (p.line or 0, format_path(p.path))))
    return result
