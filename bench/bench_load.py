"""Load benchmark: many users browsing and submitting at once against the real stack.

gunicorn serves the site (production settings: DEBUG off) on a free port of 127.0.0.1, on a fresh
PostgreSQL database of its own (`restorebench_load_<pid>`), with RabbitMQ and two Celery workers
(solo pool each). Locust (headless, bench/locust_load.py) runs `--users` users for `--seconds`: they
browse the challenge list, a challenge, a leaderboard of `--entries` teams (page and API), their
submission list and a submission page; `--submitters` percent of them also post small result sets
(a zip of 3 PNGs of 64×64) to the submission API.

The web processes share a Redis cache (`--cache-url`, as docs/deployment.md asks of production: it
holds the sessions, read through to the database, and the leaderboards' rendered views).

The web processes keep their database connections (`--db-conn-max-age`, as docs/deployment.md
advises; 0 opens one per request) and the workers run niced (`--worker-nice`), as there advised for
workers that share cores with the web.

Reports throughput, p50/p95/p99 per page and the error rate, the CPU milliseconds per request of the
web processes, of PostgreSQL (this run's backends, plus every ended backend of the server) and of
Locust itself (which shares the machine), then waits for every accepted
submission to be scored and checks that no job was lost or doubled (one job per submission, done in
one attempt, one score row per image and metric, nothing accepted that was not reported). Exits
non-zero if a check fails. Everything it started is stopped and its database dropped at the end.

Usage: .venv/bin/python bench/bench_load.py [--users 100] [--seconds 120] [--json out.json]
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform as stdlib_platform
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from bench_platform import (  # noqa: E402
    _delete_queues,
    _drop_database,
    _process_cpu_s,
    _setup_environment,
    png_bytes,
)

IMAGES = {f"{i:04d}.png": (64, 64) for i in range(3)}
METRICS = ["psnr", "ssim"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(work: Path, *, users: int, submitters: int, entries: int) -> dict:
    """A running challenge whose phase has `entries` teams on the leaderboard, `users` of which are
    the benchmark's users (each with a session, a token and a scored submission of its own)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone
    from restorebench import storage
    from restorebench.accounts.models import Team, TeamMembership, TrackEntry
    from restorebench.accounts.services import token_get_or_create
    from restorebench.challenges.phase_data import phase_data_install
    from restorebench.challenges.services import challenge_create, phase_create, track_create
    from restorebench.submissions.models import Submission

    organizer = User.objects.create_user("load-organizer", password=secrets.token_hex(8))
    challenge = challenge_create(slug="load", title="Load benchmark", created_by=organizer)
    track = track_create(
        challenge=challenge, slug="denoise", title="Denoising", task="denoise",
        degradation_spec={"task": "denoise", "sigma": 25}, ranking_metrics=[{"metric": m} for m in METRICS],
        scoring_spec={"metrics": METRICS, "ranking_metric": METRICS[0]}, actor=organizer,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    now = timezone.now()
    phase = phase_create(
        track=track, slug="dev", title="Development", starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=30), actor=organizer,
    )  # fmt: skip
    # The ground truth goes into the phase's own hidden area, installed as the platform does.
    with tempfile.TemporaryDirectory(dir=storage.scratch_dir(hidden=True)) as source:
        for name, (h, w) in IMAGES.items():
            array = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            (Path(source) / name).write_bytes(png_bytes(array))
        phase = phase_data_install(
            phase=phase, inputs_src=None, ground_truth_src=Path(source), actor=organizer
        )
    password = make_password(None)  # unusable: the users sign in through their seeded sessions
    people = User.objects.bulk_create(
        User(username=f"load-{i:04d}", password=password) for i in range(entries)
    )
    teams = Team.objects.bulk_create(
        Team(challenge=challenge, name=f"team-{i:04d}", join_code=secrets.token_hex(8), created_by=u)
        for i, u in enumerate(people)
    )
    TeamMembership.objects.bulk_create(
        TeamMembership(team=t, user=u, challenge=challenge) for t, u in zip(teams, people, strict=True)
    )
    TrackEntry.objects.bulk_create(TrackEntry(team=t, track=track) for t in teams)
    board = Submission.objects.bulk_create(
        Submission(
            phase=phase,
            team=t,
            submitted_by=u,
            method_name=f"method {i}",
            archive_path="submissions/none.zip",
            archive_bytes=1,
            sha256="0" * 64,
            content_fingerprint=f"seed-{i}",
            image_count=len(IMAGES),
            status="scored",
            scores={"psnr": float(20 + rng.random() * 15), "ssim": float(rng.random())},
            scored_at=now,
        )  # fmt: skip
        for i, (t, u) in enumerate(zip(teams, people, strict=True))
    )
    plan_users = []
    for user, submission in zip(people[:users], board[:users], strict=True):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        token = token_get_or_create(user=user).key
        plan_users.append({"session": session.session_key, "token": token, "submission_id": submission.pk})
    # Submitters first: Locust starts the fixed-count Submitter users before the others.
    return {
        "slug": challenge.slug, "phase_id": phase.pk, "images": IMAGES, "users": plan_users,
        "submitters": submitters, "seeded_submission_ids": [s.pk for s in board],
    }  # fmt: skip


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _web_cpu_s(master_pid: int) -> float:
    """CPU seconds of gunicorn's master and its live workers (read from /proc)."""
    pids = [master_pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master_pid:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return sum(_process_cpu_s(pid) or 0.0 for pid in pids)


def _database_cpu_s(db_name: str) -> float:
    """CPU seconds of PostgreSQL's work for this run: its live backends connected to `db_name` (their
    process titles name it) plus every ended backend (the postmaster's reaped children, so other
    databases' closed connections count too: an upper bound on a shared server)."""
    live, postmasters = 0.0, set()
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if f" {db_name} ".encode() not in (stat.parent / "cmdline").read_bytes():
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        live += (int(fields[11]) + int(fields[12])) / tick
        postmasters.add(int(fields[1]))
    ended = 0.0
    for pid in postmasters:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ended += (int(fields[13]) + int(fields[14])) / tick
    return live + ended


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=30)


