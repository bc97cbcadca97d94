"""Per-request CPU of the real web stack, one request at a time: gunicorn (as bench/bench_load.py starts
it) serving the load benchmark's pages to one keep-alive client, signed in, with nothing else asking.

bench/profile_pages.py measures the views in-process; this adds what a deployed request also costs
(the HTTP server, the WSGI handler, connecting to the database when connections are not kept) without
the contention of a load run, so configurations compare on a busy machine. For each
`--db-conn-max-age` value: the web processes' CPU and PostgreSQL's (this run's backends plus every
ended one, an upper bound on a shared server) per request, over the pages in Locust's task weights.

Usage: .venv/bin/python bench/profile_stack.py [--rounds 20] [--db-conn-max-age 0 600] [--web-workers 3]
       [--threads 4] [--json FILE]
Results are recorded in docs/benchmarks.md (the load section).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_load import _database_cpu_s, _stop, _web_cpu_s, seed, start_stack  # noqa: E402
from bench_platform import _delete_queues, _drop_database, _setup_environment  # noqa: E402
from profile_pages import pages  # noqa: E402

# Locust's task weights (bench/locust_load.py): each page of a task counts the task's weight.
WEIGHTS = {
    "home (challenge list)": 3, "api challenge list": 3, "challenge page": 2, "leaderboard page (500)": 4,
    "leaderboard api (500)": 4, "my submissions page": 2, "submission page": 2,
}  # fmt: skip


def _serve(url: str, plan: dict, rounds: int) -> int:
    """`rounds` passes over the weighted pages on one keep-alive connection; the requests made."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Cookie": f"sessionid={plan['users'][0]['session']}"}
    made = 0
    for _ in range(rounds):
        for name, path in pages(plan).items():
            for _ in range(WEIGHTS[name]):
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 200, (path, response.status)
                made += 1
    connection.close()
    return made


def measure(work: Path, env: dict, plan: dict, db_name: str, args, conn_max_age: str) -> dict:
    url, processes = start_stack(
        work, env, web_workers=args.web_workers, threads=args.threads, conn_max_age=conn_max_age,
        worker_nice=10,
    )  # fmt: skip
    try:
        _serve(url, plan, 3)  # warm: imports, templates, caches, every worker thread's connection
        web, db = _web_cpu_s(processes[0].pid), _database_cpu_s(db_name)
        made = _serve(url, plan, args.rounds)
        return {
            "requests": made,
            "web_cpu_ms_per_request": round(1000 * (_web_cpu_s(processes[0].pid) - web) / made, 2),
            "postgres_cpu_ms_per_request": round(1000 * (_database_cpu_s(db_name) - db) / made, 2),
        }
    finally:
        for process in processes:
            _stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the weighted pages")
    parser.add_argument("--db-conn-max-age", nargs="+", default=["0", "600"])
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="profile-stack-"))
    db_name = f"restorebench_stack_{os.getpid()}"
    os.environ["RESTOREBENCH_SECRET_KEY"] = secrets.token_urlsafe(40)
    os.environ.setdefault("RESTOREBENCH_CACHE_URL", "redis://127.0.0.1:6379/0")
    results: dict = {"load_average": round(os.getloadavg()[0], 1), "settings": vars(args) | {"json": None}}
    plan: dict = {}
    try:
        env = _setup_environment(work, db_name)
        plan = seed(work, users=1, submitters=0, entries=args.entries)
        for age in args.db_conn_max_age:
            results[f"conn_max_age={age}"] = row = measure(work, env, plan, db_name, args, age)
            print(f"RESTOREBENCH_DB_CONN_MAX_AGE={age:>4}: {row}", flush=True)
    finally:
        from bench_load import _forget_sessions

        try:
            _delete_queues()
            _drop_database(db_name)
            _forget_sessions(plan)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
