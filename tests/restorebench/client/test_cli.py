"""The participant's client against a live test server: login keeps a token, submit uploads in chunks,
resumes after an interruption, then follows the submission until a real worker scores it; refusals
exit non-zero with the site's reason."""

import json
import stat

import pytest
from restorebench.submissions.models import Submission, UploadSession

from restorebench_client import cli
from restorebench_client.http import Api, ApiError

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture
def client_home(tmp_path, monkeypatch):
    home = tmp_path / "client-home"
    monkeypatch.setenv("RESTOREBENCH_CLIENT_HOME", str(home))
    monkeypatch.delenv("RESTOREBENCH_TOKEN", raising=False)
    monkeypatch.delenv("RESTOREBENCH_SERVER", raising=False)
    return home


def _login(live_server, monkeypatch, username: str, password: str) -> int:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(password + "\n"))
    return cli.main(["--server", live_server.url, "login", "--username", username, "--password-stdin"])


def test_login_keeps_a_token_readable_by_the_owner_only(
    live_server, client_home, make_user, monkeypatch, capsys
):
    make_user("carol")
    assert _login(live_server, monkeypatch, "carol", "wrong") == cli.FAILED
    assert "wrong username or password" in capsys.readouterr().err
    assert _login(live_server, monkeypatch, "carol", "pw-carol") == cli.DONE
    saved = client_home / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["server"] == live_server.url


def test_a_command_before_login_says_how_to_log_in(live_server, client_home, capsys):
    assert cli.main(["--server", live_server.url, "status", "1"]) == cli.USAGE
    assert "restorebench --server" in capsys.readouterr().err


def test_an_interrupted_upload_resumes_and_the_submission_is_followed_until_scored(
    live_server, client_home, make_arena, make_participant, cpu_worker, monkeypatch, tmp_path, capsys
):
    arena = make_arena(images=3, size=(64, 64))
    user, team = make_participant(arena, username="dora")
    assert _login(live_server, monkeypatch, "dora", "pw-dora") == cli.DONE
    upload = tmp_path / "results.zip"
    upload.write_bytes(arena.submission_zip(noise=3))
    chunk = 4096
    assert upload.stat().st_size > 3 * chunk

    real_put = Api.put_bytes
    calls = {"n": 0}

    def flaky_put(self, path, data):
        calls["n"] += 1
        if calls["n"] == 2:  # the connection drops during the second chunk
            raise ApiError(0, "connection reset by peer")
        return real_put(self, path, data)

    monkeypatch.setattr(Api, "put_bytes", flaky_put)
    args = [
        "--server",
        live_server.url,
        "submit",
        str(arena.phase.pk),
        str(upload),
        "--method-name",
        "cli net",
        "--chunk-mb",
        str(chunk / (1 << 20)),
    ]
    assert cli.main(args) == cli.INTERRUPTED
    assert "run the same command again to resume" in capsys.readouterr().err
    session = UploadSession.objects.get(user=user)
    assert (session.status, session.received_bytes) == ("open", chunk)
    assert not Submission.objects.filter(team=team).exists()

    monkeypatch.setattr(Api, "put_bytes", real_put)
    assert cli.main(args) == cli.DONE
    out = capsys.readouterr()
    assert f"resuming results.zip at {chunk:,}" in out.err
    result = json.loads(out.out.strip().splitlines()[-1])
    assert result["status"] == "scored"
    assert result["scores"]["psnr"] == pytest.approx(arena.expected_psnr(noise=3), abs=1e-9)
    assert UploadSession.objects.filter(user=user).count() == 1  # resumed, not started again
    assert Submission.objects.get(team=team).method_name == "cli net"


def test_a_refused_submission_exits_non_zero_with_the_sites_reason(
    live_server, client_home, make_arena, make_user, monkeypatch, tmp_path, capsys
):
    arena = make_arena(images=1)
    make_user("loner")  # in no team
    assert _login(live_server, monkeypatch, "loner", "pw-loner") == cli.DONE
    upload = tmp_path / "results.zip"
    upload.write_bytes(arena.submission_zip())
    code = cli.main(["--server", live_server.url, "submit", str(arena.phase.pk), str(upload)])
    assert code == cli.FAILED
    assert "team" in capsys.readouterr().err


def test_status_of_a_failed_submission_exits_one_with_its_reason(
    live_server, client_home, make_arena, make_participant, monkeypatch, capsys
):
    from rb_test_helpers import scored_submission

    arena = make_arena(images=1)
    _, team = make_participant(arena, username="eve")
    failed = scored_submission(arena.phase, team, None)
    Submission.objects.filter(pk=failed.pk).update(
        status="failed", failure_kind="participant", failure_reason="0000.png: wrong size"
    )
    assert _login(live_server, monkeypatch, "eve", "pw-eve") == cli.DONE
    assert cli.main(["--server", live_server.url, "status", str(failed.pk)]) == cli.FAILED
    assert "0000.png: wrong size" in capsys.readouterr().err


