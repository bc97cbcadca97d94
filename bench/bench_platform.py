"""Platform benchmark: time from upload to leaderboard, and leaderboard API latency.

Runs the real stack: a fresh PostgreSQL database, the RabbitMQ broker, and one Celery worker
subprocess (solo pool). Uploads go through the chunked upload API (in-process Django test client: the
full view, service and storage code, no network socket) and the clock stops when the submission's row
appears, scored, in the leaderboard API.

1. A 20-image track made from the starter benchmark (192×192 RGB; the starter's images, mirrored
   copies added to reach 20), denoising; `--runs` submissions from fresh teams; median and p95.
2. A large result set: `--large-images` synthetic 2040×1356 RGB PNGs (DIV2K size, ~5 MB each),
   PSNR+SSIM; upload, queue, scoring and leaderboard times.
3. Leaderboard API latency (GET /api/phases/<id>/leaderboard/) with `--leaderboard-submissions`
   scored submissions from `--teams` teams in one phase: median and p95 over `--requests` calls, then
   over `--cold-requests` calls with the cache cleared before each, also as CPU time (this process,
   and the PostgreSQL backend's from /proc/<pid>/schedstat) since wall times on a shared machine
   mostly measure waiting; full garbage collections during the cold calls are counted. The process
   calls gc.freeze() before timing, as restorebench/wsgi.py does in a web process (`--no-gc-freeze`).
   `--runs 0 --large-images 0` runs this part alone. With `--formula-board` the track ranks as NTIRE
   Efficient SR does (docs/ranking.md): a gated exp formula over the measured runtime and parameters
   of model submissions, a fidelity board and a combined board; the timed resource is the formula
   board (`/api/phases/<id>/leaderboards/main/`); a cold read ranks the boards it needs (here one).

Usage: .venv/bin/python bench/bench_platform.py [--runs 10] [--large-images 100] [--json out.json]
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import io
import json
import os
import platform as stdlib_platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("RESTOREBENCH_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
BROKER = os.environ.get("RESTOREBENCH_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
CHUNK = 32 * 1024 * 1024


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def png_bytes(array: np.ndarray, compress_level: int = 1) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def _setup_environment(work: Path, db_name: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    env.update(
        RESTOREBENCH_DATABASE_URL=f"{base}/{db_name}",
        RESTOREBENCH_BROKER_URL=BROKER,
        RESTOREBENCH_QUEUE_PREFIX=f"bench{os.getpid()}-",
        RESTOREBENCH_VAR_DIR=str(work / "var"),
        RESTOREBENCH_HEARTBEAT_EVERY_S="2",
        RESTOREBENCH_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        DJANGO_SETTINGS_MODULE="restorebench.settings",
    )
    os.environ.update(env)
    for path in (str(ROOT), str(ROOT / "platform")):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def _drop_database(db_name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    from django.conf import settings

    queues = ",".join(settings.RESTOREBENCH_QUEUES.values())
    command = [sys.executable, "-m", "celery", "-A", "restorebench.celery_app", "worker", "-Q", queues,
               "--pool=solo", "-n", f"bench{os.getpid()}@%h", "--without-gossip", "--without-mingle",
               "--loglevel=WARNING"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    from restorebench.celery_app import app

    name = f"bench{os.getpid()}@"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited: {log.read_text()[-3000:]}")
        replies = app.control.ping(timeout=1.0) or []
        if any(next(iter(r)).startswith(name) for r in replies):
            return process
        time.sleep(0.5)
    raise RuntimeError("worker did not answer a ping within 120 s")


def _delete_queues() -> None:
    from django.conf import settings
    from restorebench.celery_app import app

    with app.connection_for_write() as conn:
        for queue in settings.RESTOREBENCH_QUEUES.values():
            try:
                conn.default_channel.queue_delete(queue)
            except Exception:
                pass


class Site:
    """A challenge/track/phase with ground truth on disk, and helpers to submit and wait."""

    def __init__(self, *, ground_truth: dict[str, Path], metrics: list[str], title: str) -> None:
        from django.contrib.auth.models import User
        from django.utils import timezone
        from restorebench import storage
        from restorebench.challenges.phase_data import phase_data_install
        from restorebench.challenges.services import challenge_create, phase_create, track_create

        self.organizer = User.objects.create_user(f"org-{time.monotonic_ns()}", password="x")
        slug = f"bench-{time.monotonic_ns()}"
        challenge = challenge_create(slug=slug, title=title, created_by=self.organizer)
        self.track = track_create(
            challenge=challenge, slug="t", title=title, task="denoise", ranking_metrics=metrics,
            scoring_spec={"metrics": metrics, "ranking_metric": metrics[0]},
        )  # fmt: skip
        now = timezone.now()
        self.phase = phase_create(
            track=self.track, slug="p", title="P", starts_at=now - dt.timedelta(days=1),
            ends_at=now + dt.timedelta(days=1), max_upload_bytes=4 * 1024**3,
        )  # fmt: skip
        # The ground truth goes into the phase's own hidden area, installed as the platform does (the
        # leaderboard part scores nothing: it has none, and an empty folder is refused).
        if not ground_truth:
            self.challenge = challenge
            return
        with tempfile.TemporaryDirectory(dir=storage.scratch_dir(hidden=True)) as source:
            for name, path in ground_truth.items():
                shutil.copyfile(path, Path(source) / name)
            self.phase = phase_data_install(
                phase=self.phase, inputs_src=None, ground_truth_src=Path(source), actor=self.organizer
            )
        self.challenge = challenge

    def new_team_client(self):
        from django.contrib.auth.models import User
        from rest_framework.test import APIClient
        from restorebench.accounts.services import team_create, track_enter

        user = User.objects.create_user(f"user-{time.monotonic_ns()}", password="x")
        team = team_create(challenge=self.challenge, name=f"team-{user.username}", user=user)
        track_enter(team=team, track=self.track)
        client = APIClient()
        client.force_authenticate(user)
        return client

    def upload(self, client, zip_path: Path) -> int:
        size = zip_path.stat().st_size
        digest = hashlib.sha256()
        with open(zip_path, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        created = client.post(
            f"/api/phases/{self.phase.pk}/uploads/create/",
            {"filename": zip_path.name, "total_bytes": size, "sha256": digest.hexdigest()},
            format="json",
        )
        assert created.status_code == 201, created.content
        upload_id = created.json()["id"]
        offset = 0
        with open(zip_path, "rb") as handle:
            while block := handle.read(CHUNK):
                response = client.put(
                    f"/api/uploads/{upload_id}/chunk/?offset={offset}", data=block,
                    content_type="application/octet-stream",
                )  # fmt: skip
                assert response.status_code == 200, response.content
                offset += len(block)
        done = client.post(f"/api/uploads/{upload_id}/complete/", {"method_name": "bench"}, format="json")
        assert done.status_code == 201, done.content
        return done.json()["id"]

    def wait_on_leaderboard(self, client, submission_id: int, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = client.get(f"/api/phases/{self.phase.pk}/leaderboard/").json()["rows"]
            if any(r["submission_id"] == submission_id for r in rows):
                return
            from restorebench.submissions.models import Submission

            status = (
                Submission.objects.filter(pk=submission_id).values_list("status", "failure_reason").first()
            )
            if status and status[0] in ("failed", "cancelled"):
                raise RuntimeError(f"submission {submission_id} {status[0]}: {status[1]}")
            time.sleep(0.05)
        raise TimeoutError(f"submission {submission_id} not on the leaderboard after {timeout} s")


def _zip(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def bench_starter(work: Path, runs: int) -> dict:
    from benchdata.starter import build_starter

    starter = build_starter(work / "starter")
    sources = sorted(starter.glob("*.png"))
    images = {p.name: np.asarray(Image.open(p).convert("RGB")) for p in sources}
    for p in sources:  # mirrored copies up to 20 images
        if len(images) >= 20:
            break
        images[f"{p.stem}_mirrored.png"] = np.ascontiguousarray(
            np.asarray(Image.open(p).convert("RGB"))[:, ::-1]
        )
    gt_dir = work / "starter20-gt"
    gt_dir.mkdir()
    for name, array in images.items():
        (gt_dir / name).write_bytes(png_bytes(array, compress_level=6))
    site = Site(ground_truth={n: gt_dir / n for n in images}, metrics=["psnr", "ssim"], title="Starter 20")
    rng = np.random.default_rng(0)
    zips = []
    for run in range(runs + 1):
        restored = {
            n: png_bytes(
                np.clip(a.astype(np.int16) + rng.integers(-8, 9, a.shape), 0, 255).astype(np.uint8), 6
            )
            for n, a in images.items()
        }
        zips.append(_zip(restored, work / f"starter-{run}.zip"))
    timings = []
    for run, path in enumerate(zips):
        client = site.new_team_client()
        start = time.perf_counter()
        submission_id = site.upload(client, path)
        site.wait_on_leaderboard(client, submission_id)
        elapsed = time.perf_counter() - start
        if run > 0:  # run 0 warms the worker up (imports the scoring stack)
            timings.append(elapsed)
        print(
            f"  starter run {run}: {elapsed:.2f} s{' (warm-up, not counted)' if run == 0 else ''}", flush=True
        )
    return {
        "images": len(images),
        "size": "192x192 RGB",
        "zip_bytes": zips[1].stat().st_size,
        "runs": runs,
        "median_s": statistics.median(timings),
        "p95_s": percentile(timings, 95),
        "min_s": min(timings),
        "max_s": max(timings),
    }


def _synthetic_div2k(
    index: int, rng: np.random.Generator, height: int = 1356, width: int = 2040
) -> np.ndarray:
    """A deterministic 'natural-looking' RGB image: smooth colour fields plus texture plus mild noise,
    so PNG compresses it to about 5 MB (random noise alone would not compress at all)."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    phase = index * 0.37
    channels = []
    for c in range(3):
        field = 0.5 + 0.25 * np.sin(2 * np.pi * (x * (1.5 + c) + y * (0.7 + 0.3 * c)) + phase + c)
        field += 0.15 * np.cos(2 * np.pi * (x * 9.0 - y * 6.0) * (1 + 0.1 * c) + phase)
        channels.append(field)
    image = np.stack(channels, axis=-1) * 255.0
    image += rng.normal(0.0, 3.0, size=image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process, all its threads (/proc/<pid>/stat), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def bench_large(work: Path, count: int, worker_pid: int | None = None) -> dict:
    rng = np.random.default_rng(2040)
    gt_dir = work / "large-gt"
    gt_dir.mkdir()
    zip_path = work / "large-result.zip"
    started = time.perf_counter()
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive:
        for i in range(count):
            gt = _synthetic_div2k(i, rng)
            name = f"{801 + i:04d}.png"
            (gt_dir / name).write_bytes(png_bytes(gt))
            restored = np.clip(gt.astype(np.int16) + rng.integers(-3, 4, gt.shape), 0, 255).astype(np.uint8)
            archive.writestr(name, png_bytes(restored))
    print(f"  synthesised {count} pairs in {time.perf_counter() - started:.0f} s", flush=True)
    site = Site(ground_truth={p.name: p for p in sorted(gt_dir.glob("*.png"))}, metrics=["psnr", "ssim"],
                title="Large")  # fmt: skip
    client = site.new_team_client()
    worker_cpu_before = _process_cpu_s(worker_pid) if worker_pid else None
    start = time.perf_counter()
    submission_id = site.upload(client, zip_path)
    uploaded = time.perf_counter()
    site.wait_on_leaderboard(client, submission_id, timeout=1800)
    end = time.perf_counter()
    worker_cpu_after = _process_cpu_s(worker_pid) if worker_pid else None
    from restorebench.submissions.models import EvaluationJob

    job = EvaluationJob.objects.get(submission_id=submission_id)
    scoring = (job.finished_at - job.started_at).total_seconds()
    return {
        "images": count,
        "size": "2040x1356 RGB",
        "zip_bytes": zip_path.stat().st_size,
        "upload_s": uploaded - start,
        "queue_wait_s": (job.started_at - job.created_at).total_seconds(),
        "scoring_s": scoring,
        "total_upload_to_leaderboard_s": end - start,
        # The worker's CPU seconds for the job (all threads): on a loaded machine, the steadier number.
        "worker_cpu_s": (
            worker_cpu_after - worker_cpu_before
            if worker_cpu_before is not None and worker_cpu_after is not None
            else None
        ),
    }


FORMULA_RANKING = {
    "leaderboards": [
        {
            "slug": "main",
            "title": "Main",
            "score": "0.8*exp(2*runtime/0.0218) + 0.2*exp(2*params/0.151e6)",
            "order": "lower_first",
            "gate": "psnr >= 26.90",
        },
        {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr", "ssim"]},
        {"slug": "overall", "title": "Overall", "combine": {"leaderboards": ["main", "fidelity"]}},
    ]
}


class _GcClock:
    """A `gc.callbacks` entry: how many full (generation 2) collections ran, and their total CPU time."""

    def __init__(self) -> None:
        self.full, self.full_ms, self._start = 0, 0.0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._start = time.process_time()
        else:
            self.full += 1
            self.full_ms += (time.process_time() - self._start) * 1000


def bench_leaderboard(
    submissions: int,
    teams: int,
    requests: int,
    formula: bool = False,
    profile: bool = False,
    cold_requests: int = 100,
    freeze: bool = True,
) -> dict:
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient
    from restorebench.accounts.models import Team, TeamMembership, TrackEntry
    from restorebench.submissions.models import Submission

    site = Site(ground_truth={}, metrics=["psnr", "ssim"], title="Leaderboard load")
    if formula:
        from restorebench.challenges.services import track_update

        track_update(track=site.track, actor=None, ranking=FORMULA_RANKING)
        site.phase.refresh_from_db()
    rng = np.random.default_rng(7)
    users = User.objects.bulk_create([User(username=f"lb-{i}-{time.monotonic_ns()}") for i in range(teams)])
    team_rows = Team.objects.bulk_create(
        [
            Team(challenge=site.challenge, name=f"lb-team-{i}", join_code=f"lb{i}-{time.monotonic_ns()}")
            for i in range(teams)
        ]
    )
    TeamMembership.objects.bulk_create(
        [
            TeamMembership(team=t, user=u, challenge=site.challenge)
            for t, u in zip(team_rows, users, strict=True)
        ]
    )
    TrackEntry.objects.bulk_create([TrackEntry(team=t, track=site.track) for t in team_rows])
    rows = []
    for i in range(submissions):
        psnr = float(rng.normal(28.0, 1.5))
        rows.append(Submission(
            phase=site.phase, team=team_rows[i % teams], method_name=f"m{i}", archive_path="x.zip",
            archive_bytes=1, sha256="0" * 64, content_fingerprint=f"fp{i}", image_count=100, status="scored",
            scores={"psnr": psnr, "ssim": float(min(1.0, 0.7 + (psnr - 28) / 30 + rng.normal(0, 0.01)))},
            **(_model_fields(rng) if formula else {}),
        ))  # fmt: skip
    for name in ("bicubic", "identity", "bm3d", "dncnn", "nlm"):
        rows.append(Submission(
            phase=site.phase, is_reference=True, method_name=name, archive_path="x.zip", archive_bytes=1,
            sha256="0" * 64, content_fingerprint=f"ref-{name}", image_count=100, status="scored",
            scores={"psnr": float(rng.normal(27, 2)), "ssim": 0.75},
        ))  # fmt: skip
    Submission.objects.bulk_create(rows, batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = APIClient()
    url = f"/api/phases/{site.phase.pk}/" + ("leaderboards/main/" if formula else "leaderboard/")
    if freeze:
        gc.collect()
        gc.freeze()  # as restorebench/wsgi.py does in each web process once the site is loaded
    for _ in range(5):
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    body = response.json()
    assert len([r for r in body["rows"] if not r["is_reference"]]) == teams
    from django.core.cache import cache

    # CPU time as well as wall time: on a loaded machine the wall time mostly measures waiting for a
    # core. The client's is this process's; PostgreSQL's is its backend's on-CPU time from
    # /proc/<pid>/schedstat (same machine; the test client keeps one connection for every request).
    backend = _backend_pid()
    cold, cold_cpu, cold_db_cpu = [], [], []  # every request ranks again (first view after a change)
    collections = _GcClock()
    gc.callbacks.append(collections)
    for _ in range(cold_requests):
        cache.clear()
        start, cpu, db_cpu = time.perf_counter(), time.process_time(), _on_cpu_ms(backend)
        assert client.get(url).status_code == 200
        cold.append((time.perf_counter() - start) * 1000)
        cold_cpu.append((time.process_time() - cpu) * 1000)
        if db_cpu is not None:
            cold_db_cpu.append(_on_cpu_ms(backend) - db_cpu)
    gc.callbacks.remove(collections)
    assert _backend_pid() == backend, "the client changed database connections; backend CPU is wrong"
    if profile:  # where a cold request's client CPU goes (not part of the timings above)
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        for _ in range(len(cold)):
            cache.clear()
            profiler.enable()
            client.get(url)
            profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(50)
    return {
        "submissions": submissions,
        "teams": teams,
        "ranking": "formula board (+ fidelity, combined)" if formula else "metric rule",
        "rows": len(body["rows"]),
        "requests": requests,
        "median_ms": statistics.median(timings),
        "p95_ms": percentile(timings, 95),
        "max_ms": max(timings),
        "cold_requests": len(cold),
        "gc_frozen": freeze,
        "cold_full_gc": {"collections": collections.full, "ms": round(collections.full_ms, 1)},
        "cold_median_ms": statistics.median(cold),
        "cold_p95_ms": percentile(cold, 95),
        "cold_client_cpu_median_ms": statistics.median(cold_cpu),
        "cold_client_cpu_p95_ms": percentile(cold_cpu, 95),
        "cold_db_cpu_median_ms": statistics.median(cold_db_cpu) if cold_db_cpu else None,
        "cold_db_cpu_p95_ms": percentile(cold_db_cpu, 95) if cold_db_cpu else None,
        "load_average": round(os.getloadavg()[0], 1),
    }


def _model_fields(rng: np.random.Generator) -> dict:
    """What the sandbox records for a model submission: runtime per image, parameters."""
    return {
        "kind": "model",
        "model_format": "onnx",
        "model_manifest": {},
        "model_seconds_per_image": float(rng.uniform(0.005, 0.05)),
        "model_parameters": int(rng.integers(50_000, 500_000)),
    }


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _on_cpu_ms(pid: int) -> float | None:
    """Time the process has spent on a CPU (ms), or None where /proc does not show it."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed 20-image submissions (0: skip)")
    parser.add_argument(
        "--large-images", type=int, default=100, help="images in the large result set (0: skip)"
    )
    parser.add_argument("--leaderboard-submissions", type=int, default=10_000, help="0: skip")
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cold-requests", type=int, default=100, help="requests with the cache cleared")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="leave out the gc.freeze() that restorebench/wsgi.py does"
    )
    parser.add_argument(
        "--formula-board", action="store_true", help="rank the leaderboard part by a gated formula board"
    )
    parser.add_argument("--profile", action="store_true", help="print cProfile's view of the cold requests")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-platform-"))
    db_name = f"restorebench_bench_{os.getpid()}"
    env = _setup_environment(work, db_name)
    worker = _start_worker(env, work / "worker.log")
    results: dict = {
        "machine": f"{os.cpu_count()} CPU cores, {stdlib_platform.processor() or stdlib_platform.machine()}, "
        f"load average at start {os.getloadavg()[0]:.1f}",
        "python": sys.version.split()[0],
    }
    try:
        if args.runs:
            print("20-image starter track:", flush=True)
            results["starter"] = bench_starter(work, args.runs)
        if args.large_images:
            print(f"large result set ({args.large_images} images):", flush=True)
            results["large"] = bench_large(work, args.large_images, worker.pid)
        if args.leaderboard_submissions:
            print("leaderboard API:", flush=True)
            results["leaderboard"] = bench_leaderboard(
                args.leaderboard_submissions,
                args.teams,
                args.requests,
                formula=args.formula_board,
                profile=args.profile,
                cold_requests=args.cold_requests,
                freeze=not args.no_gc_freeze,
            )
        results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        _delete_queues()
        _drop_database(db_name)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
