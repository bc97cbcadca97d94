"""The steps of `manage.py demo`: demo accounts, the demo challenge, an embedded evaluation worker, and
the reference baselines scored through the normal pipeline.

Everything is idempotent, so running the demo again reuses what is there: the bundle is skipped when
its challenge exists, accounts and the team are reused (the demo passwords are set again, so the
printed credentials always work), and baselines already entered at the same code version are skipped.
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Q

from restorebench.accounts.models import Team
from restorebench.accounts.selectors import team_for_user
from restorebench.accounts.services import team_create, track_enter, user_create
from restorebench.bundles.example_data import ENHANCE_BUNDLE, REALWORLD_SR_BUNDLE, example_bundle_prepare
from restorebench.bundles.services import LoadResult, Report, bundle_load
from restorebench.challenges.models import Challenge, Phase
from restorebench.challenges.services import challenge_organizer_add

DEMO_BUNDLE = Path(__file__).resolve().parent.parent / "bundles" / "examples" / "demo.yaml"
# Example bundles the demo loads beside its own (`--examples`), by name.
EXAMPLE_BUNDLES = {"enhance-lowlight": ENHANCE_BUNDLE, "realworld-sr": REALWORLD_SR_BUNDLE}
# Those the demo loads by default.
DEMO_EXAMPLES: tuple[str, ...] = ("enhance-lowlight",)
ORGANIZER = ("organizer", "restorebench-organizer")
PARTICIPANT = ("participant", "restorebench-participant")
DEMO_TEAM = "Demo team"


class DemoError(RuntimeError):
    """A demo step could not be done; the message says what to do."""


@dataclass
class DemoAccounts:
    organizer: AbstractBaseUser
    participant: AbstractBaseUser


def _demo_user(username: str, password: str, *, superuser: bool) -> AbstractBaseUser:
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(username=username, password=password)
    else:
        user.set_password(password)
    user.is_staff = user.is_superuser = superuser
    user.save()
    return user


def demo_accounts_ensure() -> DemoAccounts:
    """The demo organizer (a superuser, so the admin works too) and participant."""
    return DemoAccounts(
        organizer=_demo_user(*ORGANIZER, superuser=True),
        participant=_demo_user(*PARTICIPANT, superuser=False),
    )


def demo_participant_ready(*, challenge: Challenge, participant: AbstractBaseUser) -> Team:
    """Put the participant in a team of the challenge that has entered every track."""
    team = team_for_user(user=participant, challenge=challenge)
    if team is None:
        team = team_create(challenge=challenge, name=DEMO_TEAM, user=participant)
    for track in challenge.tracks.all():
        track_enter(team=team, track=track)
    return team


def demo_example_load(*, name: str, actor: AbstractBaseUser, report: Report | None = None) -> LoadResult:
    """Load the example bundle `name` (its organizer pairs made under var/bundles/<name>/); an
    existing challenge is left as it is. Raises BundleError."""
    if name not in EXAMPLE_BUNDLES:
        raise DemoError(f"no example bundle {name!r}; examples: {', '.join(EXAMPLE_BUNDLES)}")
    path = example_bundle_prepare(
        bundle=EXAMPLE_BUNDLES[name], work_dir=Path(settings.VAR_DIR) / "bundles" / name
    )
    return bundle_load(path=path, actor=actor, skip_existing=True, report=report)


def demo_organizer_ready(*, challenge: Challenge, organizer: AbstractBaseUser) -> None:
    challenge_organizer_add(challenge=challenge, user=organizer, actor=organizer)


def lpips_needed(challenge: Challenge) -> bool:
    return any("lpips" in (track.scoring_spec.get("metrics") or []) for track in challenge.tracks.all())


def lpips_ensure() -> None:
    """The LPIPS weights must be on disk before workers score (the bootstrap script provisions them)."""
    from evaluator.weights import lpips_provisioned, provision_lpips

    if lpips_provisioned():
        return
    try:
        provision_lpips()
    except Exception as error:
        raise DemoError(
            f"LPIPS weights are not installed and could not be provisioned ({error}); "
            "run ./scripts/bootstrap.sh or `python -m evaluator provision-lpips`"
        ) from error


# --- the embedded worker --------------------------------------------------------------------------


def worker_environment() -> dict[str, str]:
    """The environment a worker subprocess needs to work on exactly this process's database, broker,
    queues and folders (settings are read from the environment, so it is passed on explicitly)."""
    var_dir = Path(settings.VAR_DIR)
    expected = {
        "RESTOREBENCH_STORAGE_DIR": var_dir / "storage",
        "RESTOREBENCH_HIDDEN_DIR": var_dir / "hidden",
    }
    for name, path in expected.items():
        if Path(getattr(settings, name)).resolve() != path.resolve():
            raise DemoError(
                f"settings.{name} is {getattr(settings, name)}, not {path}: the embedded worker derives its "
                "folders from RESTOREBENCH_VAR_DIR; start a worker yourself and use --no-worker"
            )
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite://{Path(db['NAME']).resolve()}"
    elif db["ENGINE"].endswith("postgresql"):
        credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        database_url = (
            f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        raise DemoError(f"the embedded worker supports SQLite and PostgreSQL, not {db['ENGINE']}")
    root = Path(settings.REPO_ROOT)
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    env.update(
        DJANGO_SETTINGS_MODULE="restorebench.settings",
        RESTOREBENCH_DATABASE_URL=database_url,
        RESTOREBENCH_BROKER_URL=settings.CELERY_BROKER_URL,
        RESTOREBENCH_QUEUE_PREFIX=settings.RESTOREBENCH_QUEUE_PREFIX,
        RESTOREBENCH_VAR_DIR=str(var_dir),
        RESTOREBENCH_SCORING_FUNCTION=settings.RESTOREBENCH_SCORING_FUNCTION,
        PYTHONPATH=os.pathsep.join(
            [str(root), str(root / "platform"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    )
    return env


class EmbeddedWorker:
    """A `celery worker` subprocess on the cpu and gpu queues (solo pool: one job at a time), with the
    job reaper scheduled in it (-B), logging to var/demo-worker.log."""

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path or Path(settings.VAR_DIR) / "demo-worker.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 180) -> "EmbeddedWorker":
        env = worker_environment()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        queues = ",".join(settings.RESTOREBENCH_QUEUES[kind] for kind in ("cpu", "gpu"))
        command = [
            sys.executable, "-m", "celery", "-A", "restorebench.celery_app", "worker",
            "-Q", queues, "--pool=solo", "--concurrency=1", "-n", f"demo-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--loglevel=INFO",
            "-B", "-s", str(Path(settings.VAR_DIR) / "demo-celerybeat-schedule"),
        ]  # fmt: skip
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                command,
                cwd=settings.REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoError(f"the evaluation worker exited at start:\n{self.log_tail(offset)}")
            with open(self.log_path, "rb") as handle:
                handle.seek(offset)
                if b" ready." in handle.read():
                    return self
            time.sleep(0.3)
        self.stop()
        raise DemoError(
            f"the evaluation worker did not start within {timeout_s:.0f} s:\n{self.log_tail(offset)}"
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 30) -> None:
        if not self.alive():
            return
        import signal

        os.killpg(self.process.pid, signal.SIGTERM)  # the worker's own process group (it and its beat)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout_s)

    def log_tail(self, offset: int = 0, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")[-chars:]


# --- what the leaderboards hold -------------------------------------------------------------------


def demo_phases(*, challenge: Challenge) -> list[Phase]:
    """The challenge's phases, each annotated with `baselines_scored` (its scored reference entries)."""
    scored = Q(submissions__is_reference=True, submissions__status="scored")
    return list(
        Phase.objects.filter(track__challenge=challenge)
        .select_related("track", "track__challenge")
        .annotate(baselines_scored=Count("submissions__method_name", filter=scored, distinct=True))
        .order_by("track__order", "order", "id")
    )


# --- baselines filling in the background: a small progress file the pages' banner reads -----------


def _progress_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-baselines.json"


def baseline_progress_write(*, restored: int, total: int | None, models_entered: bool = False) -> None:
    """Record how far the demo's baselines are (written beside, then renamed: readers never see half)."""
    path = _progress_file()
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps({"restored": restored, "total": total, "models_entered": models_entered}))
    partial.replace(path)


def baseline_progress_clear() -> None:
    _progress_file().unlink(missing_ok=True)


def baseline_progress() -> dict | None:
    """{"restored", "total", "models_entered", "scoring"} while the demo fills its leaderboards, else None."""
    try:
        progress = json.loads(_progress_file().read_text())
    except (FileNotFoundError, ValueError):
        return None
    from restorebench.submissions.models import Submission

    progress["scoring"] = Submission.objects.filter(
        is_reference=True, status__in=("queued", "running")
    ).count()
    return progress
