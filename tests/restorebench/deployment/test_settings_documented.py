"""docs/deployment.md lists every environment variable the code reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ["platform", "evaluator", "benchdata", "reference_methods", "scripts", "Makefile"]


def _variables_read() -> set[str]:
    found: set[str] = set()
    pattern = re.compile(
        r"""(?:environ(?:\.get)?\(|environ\[|getenv\()\s*["'](RESTOREBENCH_[A-Z0-9_]+)["']"""
    )
    for source in SOURCES:
        path = ROOT / source
        files = [path] if path.is_file() else [*path.rglob("*.py"), *path.rglob("*.sh")]
        for file in files:
            found.update(pattern.findall(file.read_text(encoding="utf-8", errors="replace")))
    return found


def test_every_setting_the_code_reads_is_documented():
    documented = set(re.findall(r"RESTOREBENCH_[A-Z0-9_]+", (ROOT / "docs" / "deployment.md").read_text()))
    read = _variables_read()
    assert len(read) > 30  # the scan sees the settings module
    assert sorted(read - documented) == []