def test_download_then_score_locally_gives_the_phases_numbers(
    live_server, client_home, make_arena, make_participant, monkeypatch, tmp_path, capsys
):
    import numpy as np
    from rb_test_helpers import install_phase_data, png_bytes, psnr_uint8

    arena = make_arena(images=2)
    arena.phase = install_phase_data(
        arena.phase, inputs={n: png_bytes(g // 2) for n, g in arena.ground_truth.items()}
    )
    make_participant(arena, username="fay")
    assert _login(live_server, monkeypatch, "fay", "pw-fay") == cli.DONE
    target = tmp_path / "dev"
    assert (
        cli.main(["--server", live_server.url, "download", str(arena.phase.pk), "--to", str(target)])
        == cli.DONE
    )
    assert sorted(p.name for p in (target / "inputs").rglob("*.png")) == sorted(arena.ground_truth)
    assert sorted(p.name for p in (target / "ground_truth").rglob("*.png")) == sorted(arena.ground_truth)
    spec = json.loads((target / "scoring-spec.json").read_text())
    assert spec["metrics"][:1] == ["psnr"]
    restored = arena.restored(noise=4, seed=2)
    results = tmp_path / "results.zip"
    results.write_bytes(arena.zip_of(restored))
    capsys.readouterr()
    assert cli.main(["score", str(results), "--phase-dir", str(target), "--json"]) == cli.DONE
    scored = json.loads(capsys.readouterr().out)
    expected = np.mean([psnr_uint8(restored[n], g) for n, g in arena.ground_truth.items()])
    assert scored["aggregates"]["psnr"] == pytest.approx(expected, abs=1e-9)


def test_a_hidden_phase_downloads_no_ground_truth_and_cannot_be_scored_locally(
    live_server, client_home, make_arena, make_participant, monkeypatch, tmp_path, capsys
):
    from rb_test_helpers import install_phase_data, png_bytes

    arena = make_arena(images=1, hidden_ground_truth=True)
    arena.phase = install_phase_data(
        arena.phase, inputs={n: png_bytes(g) for n, g in arena.ground_truth.items()}
    )
    make_participant(arena, username="gus")
    assert _login(live_server, monkeypatch, "gus", "pw-gus") == cli.DONE
    target = tmp_path / "test"
    assert (
        cli.main(["--server", live_server.url, "download", str(arena.phase.pk), "--to", str(target)])
        == cli.DONE
    )
    assert "ground truth: hidden" in capsys.readouterr().err
    assert not (target / "ground_truth").exists()
    assert cli.main(["score", str(tmp_path), "--phase-dir", str(target)]) == cli.USAGE


def test_the_restorebench_command_is_installed_with_the_project():
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    command = shutil.which("restorebench", path=str(Path(sys.executable).parent))
    assert command is not None
    shown = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "download" in shown.stdout and "submit" in shown.stdout


class _Terminal(__import__("io").StringIO):
    """What `submit` writes to stderr when a person watches it: a terminal."""

    def isatty(self) -> bool:
        return True


def test_submit_draws_a_progress_bar_on_a_terminal_and_none_in_a_log(
    live_server, client_home, make_arena, make_participant, monkeypatch, tmp_path
):
    arena = make_arena(images=3, size=(64, 64))
    make_participant(arena, username="piet")
    assert _login(live_server, monkeypatch, "piet", "pw-piet") == cli.DONE
    upload = tmp_path / "results.zip"
    upload.write_bytes(arena.submission_zip(noise=3))
    size, chunk = upload.stat().st_size, 4096
    args = ["--server", live_server.url, "submit", str(arena.phase.pk), str(upload), "--no-wait"]
    args += ["--chunk-mb", str(chunk / (1 << 20))]

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli.main(args) == cli.DONE
    # tqdm redraws one line with "\r" (at most every 0.1 s): the file's name, the percentage, bytes sent
    # of the total (unit_scale: 37573 bytes show as "37.6k").
    frames = [f for f in terminal.getvalue().split("\r") if f.startswith("results.zip:")]
    percents = [int(f.split(":")[1].split("%")[0]) for f in frames]
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents)
    total = f"{size / 1000:.3g}k"
    assert f" 0.00/{total} " in frames[0] and f" {total}/{total} " in frames[-1]

    log = __import__("io").StringIO()  # not a terminal (a CI log, a pipe): no bar, only the messages
    monkeypatch.setattr("sys.stderr", log)
    upload.write_bytes(arena.submission_zip(noise=4))  # another file: a new upload
    assert cli.main(args) == cli.DONE, log.getvalue()
    assert "results.zip:" not in log.getvalue() and "\r" not in log.getvalue()
    assert "submitted: submission" in log.getvalue()
