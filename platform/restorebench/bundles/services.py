"""Loading a challenge bundle: validate it, generate every phase's data, create the rows — or nothing.

Order of work, so that a bad bundle leaves no trace:
1. parse and validate the whole file (`schema.bundle_parse`): every problem, with field and line;
2. check what only the database knows (slug free, organizers exist), still touching nothing;
3. check every phase's organizer pairs (`benchdata.pairs.check_pairs`), all of them, still storing
   nothing; then generate each dataset phase's participant inputs and hidden ground truth with
   `benchdata.track_data.generate_track_data`, or copy the phase's checked pairs with their manifests
   (`benchdata.pairs.install_pairs`), into staging folders (the scratch folders of the storage and
   hidden roots);
4. in one transaction, create the challenge, its tracks and phases through the challenges services and
   install each phase's data into its own area with `phase_data.phase_data_install` (the platform
   places it: restorebench.storage).
The staging folders are always removed; if anything fails in 3 or 4, the transaction is rolled back and
the phases' areas are removed too.
"""

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from benchdata.pairs import PairDataError, PairSet, install_pairs
from restorebench import storage
from restorebench.bundles.schema import BundleError, ChallengeDef, PhaseDef, Problem, TrackDef, bundle_parse
from restorebench.bundles.source import BundleSyntaxError, FieldPath, Located, load_located
from restorebench.challenges.models import Challenge, Phase
from restorebench.challenges.phase_data import phase_data_install, phase_pairs_check
from restorebench.challenges.services import (
    challenge_create,
    challenge_organizer_add,
    phase_create,
    track_create,
)

Report = Callable[[str], None]


@dataclass
class PhaseData:
    """One phase's generated data, staged until its phase row exists."""

    expected_images: list[str]
    public_root: Path
    hidden_root: Path
    ground_truth: bool = True  # False: inputs only (a track without ground truth)


@dataclass
class LoadResult:
    challenge: Challenge | None
    created: bool
    message: str


def bundle_read(path: str | Path) -> tuple[Located, ChallengeDef]:
    """Read and validate a bundle file; raise `BundleError` (every problem, with lines)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BundleError(str(path), [Problem((), None, f"cannot read the file: {error}")]) from error
    try:
        located = load_located(text, path.name)
    except BundleSyntaxError as error:
        raise BundleError(str(path), [Problem((), error.line, str(error))]) from error
    return located, bundle_parse(located, str(path), base_dir=path.parent)


def _staging_roots(token: str, track: str, phase: str) -> tuple[Path, Path]:
    relative = Path(f"bundle-{token}") / track / phase
    return storage.scratch_dir() / relative, storage.scratch_dir(hidden=True) / relative


def _problem(located: Located, path: FieldPath, message: str) -> Problem:
    return Problem(tuple(path), located.line_of(path), message)


def _check_database(located: Located, bundle: ChallengeDef) -> list[AbstractBaseUser]:
    problems = []
    if Challenge.objects.filter(slug=bundle.slug).exists():
        problems.append(
            _problem(located, ("challenge", "slug"), f"a challenge with slug {bundle.slug!r} already exists")
        )
    User = get_user_model()
    organizers = []
    for i, name in enumerate(bundle.organizers):
        user = User.objects.filter(username=name).first()
        if user is None:
            problems.append(_problem(located, ("challenge", "organizers", i), f"no user named {name!r}"))
        else:
            organizers.append(user)
    if problems:
        raise BundleError("bundle", problems)
    return organizers


def _check_pairs(located: Located, filename: str, bundle: ChallengeDef) -> dict[tuple[str, str], PairSet]:
    """Check every phase's organizer pairs before anything is stored; one BundleError lists every
    problem of every phase, each at the `data` field that named the folders."""
    checked, problems = {}, []
    for track in bundle.tracks:
        for phase in track.phases:
            if phase.pairs is None:
                continue
            try:
                checked[track.slug, phase.slug] = phase_pairs_check(
                    track, phase.pairs.inputs, phase.pairs.ground_truth, phase.pairs.labels
                )
            except PairDataError as error:
                problems += [_problem(located, phase.pairs.path, message) for message in error.problems]
    if problems:
        raise BundleError(filename, problems)
    return checked


def _stage_pairs(
    bundle: ChallengeDef, track: TrackDef, phase: PhaseDef, pairs: PairSet, token: str
) -> PhaseData:
    public_root, hidden_root = _staging_roots(token, track.slug, phase.slug)
    install_pairs(pairs, public_root, hidden_root, track=f"{bundle.slug}/{track.slug}/{phase.slug}")
    return PhaseData(
        expected_images=pairs.expected_names,
        public_root=public_root,
        hidden_root=hidden_root,
        ground_truth=pairs.ground_truth_dir is not None,
    )


def _generate_phase(
    bundle: ChallengeDef, track: TrackDef, phase: PhaseDef, dataset_dir: Path, token: str
) -> PhaseData:
    from benchdata.track_data import generate_track_data

    public_root, hidden_root = _staging_roots(token, track.slug, phase.slug)
    # No seed in the bundle: draw one that only the hidden manifest will know.
    seed = phase.seed if phase.seed is not None else secrets.randbelow(2**62)
    hidden = generate_track_data(
        dataset_dir,
        track.degradation_spec,
        seed,
        public_root,
        hidden_root,
        split=phase.split,
        disclose_kernel=track.disclose_kernel,
        disclose_mask=track.disclose_mask,
        track=f"{bundle.slug}/{track.slug}/{phase.slug}",
    )
    return PhaseData(
        expected_images=[Path(item["ground_truth"]).name for item in hidden["items"]],
        public_root=public_root,
        hidden_root=hidden_root,
    )


def _install(phase: Phase, where: PhaseData, actor: AbstractBaseUser | None, installed: list[Path]) -> None:
    """Install the staged data into the phase's own area (the hidden manifest beside its ground truth)."""
    installed += [storage.phase_area(phase), storage.phase_area(phase, hidden=True)]
    truth = where.hidden_root / "gt" if where.ground_truth else None
    phase = phase_data_install(phase=phase, inputs_src=where.public_root, ground_truth_src=truth, actor=actor)
    manifest = where.hidden_root / "manifest.json"
    if manifest.is_file():
        shutil.copyfile(manifest, storage.phase_hidden_manifest(phase))
    if sorted(phase.expected_images) != sorted(where.expected_images):
        raise ValueError(f"phase {phase}: installed ground truth differs from the generated manifest")


