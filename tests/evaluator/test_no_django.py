"""The evaluator must stay usable without Django (it runs in bare worker processes)."""

import subprocess
import sys
from pathlib import Path

import evaluator

ROOT = Path(evaluator.__file__).parent


def test_no_module_of_the_evaluator_mentions_django_imports():
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*.py")
        if any(
            line.strip().startswith(("import django", "from django")) for line in p.read_text().splitlines()
        )
    ]
    assert offenders == []


def test_importing_the_evaluator_loads_no_django():
    code = (
        "import sys, evaluator, evaluator.scoring, evaluator.jobs, evaluator.cli, evaluator.metrics;"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