def _wait_until(predicate, timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {why}")


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def start_stack(
    work: Path, env: dict, *, web_workers: int, threads: int, conn_max_age: str, worker_nice: int
) -> tuple[str, list]:
    """gunicorn (keep-alive 30 s, as behind a proxy: gunicorn's default 2 s closes idle connections
    while users think, and a request sent on one as it closes is reset; database connections kept
    `conn_max_age` seconds, as docs/deployment.md advises for web processes) and two Celery workers
    (`worker_nice` below the web processes, as docs/deployment.md advises where they share cores)."""
    from django.conf import settings

    port = _free_port()
    web_env = {
        **env, "RESTOREBENCH_DEBUG": "0", "RESTOREBENCH_ALLOWED_HOSTS": "127.0.0.1",
        "RESTOREBENCH_SSL_REDIRECT": "0", "RESTOREBENCH_SECURE_COOKIES": "0",
        "RESTOREBENCH_HSTS_SECONDS": "0", "RESTOREBENCH_DB_CONN_MAX_AGE": conn_max_age,
    }  # fmt: skip
    processes = [
        _start(
            [sys.executable, "-m", "gunicorn", "restorebench.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(web_workers), "--threads", str(threads), "--worker-class", "gthread",
             "--timeout", "120", "--keep-alive", "30", "--log-level", "warning"],
            web_env, work / "gunicorn.log",
        )
    ]  # fmt: skip
    queue = settings.RESTOREBENCH_QUEUES["cpu"]
    for n in (1, 2):
        processes.append(
            _start(
                ["nice", "-n", str(worker_nice), sys.executable, "-m", "celery", "-A",
                 "restorebench.celery_app", "worker", "-Q", queue, "--pool=solo", "-n",
                 f"load{n}-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
                 "--loglevel=WARNING"],
                env, work / f"worker{n}.log",
            )
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_until(lambda: _answers(f"{url}/api/challenges/"), 120, "gunicorn to answer")
    from restorebench.celery_app import app

    def both_workers_answer() -> bool:
        replies = app.control.ping(timeout=1.0) or []
        names = {next(iter(r)) for r in replies}
        return all(any(n.startswith(f"load{i}-{os.getpid()}@") for n in names) for i in (1, 2))

    _wait_until(both_workers_answer, 120, "both workers to answer a ping")
    return url, processes


def warm_up(url: str, plan: dict, rounds: int) -> None:
    """Each page the users read, `rounds` times, before anything is measured: a fresh web process
    spends its first requests importing, compiling templates and connecting, which is not the
    per-request cost (and on a short run would be a large share of it)."""
    import urllib.request

    user = plan["users"][0]
    phase = plan["phase_id"]
    pages = [
        "/", "/api/challenges/", f"/challenges/{plan['slug']}/", f"/phases/{phase}/leaderboard/",
        f"/api/phases/{phase}/leaderboard/", "/submissions/", f"/submissions/{user['submission_id']}/",
    ]  # fmt: skip
    for _ in range(rounds):
        for page in pages:
            request = urllib.request.Request(url + page, headers={"Cookie": f"sessionid={user['session']}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished, waited-for children (Locust, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_locust(work: Path, url: str, plan: dict, *, users: int, seconds: int) -> tuple[dict, list, dict]:
    plan_path, result_path = work / "plan.json", work / "locust-result.json"
    plan_path.write_text(json.dumps(plan))
    env = {**os.environ, "RESTOREBENCH_LOAD_PLAN": str(plan_path)}
    env["RESTOREBENCH_LOAD_RESULT"] = str(result_path)
    command = [
        sys.executable, "-m", "locust", "-f", str(BENCH / "locust_load.py"), "--headless", "--host", url,
        "--users", str(users), "--spawn-rate", str(max(1, users // 10)), "--run-time", f"{seconds}s",
        "--stop-timeout", "30", "--csv", str(work / "locust"), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 180)
    if not result_path.exists():
        raise RuntimeError(f"locust did not finish:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    pages = {}
    with open(work / "locust_stats.csv") as handle:
        for row in csv.DictReader(handle):
            pages[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per_s": round(float(row["Requests/s"]), 2),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
            }
    with open(work / "locust_failures.csv") as handle:
        failures = [
            {"page": row["Name"], "error": row["Error"][:300], "count": int(row["Occurrences"])}
            for row in csv.DictReader(handle)
        ]
    return pages, failures, json.loads(result_path.read_text())


def check_jobs(outcome: dict, plan: dict, timeout: float) -> dict:
    """Every accepted submission scored by exactly one job, in one attempt, with one row per image and
    metric; no submission in the database that Locust was not told about."""
    from restorebench.submissions.models import EvaluationJob, ImageScore, Submission

    accepted = set(outcome["submitted"])
    seeded = set(plan["seeded_submission_ids"])
    finished = ("scored", "failed", "cancelled")

    def all_finished() -> bool:
        return not Submission.objects.filter(pk__in=accepted).exclude(status__in=finished).exists()

    started = time.monotonic()
    try:
        _wait_until(all_finished, timeout, "the accepted submissions to be scored")
    except RuntimeError:
        pass  # reported as lost below
    drain_s = time.monotonic() - started
    in_db = set(Submission.objects.exclude(pk__in=seeded).values_list("pk", flat=True))
    scored = set(Submission.objects.filter(pk__in=accepted, status="scored").values_list("pk", flat=True))
    jobs = EvaluationJob.objects.filter(submission_id__in=accepted)
    per_submission: dict[int, int] = {}
    for job in jobs:
        per_submission[job.submission_id] = per_submission.get(job.submission_id, 0) + 1
    expected_rows = len(plan["images"]) * len(METRICS)
    wrong_rows = (
        [j.pk for j in jobs if ImageScore.objects.filter(job=j).count() != expected_rows] if accepted else []
    )
    return {
        "accepted": len(accepted),
        "refused": len(outcome["refused"]),
        "refusals": outcome["refused"][:5],
        "scored": len(scored),
        "lost": len(accepted - scored),
        "unreported_in_database": len(in_db - accepted),
        "doubled_jobs": sum(1 for n in per_submission.values() if n > 1),
        "retried_jobs": jobs.filter(attempts__gt=1).count(),
        "jobs_with_wrong_score_rows": len(wrong_rows),
        "drain_s": round(drain_s, 1),
    }


def _forget_sessions(plan: dict) -> None:
    """Remove the seeded sessions from the shared cache (they would otherwise stay for two weeks)."""
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import cache

    cache.delete_many([KEY_PREFIX + user["session"] for user in plan.get("users", [])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--submitters", type=int, default=10, help="percent of the users that submit")
    parser.add_argument("--entries", type=int, default=500, help="teams on the leaderboard")
    parser.add_argument("--seconds", type=int, default=120, help="load duration")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--db-conn-max-age", default="600", help="web's RESTOREBENCH_DB_CONN_MAX_AGE (0: connect per request)"
    )
    parser.add_argument("--worker-nice", type=int, default=10, help="workers' niceness above the web's")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("RESTOREBENCH_BENCH_REDIS", "redis://127.0.0.1:6379/0"),
        help="the web processes' shared cache ('': a cache in each process's memory)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.entries < args.users:
        parser.error("--entries must be at least --users (each user has a team on the leaderboard)")

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    db_name = f"restorebench_load_{os.getpid()}"
    processes: list[subprocess.Popen] = []
    results: dict = {
        "machine": f"{os.cpu_count()} CPU cores, {stdlib_platform.processor() or stdlib_platform.machine()}",
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "settings": vars(args) | {"json": str(args.json) if args.json else None},
    }
    # One secret for this process and gunicorn: the seeded sessions carry a hash keyed on it.
    os.environ["RESTOREBENCH_SECRET_KEY"] = secrets.token_urlsafe(40)
    os.environ["RESTOREBENCH_CACHE_URL"] = args.cache_url
    plan: dict = {}
    try:
        env = _setup_environment(work, db_name)
        submitters = max(1, round(args.users * args.submitters / 100))
        plan = seed(work, users=args.users, submitters=submitters, entries=args.entries)
        url, processes = start_stack(
            work, env, web_workers=args.web_workers, threads=args.threads,
            conn_max_age=args.db_conn_max_age, worker_nice=args.worker_nice,
        )  # fmt: skip
        print(f"stack up at {url}; {args.users} users ({submitters} submit), {args.seconds} s", flush=True)
        warm_up(url, plan, rounds=5 * args.web_workers)
        web_cpu_before, locust_cpu_before = _web_cpu_s(processes[0].pid), _children_cpu_s()
        db_cpu_before = _database_cpu_s(db_name)
        workers_cpu_before = sum(_process_cpu_s(p.pid) or 0.0 for p in processes[1:])
        workers_since = time.monotonic()
        pages, failures, outcome = run_locust(work, url, plan, users=args.users, seconds=args.seconds)
        web_cpu = _web_cpu_s(processes[0].pid) - web_cpu_before
        db_cpu = _database_cpu_s(db_name) - db_cpu_before
        locust_cpu = _children_cpu_s() - locust_cpu_before
        results["pages"], results["failures"] = pages, failures
        requests = pages.get("Aggregated", {}).get("requests") or 1
        # What the web processes spent per request (PostgreSQL's share not included): on a machine
        # busy with other work, wall-clock latency mostly measures waiting for a core. Locust's own
        # share is the load generator's cost on the same cores, which a real site would not carry.
        results["web_cpu_ms_per_request"] = round(1000 * web_cpu / requests, 1)
        results["locust_cpu_ms_per_request"] = round(1000 * locust_cpu / requests, 1)
        results["postgres_cpu_ms_per_request"] = round(1000 * db_cpu / requests, 1)
        results["jobs"] = check_jobs(outcome, plan, args.drain_timeout)
        # What the Celery workers took from the shared cores, in cores, from the load's start until
        # every job was done (their idle polling and heartbeats included, not only the scoring).
        workers_cpu = sum(_process_cpu_s(p.pid) or 0.0 for p in processes[1:]) - workers_cpu_before
        results["workers_cpu_cores"] = round(workers_cpu / (time.monotonic() - workers_since), 2)
        results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    finally:
        for process in processes:
            _stop(process)
        try:
            _delete_queues()
            _drop_database(db_name)
            _forget_sessions(plan)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    total = results["pages"].get("Aggregated", {})
    jobs = results["jobs"]
    checks = ("lost", "doubled_jobs", "unreported_in_database", "jobs_with_wrong_score_rows")
    bad = sum(jobs[k] for k in checks)
    sys.exit(1 if bad or total.get("failures") else 0)


if __name__ == "__main__":
    main()