# Service field names -> the bundle's, so a refusal by a service still points at the right line.
_TRACK_FIELDS = {
    "degradation_spec": ("degradation",),
    "scoring_spec": ("scoring",),
    "ranking_metrics": ("ranking", "metrics"),
    "ranking_method": ("ranking", "method"),
    "ranking": ("ranking",),
}
_PHASE_FIELDS = {
    "max_submissions_per_day": ("limits", "per_day"),
    "max_submissions_total": ("limits", "total"),
    "max_upload_bytes": ("limits", "upload_bytes"),
    "leaderboard_public": ("visibility", "leaderboard_public"),
    "hidden_ground_truth": ("visibility", "hidden_ground_truth"),
    "score_decimals": ("visibility", "score_decimals"),
    "results_hidden": ("visibility", "results_hidden"),
    "reveal_at": ("visibility", "reveal_at"),
    "requires_factsheet": ("final", "factsheet"),
    "requires_code": ("final", "code"),
    "max_team_size": ("final", "max_team_size"),
}


def _service_problems(
    located: Located, base: FieldPath, error: ValidationError, names: dict
) -> list[Problem]:
    if not hasattr(error, "error_dict"):
        return [_problem(located, base, "; ".join(error.messages))]
    return [
        _problem(located, (*base, *names.get(name, (name,))), "; ".join(messages))
        for name, messages in error.message_dict.items()
    ]


