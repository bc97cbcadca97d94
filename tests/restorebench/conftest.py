"""Shared fixtures for the platform's tests: storage folders, users, a challenge with real ground-truth
images, zips of restored images, and real Celery workers (subprocesses) on the real broker.

The suite runs on PostgreSQL and RabbitMQ (settings pick RESTOREBENCH_TEST_DATABASE_URL and
RESTOREBENCH_TEST_BROKER_URL under pytest, with a test database and queue names unique to this run).
Tests that need a worker to see their rows use `transactional_db`.
"""

import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent / "support"
TEST_SCORING_FUNCTION = "rb_test_scoring.run_slowed_scoring_job"

if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from rb_test_helpers import Arena, WorkerProcess, png_bytes  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty throttle counters (the cache outlives a test in one process)."""
    from django.core.cache import cache

    cache.clear()
    yield


# --- storage -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("restorebench-var")


@pytest.fixture
def platform_dirs(settings, var_dir) -> Path:
    """Point storage, hidden data and the scoring function at this run's folders (as the workers do)."""
    settings.RESTOREBENCH_STORAGE_DIR = var_dir / "storage"
    settings.RESTOREBENCH_HIDDEN_DIR = var_dir / "hidden"
    settings.MEDIA_ROOT = var_dir / "media"
    settings.RESTOREBENCH_SCORING_FUNCTION = TEST_SCORING_FUNCTION
    return var_dir


@pytest.fixture
def make_user(django_user_model) -> Callable:
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, **extra):
        name = username or f"user{next(counter)}"
        return django_user_model.objects.create_user(username=name, password="pw-" + name, **extra)

    return make


@pytest.fixture
def make_arena(platform_dirs, make_user) -> Callable[..., Arena]:
    """Create challenge → track → phase with `images` ground-truth PNGs of `size` (h, w)."""
    from restorebench.challenges.phase_data import phase_data_install
    from restorebench.challenges.services import challenge_create, phase_create, track_create

    counter = iter(range(1, 10_000))

    def make(
        *,
        images: int = 3,
        size: tuple[int, int] = (24, 32),
        compute: str = "cpu",
        metrics: tuple[str, ...] = ("psnr", "ssim"),
        ranking_metrics: list | None = None,
        ranking_method: str = "metric",
        delay_per_image_s: float = 0.0,
        starts_at: dt.datetime | None = None,
        ends_at: dt.datetime | None = None,
        organizer=None,
        **phase_fields,
    ) -> Arena:
        n = next(counter)
        organizer = organizer or make_user(f"organizer{n}-{os.getpid()}")
        slug = f"challenge-{n}-{time.monotonic_ns()}"
        challenge = challenge_create(slug=slug[:64], title=f"Challenge {n}", created_by=organizer)
        spec = {"metrics": list(metrics), "ranking_metric": metrics[0]}
        track = track_create(
            challenge=challenge,
            slug="denoise",
            title="Denoising",
            task="denoise",
            degradation_spec={"task": "denoise", "sigma": 25},
            scoring_spec=spec,
            ranking_method=ranking_method,
            ranking_metrics=ranking_metrics or [{"metric": m} for m in metrics],
            compute=compute,
            actor=organizer,
        )
        if delay_per_image_s:
            # A test-only key that the test workers' scoring function takes out (rb_test_scoring.py);
            # the services refuse unknown spec keys, so it is written on the row directly.
            track.scoring_spec = {**spec, "test_delay_per_image_s": delay_per_image_s}
            track.save(update_fields=["scoring_spec"])
        rng = np.random.default_rng(100 + n)
        ground_truth = {
            f"{i:04d}.png": rng.integers(0, 256, (*size, 3), dtype=np.uint8) for i in range(images)
        }
        now = timezone.now()
        phase = phase_create(
            track=track,
            slug="dev",
            title="Development",
            starts_at=starts_at or now - dt.timedelta(days=1),
            ends_at=ends_at or now + dt.timedelta(days=30),
            actor=organizer,
            **phase_fields,
        )
        # The ground truth goes where the platform puts it (the phase's own hidden area), installed
        # from a source folder like an organizer's upload; the source is removed afterwards.
        with tempfile.TemporaryDirectory(dir=platform_dirs) as source:
            for name, array in ground_truth.items():
                (Path(source) / name).write_bytes(png_bytes(array))
            phase = phase_data_install(
                phase=phase, inputs_src=None, ground_truth_src=Path(source), actor=organizer
            )
        return Arena(challenge, track, phase, organizer, ground_truth)

    return make


@pytest.fixture
def make_participant(make_user) -> Callable:
    """A user in a (new or given) team of the arena's challenge that entered its track."""
    from restorebench.accounts.services import team_create, team_join, track_enter

    def make(arena: Arena, team=None, username: str | None = None):
        user = make_user(username)
        if team is None:
            team = team_create(challenge=arena.challenge, name=f"team-{user.username}", user=user)
            track_enter(team=team, track=arena.track)
        else:
            team_join(team=team, user=user, join_code=team.join_code)
        return user, team

    return make


# --- real Celery workers -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def worker_env(django_db_setup, django_db_blocker, var_dir) -> dict[str, str]:
    """Environment for worker subprocesses: this run's test database, broker, queues and folders."""
    from django.conf import settings
    from django.db import connection

    from evaluator.weights import weights_dir

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    # The workers' var folder is this run's; the LPIPS/DISTS weights stay where this process finds them.
    env.setdefault("RESTOREBENCH_WEIGHTS_DIR", str(weights_dir()))
    env.update(
        RESTOREBENCH_DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        RESTOREBENCH_BROKER_URL=settings.CELERY_BROKER_URL,
        RESTOREBENCH_QUEUE_PREFIX=settings.RESTOREBENCH_QUEUE_PREFIX,
        RESTOREBENCH_VAR_DIR=str(var_dir),
        RESTOREBENCH_SCORING_FUNCTION=TEST_SCORING_FUNCTION,
        RESTOREBENCH_HEARTBEAT_EVERY_S="0.5",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform"), str(SUPPORT)]),
    )
    if db.get("PASSWORD"):
        env["RESTOREBENCH_DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    return env


@pytest.fixture(scope="session", autouse=True)
def _delete_this_runs_queues_at_the_end():
    """The queues are named for this run: remove them from the shared broker when it ends."""
    yield
    from django.conf import settings

    if settings.configured and getattr(settings, "RESTOREBENCH_QUEUE_PREFIX", ""):
        _delete_test_queues()


@pytest.fixture(scope="session")
def start_worker(worker_env, var_dir) -> Callable[..., WorkerProcess]:
    from django.conf import settings

    started: list[WorkerProcess] = []

    def start(name: str, compute: str = "cpu") -> WorkerProcess:
        queue = settings.RESTOREBENCH_QUEUES[compute]
        worker = WorkerProcess(
            name=name, queues=[queue], env=worker_env, log_path=var_dir / f"worker-{name}.log"
        )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


def _delete_test_queues() -> None:
    from django.conf import settings
    from restorebench.celery_app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
            channel = conn.default_channel
            for queue in settings.RESTOREBENCH_QUEUES.values():
                channel.queue_delete(queue)
    except Exception:  # the broker being gone at the very end must not fail the run
        pass


@pytest.fixture(scope="session")
def cpu_worker(start_worker) -> WorkerProcess:
    """One worker for the whole run on the `cpu` queue."""
    return start_worker("cpu")
