"""Schemathesis fuzzes the whole API from its own OpenAPI schema (`/api/schema/`) against a live server
on the test database, as an anonymous caller, as a participant (in a team of a running challenge) and
as that challenge's organizer. Any 5xx, or any response that contradicts the schema, fails the test.

Bounded for CI: a fixed seed, at most 15 examples per operation per pass and a time budget of 70 s per
role (Schemathesis's `--max-time`: passes repeat until it is spent, so each role costs about that).
One pass over every operation must fit in the budget; `RESTOREBENCH_FUZZ_EXAMPLES` and
`RESTOREBENCH_FUZZ_SECONDS` raise both for a deeper local run. Path parameters come from a dictionary
of the seeded objects' ids most of the time, so the fuzzer reaches real rows instead of only 404s.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rb_test_helpers import scored_submission
from restorebench.accounts.services import token_get_or_create
from restorebench.submissions.models import Rescore
from restorebench.submissions.services import upload_session_create

EXAMPLES = int(os.environ.get("RESTOREBENCH_FUZZ_EXAMPLES", "15"))
SECONDS = int(os.environ.get("RESTOREBENCH_FUZZ_SECONDS", "70"))
SEED = int(os.environ.get("RESTOREBENCH_FUZZ_SEED", "20261207"))
CHECKS = "not_a_server_error,response_schema_conformance"
ST = Path(sys.executable).with_name("st")

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(SECONDS + 150)]


@pytest.fixture
def fuzz_world(make_arena, make_participant):
    """A running challenge with a scored submission, an open upload session and a rescore."""
    arena = make_arena(images=1)
    participant, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 30.0, "ssim": 0.9})
    upload = upload_session_create(
        # Not the scored row's checksum ("0" * 64): a byte-identical upload would be refused.
        phase=arena.phase, user=participant, filename="a.zip", total_bytes=10, sha256="1" * 64
    )
    rescore = Rescore.objects.create(phase=arena.phase, requested_by=arena.organizer)
    ids = {
        "slug": [arena.challenge.slug],
        "team_id": [team.pk],
        "track_id": [arena.track.pk],
        "phase_id": [arena.phase.pk],
        "submission_id": [submission.pk],
        "upload_id": [str(upload.pk)],
        "rescore_id": [rescore.pk],
    }
    tokens = {
        "participant": token_get_or_create(user=participant).key,
        "organizer": token_get_or_create(user=arena.organizer).key,
    }
    return ids, tokens


def _config(ids: dict[str, list], path: Path) -> Path:
    """schemathesis.toml: each path parameter drawn from the seeded ids 80% of the time."""
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}')
    path.write_text("\n".join(lines) + "\n")
    return path


def _fuzz(live_server, tmp_path: Path, ids: dict, token: str | None) -> subprocess.CompletedProcess:
    config = _config(ids, tmp_path / "schemathesis.toml")
    command = [
        str(ST), "--config-file", str(config), "run", f"{live_server.url}/api/schema/",
        "--url", live_server.url, "--checks", CHECKS, "--max-examples", str(EXAMPLES),
        "--max-time", str(SECONDS), "--seed", str(SEED), "--workers", "1",
        "--phases", "examples,coverage,fuzzing", "--request-timeout", "20",
        "--generation-database", "none", "--no-color", "--suppress-health-check", "all",
    ]  # fmt: skip
    if token:
        command += ["--header", f"Authorization: Token {token}"]
    return subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=SECONDS + 90, check=False
    )


@pytest.mark.parametrize("role", ["anonymous", "participant", "organizer"])
def test_fuzzing_the_api_finds_no_server_error_and_no_schema_violation(
    role, live_server, fuzz_world, tmp_path
):
    ids, tokens = fuzz_world
    result = _fuzz(live_server, tmp_path, ids, tokens.get(role))
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.log").write_text(output)  # the full report, kept with pytest's tmp dirs
    assert result.returncode == 0, output[-20_000:]
    # Every operation of the schema was exercised (a schema that failed to load tests none).
    counts = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
    assert counts, output[-5000:]
    selected, total, tested = map(int, counts.groups())
    assert selected == total >= 35, output[-5000:]
    assert tested == selected, f"only {tested} of {selected} operations fit in {SECONDS} s:\n{output[-3000:]}"