def _remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def bundle_load(
    *,
    path: str | Path,
    actor: AbstractBaseUser | None = None,
    skip_existing: bool = False,
    report: Report | None = None,
) -> LoadResult:
    """Load the bundle at `path`. With `skip_existing`, a challenge whose slug exists is left as it is
    (nothing is checked or generated: the demo reruns this). Raises `BundleError` otherwise."""
    from benchdata.store import ensure_dataset

    report = report or (lambda message: None)
    filename = str(path)
    located, bundle = bundle_read(path)
    if skip_existing:
        existing = Challenge.objects.filter(slug=bundle.slug).first()
        if existing is not None:
            return LoadResult(existing, False, f"challenge {bundle.slug!r} already exists; left as it is")
    try:
        organizers = _check_database(located, bundle)
    except BundleError as error:
        raise BundleError(filename, error.problems) from None
    pairs = _check_pairs(located, filename, bundle)

    token = secrets.token_hex(8)
    staging = [root / f"bundle-{token}" for root in (storage.scratch_dir(), storage.scratch_dir(hidden=True))]
    installed: list[Path] = []
    try:
        data: dict[tuple[str, str], PhaseData] = {}
        datasets: dict[str, Path] = {}
        for track in bundle.tracks:
            for phase in track.phases:
                if (track.slug, phase.slug) in pairs:
                    report(f"copying {track.slug}/{phase.slug} from the organizer's pairs")
                    data[track.slug, phase.slug] = _stage_pairs(
                        bundle, track, phase, pairs[track.slug, phase.slug], token
                    )
            if all(phase.pairs is not None for phase in track.phases):
                continue
            if track.dataset not in datasets:
                try:
                    datasets[track.dataset] = ensure_dataset(
                        track.dataset, settings.RESTOREBENCH_DATASETS_DIR
                    )
                except Exception as error:  # any failure to find or build the data is the bundle's to fix
                    raise BundleError(
                        filename, [_problem(located, (*track.path, "data", "dataset"), str(error))]
                    ) from error
            for phase in track.phases:
                if phase.pairs is not None:
                    continue
                report(f"generating {track.slug}/{phase.slug} from {track.dataset} ({phase.split})")
                try:
                    data[track.slug, phase.slug] = _generate_phase(
                        bundle, track, phase, datasets[track.dataset], token
                    )
                except (ValueError, OSError) as error:
                    raise BundleError(
                        filename, [_problem(located, (*phase.path, "split"), str(error))]
                    ) from error

        with transaction.atomic():
            challenge = _create_rows(located, filename, bundle, data, organizers, actor, installed)
    except BaseException:
        _remove(installed)
        raise
    finally:
        _remove(staging)
    counts = f"{len(bundle.tracks)} track(s), {sum(len(t.phases) for t in bundle.tracks)} phase(s)"
    return LoadResult(challenge, True, f"loaded challenge {bundle.slug!r}: {counts}")


def _create_rows(
    located: Located,
    filename: str,
    bundle: ChallengeDef,
    data: dict[tuple[str, str], PhaseData],
    organizers: list[AbstractBaseUser],
    actor: AbstractBaseUser | None,
    installed: list[Path],
) -> Challenge:
    try:
        challenge = challenge_create(
            slug=bundle.slug,
            title=bundle.title,
            description=bundle.description,
            is_public=bundle.is_public,
            created_by=actor,
        )
    except ValidationError as error:
        raise BundleError(filename, _service_problems(located, ("challenge",), error, {})) from error
    for user in organizers:
        challenge_organizer_add(challenge=challenge, user=user, actor=actor)
    for order, track in enumerate(bundle.tracks):
        try:
            track_row = track_create(
                challenge=challenge,
                slug=track.slug,
                title=track.title,
                description=track.description,
                task=track.task,
                degradation_spec=track.degradation_spec,
                scoring_spec=track.scoring_spec,
                efficiency=track.efficiency or None,
                **(
                    {"ranking": track.leaderboards}
                    if track.leaderboards
                    else {"ranking_method": track.ranking_method, "ranking_metrics": track.ranking_metrics}
                ),
                compute=track.compute,
                order=order,
                actor=actor,
            )
        except ValidationError as error:
            raise BundleError(
                filename, _service_problems(located, track.path, error, _TRACK_FIELDS)
            ) from error
        for phase_order, phase in enumerate(track.phases):
            where = data[track.slug, phase.slug]
            try:
                phase_row = phase_create(
                    track=track_row,
                    slug=phase.slug,
                    title=phase.title,
                    description=phase.description,
                    starts_at=phase.starts_at,
                    ends_at=phase.ends_at,
                    max_submissions_per_day=phase.max_submissions_per_day,
                    max_submissions_total=phase.max_submissions_total,
                    leaderboard_public=phase.leaderboard_public,
                    hidden_ground_truth=phase.hidden_ground_truth,
                    score_decimals=phase.score_decimals,
                    max_upload_bytes=phase.max_upload_bytes,
                    results_hidden=phase.results_hidden,
                    reveal_at=phase.reveal_at,
                    requires_factsheet=phase.requires_factsheet,
                    requires_code=phase.requires_code,
                    max_team_size=phase.max_team_size,
                    expected_images=where.expected_images,
                    order=phase_order,
                    actor=actor,
                )
            except ValidationError as error:
                raise BundleError(
                    filename, _service_problems(located, phase.path, error, _PHASE_FIELDS)
                ) from error
            _install(phase_row, where, actor, installed)
    return challenge
