"""Per-request cost of the pages the load benchmark hits: queries and CPU milliseconds per request.

Seeds the same site as bench/bench_load.py (one running challenge, a phase whose leaderboard has
`--entries` teams) in a fresh PostgreSQL database, then requests each page in this process through
Django's test client (the whole middleware stack, production settings: DEBUG off) as one of the
teams' signed-in members and as an anonymous visitor. For each page: the queries of one warm request,
and the CPU time per warm request of this process (Django) and of the PostgreSQL backend
(/proc/<pid>/schedstat). CPU time, unlike wall time, hardly depends on what else the machine runs, so
these numbers can be compared across runs on a shared machine. `--profile NAME` also prints cProfile's
top functions for that page. `--connect-per-request` opens a new database connection for each
request, as a web process with RESTOREBENCH_DB_CONN_MAX_AGE=0 does, and counts the PostgreSQL CPU of
the ended backends (the postmaster's reaped children, so other clients' closed connections count too).

Usage: .venv/bin/python bench/profile_pages.py [--entries 500] [--requests 100] [--profile leaderboard]
       [--connect-per-request]
Results are recorded in docs/benchmarks.md (the load section).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_platform import _backend_pid, _drop_database, _on_cpu_ms, _setup_environment  # noqa: E402


def pages(plan: dict) -> dict[str, str]:
    """The GETs of bench/locust_load.py, by the names it reports them under."""
    phase = plan["phase_id"]
    return {
        "home (challenge list)": "/",
        "api challenge list": "/api/challenges/",
        "challenge page": f"/challenges/{plan['slug']}/",
        "leaderboard page (500)": f"/phases/{phase}/leaderboard/",
        "leaderboard api (500)": f"/api/phases/{phase}/leaderboard/",
        "my submissions page": "/submissions/",
        "submission page": f"/submissions/{plan['users'][0]['submission_id']}/",
    }


def _ended_backends_cpu_ms(postmaster: int) -> float | None:
    """CPU time of the PostgreSQL server's ended (reaped) backends, from its postmaster's /proc stat:
    what connections closed since cost the server (other clients' closed connections count too)."""
    try:
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[13]) + int(fields[14])) * 1000 / os.sysconf("SC_CLK_TCK")  # cutime + cstime


def _postmaster_pid(backend: int) -> int:
    return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def measure(client, url: str, requests: int, backend: int, *, connect: bool = False) -> dict:
    """`connect`: each timed request on a new database connection (what RESTOREBENCH_DB_CONN_MAX_AGE=0
    does in a web process); the PostgreSQL CPU is then that of the ended backends."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm: caches filled, templates compiled
        assert client.get(url).status_code in (200, 302), url
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    captured = list(queries.captured_queries)  # later requests reset the connection's query log
    server = _postmaster_pid(backend) if connect else None
    db_cpu_now = (lambda: _ended_backends_cpu_ms(server)) if connect else (lambda: _on_cpu_ms(backend))
    if connect:
        connection.close()
    cpu, db_cpu, wall = time.process_time(), db_cpu_now(), time.perf_counter()
    for _ in range(requests):
        client.get(url)
        if connect:
            connection.close()
    cpu_ms = (time.process_time() - cpu) * 1000 / requests
    if connect:
        time.sleep(0.5)  # the last backend exits and is reaped
    db_ms = (db_cpu_now() - db_cpu) / requests if db_cpu is not None else None
    return {
        "status": status,
        "queries": len(captured),
        "sql": [q["sql"][:160] for q in captured],
        "django_cpu_ms": round(cpu_ms, 2),
        "db_cpu_ms": None if db_ms is None else round(db_ms, 2),
        "wall_ms": round((time.perf_counter() - wall) * 1000 / requests, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--profile", help="print cProfile's top functions for pages whose name has this")
    parser.add_argument("--sql", action="store_true", help="print each page's queries")
    parser.add_argument(
        "--connect-per-request",
        action="store_true",
        help="a new database connection for each request (RESTOREBENCH_DB_CONN_MAX_AGE=0)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    os.environ.update(RESTOREBENCH_DEBUG="0", RESTOREBENCH_SECRET_KEY=secrets.token_urlsafe(40))
    os.environ.update(RESTOREBENCH_ALLOWED_HOSTS="testserver", RESTOREBENCH_SSL_REDIRECT="0")
    os.environ.update(RESTOREBENCH_SECURE_COOKIES="0", RESTOREBENCH_HSTS_SECONDS="0")
    work = Path(tempfile.mkdtemp(prefix="profile-pages-"))
    db_name = f"restorebench_profile_{os.getpid()}"
    results: dict = {"entries": args.entries, "requests": args.requests, "load_average": os.getloadavg()[0]}
    try:
        _setup_environment(work, db_name)
        from bench_load import seed
        from django.test import Client

        plan = seed(work, users=1, submitters=0, entries=args.entries)
        signed_in = Client()
        signed_in.cookies["sessionid"] = plan["users"][0]["session"]
        backend = _backend_pid()
        for who, client in (("signed in", signed_in), ("anonymous", Client())):
            for name, url in pages(plan).items():
                row = measure(client, url, args.requests, backend, connect=args.connect_per_request)
                if args.connect_per_request:
                    backend = _backend_pid()
                results[f"{who}: {name}"] = row
                print(
                    f"{who:9s}  {name:24s} {row['status']}  {row['queries']:2d} queries  "
                    f"django {row['django_cpu_ms']:6.2f} ms  postgres {row['db_cpu_ms']:5.2f} ms  "
                    f"wall {row['wall_ms']:6.2f} ms",
                    flush=True,
                )
                if args.sql:
                    for sql in row["sql"]:
                        print("      ", sql)
                if args.profile and args.profile in name and who == "signed in":
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(args.requests):
                        client.get(url)
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        if not args.connect_per_request:
            assert _backend_pid() == backend, "the client changed database connections; backend CPU is wrong"
    finally:
        _drop_database(db_name)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
