"""Loading a challenge bundle: validate it, generate every phase's data, create the rows — or nothing.

Order of work, so that a bad bundle leaves no trace:
1. parse and validate the whole file (`schema.bundle_parse`): every problem, with field and line;
2. check what only the database knows (slug free, organizers exist), still touching nothing;
3. generate each phase's participant inputs (under RESTOREBENCH_STORAGE_DIR) and hidden ground truth
   (under RESTOREBENCH_HIDDEN_DIR) with `benchdata.track_data.generate_track_data`;
4. create the challenge, its tracks and phases through the challenges services in one transaction.
If anything fails in 3 or 4, the transaction is rolled back and the generated folders are removed.
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

from restorebench.bundles.schema import BundleError, ChallengeDef, PhaseDef, Problem, TrackDef, bundle_parse
from restorebench.bundles.source import BundleSyntaxError, FieldPath, Located, load_located
from restorebench.challenges.models import Challenge
from restorebench.challenges.services import (
    challenge_create,
    challenge_organizer_add,
    phase_create,
    track_create,
)

Report = Callable[[str], None]


@dataclass
class PhaseData:
    """Where one phase's generated data went (paths relative to the storage roots)."""

    inputs_dir: str
    ground_truth_dir: str
    expected_images: list[str]
    public_root: Path
    hidden_root: Path


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
    return located, bundle_parse(located, str(path))


def _data_roots(challenge: str, track: str, phase: str) -> tuple[Path, Path]:
    relative = Path("tracks") / challenge / track / phase
    return Path(settings.RESTOREBENCH_STORAGE_DIR) / relative, Path(
        settings.RESTOREBENCH_HIDDEN_DIR
    ) / relative


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


def _generate_phase(bundle: ChallengeDef, track: TrackDef, phase: PhaseDef, dataset_dir: Path) -> PhaseData:
    from benchdata.track_data import generate_track_data

    public_root, hidden_root = _data_roots(bundle.slug, track.slug, phase.slug)
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
    storage, hidden_dir = Path(settings.RESTOREBENCH_STORAGE_DIR), Path(settings.RESTOREBENCH_HIDDEN_DIR)
    return PhaseData(
        inputs_dir=public_root.relative_to(storage).as_posix(),
        ground_truth_dir=(hidden_root / "gt").relative_to(hidden_dir).as_posix(),
        expected_images=[Path(item["ground_truth"]).name for item in hidden["items"]],
        public_root=public_root,
        hidden_root=hidden_root,
    )


# Service field names -> the bundle's, so a refusal by a service still points at the right line.
_TRACK_FIELDS = {"ranking_metrics": ("ranking", "metrics"), "ranking_method": ("ranking", "method")}
_PHASE_FIELDS = {
    "max_submissions_per_day": ("limits", "per_day"),
    "max_submissions_total": ("limits", "total"),
    "max_upload_bytes": ("limits", "upload_bytes"),
    "leaderboard_public": ("visibility", "leaderboard_public"),
    "hidden_ground_truth": ("visibility", "hidden_ground_truth"),
    "score_decimals": ("visibility", "score_decimals"),
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
    # Drop the challenge's folders if they were created by this load and are now empty.
    for path in paths:
        for parent in list(path.parents)[:3]:
            try:
                parent.rmdir()
            except OSError:
                break


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

    generated: list[Path] = []
    try:
        data: dict[tuple[str, str], PhaseData] = {}
        datasets: dict[str, Path] = {}
        for track in bundle.tracks:
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
                report(f"generating {track.slug}/{phase.slug} from {track.dataset} ({phase.split})")
                public_root, hidden_root = _data_roots(bundle.slug, track.slug, phase.slug)
                generated += [public_root, hidden_root]
                try:
                    data[track.slug, phase.slug] = _generate_phase(
                        bundle, track, phase, datasets[track.dataset]
                    )
                except (ValueError, OSError) as error:
                    raise BundleError(
                        filename, [_problem(located, (*phase.path, "split"), str(error))]
                    ) from error

        with transaction.atomic():
            challenge = _create_rows(located, filename, bundle, data, organizers, actor)
    except BaseException:
        _remove(generated)
        raise
    counts = f"{len(bundle.tracks)} track(s), {sum(len(t.phases) for t in bundle.tracks)} phase(s)"
    return LoadResult(challenge, True, f"loaded challenge {bundle.slug!r}: {counts}")


def _create_rows(
    located: Located,
    filename: str,
    bundle: ChallengeDef,
    data: dict[tuple[str, str], PhaseData],
    organizers: list[AbstractBaseUser],
    actor: AbstractBaseUser | None,
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
                ranking_method=track.ranking_method,
                ranking_metrics=track.ranking_metrics,
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
                phase_create(
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
                    inputs_dir=where.inputs_dir,
                    ground_truth_dir=where.ground_truth_dir,
                    expected_images=where.expected_images,
                    order=phase_order,
                    actor=actor,
                )
            except ValidationError as error:
                raise BundleError(
                    filename, _service_problems(located, phase.path, error, _PHASE_FIELDS)
                ) from error
    return challenge
