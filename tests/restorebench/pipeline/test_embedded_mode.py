"""The embedded default (no settings: SQLite and the filesystem broker) runs the same task code: a
worker subprocess with no external services scores a submission."""

import json
import os
import subprocess
import sys

import pytest
from rb_test_helpers import ROOT, WorkerProcess

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

SCENARIO = ROOT / "tests" / "restorebench" / "support" / "rb_embedded_scenario.py"


def test_the_embedded_sqlite_and_filesystem_broker_setup_scores_a_submission(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTOREBENCH_", "PYTEST_"))}
    env.update(RESTOREBENCH_VAR_DIR=str(tmp_path), PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'platform'}")
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, str(SCENARIO), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=200
    )
    migrated = run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout.splitlines()[-1]) == {
        "engine": "django.db.backends.sqlite3",
        "broker": "filesystem://",
    }
    worker = WorkerProcess(name="embedded", queues=["cpu"], env=env, log_path=tmp_path / "worker.log").start()
    try:
        scenario = run("submit", "150")
    finally:
        worker.stop()
    assert scenario.returncode == 0, scenario.stderr
    result = json.loads(scenario.stdout.splitlines()[-1])
    assert result["status"] == "scored", (result, worker.log_tail())
    assert result["scores"]["psnr"] == pytest.approx(result["expected_psnr"], abs=1e-9)
