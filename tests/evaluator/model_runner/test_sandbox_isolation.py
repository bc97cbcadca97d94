"""The sandbox is what it claims: the child dies with its parent, reads only its runtime and scratch
folder, has no network, and a host that cannot give these refuses model runs unless a weaker sandbox
is allowed explicitly. Each probe is also run without the layer, to show that the probe is real."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from evaluator.model_runner import RunLimits, SandboxUnavailableError, run_model_submission
from evaluator.model_runner.isolation import PARENT_GONE_EXIT
from evaluator.model_runner.sandbox import CHILD, PROJECT_ROOT
from evaluator.model_runner.scratch import SCRATCH_PREFIX

DENOISE_GRAY = {"task": "denoise", "color": "gray"}
ROOT = os.getuid() == 0


def _python(
    code: str, *args: str, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
        env=env,
    )


@pytest.fixture
def world_dir():
    """A folder `nobody` can reach (pytest's own tmp folders are private to root): the child drops to
    `nobody` when the tests run as root."""
    folder = Path(tempfile.mkdtemp(prefix="rb-sandbox-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and str(CHILD).encode() in cmdline:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --- parent death ---------------------------------------------------------------------------------

RUN_FOREVER = """
    import sys
    from evaluator.model_runner import RunLimits, run_model_submission
    model, inputs, out = sys.argv[1:4]
    manifest = {"task": "denoise", "color": "gray"}
    run_model_submission(model, manifest, inputs, out, RunLimits(wall_seconds=600))
"""


def test_a_model_run_dies_within_seconds_when_the_process_that_started_it_is_killed(
    tmp_path, models, gray_inputs, world_dir
):
    scratch_root = world_dir
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(RUN_FOREVER),
            str(models.loop(10**12)),
            str(gray_inputs),
            str(tmp_path / "out"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TMPDIR": str(scratch_root)},
    )
    try:
        deadline = time.monotonic() + 60
        while not (children := _children_of(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children, "the run's child process never started"
        time.sleep(1.0)  # well into the run: isolated, confined and busy in the model
        assert _alive(children[0])
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(children[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(children[0]), "the sandboxed child outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        for pid in _children_of(parent.pid):
            os.kill(pid, signal.SIGKILL)
    # The killed run left its scratch folder; it names a dead owner, so the sweep takes it.
    from evaluator.model_runner.scratch import sweep_stale_scratch

    left = [p for p in scratch_root.iterdir() if p.name.startswith(SCRATCH_PREFIX)]
    assert len(left) == 1
    assert sweep_stale_scratch(scratch_root) == left and not left[0].exists()


def test_the_child_exits_at_once_when_its_parent_is_already_gone(tmp_path):
    """The parent may die between the fork and the arming of the signal: then the child has another
    parent already, and must not start at all."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "job.json").write_text("{}")
    not_our_parent = str(os.getppid())  # any live process but the one that starts the child
    result = subprocess.run(
        [sys.executable, "-I", "-B", str(CHILD), str(scratch / "job.json"), not_our_parent],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == PARENT_GONE_EXIT, result.stderr
    assert not (scratch / "events.jsonl").exists()


# --- isolation record -----------------------------------------------------------------------------


def test_a_model_run_records_the_isolation_it_had(tmp_path, models, gray_inputs):
    report = run_model_submission(models.box_blur(), DENOISE_GRAY, gray_inputs, tmp_path / "out")
    assert report.ok, report.error
    assert report.sandbox["isolation"] == {
        "network": "netns",
        "filesystem": "landlock",
        "parent_death": "pdeathsig",
        "user": "nobody" if ROOT else "unprivileged",
    }
    assert json.loads(json.dumps(report.to_dict()))["sandbox"]["isolation"] == report.sandbox["isolation"]


def test_a_layer_turned_off_refuses_the_run_unless_a_weaker_sandbox_is_allowed(tmp_path, models, gray_inputs):
    model = models.box_blur()
    with pytest.raises(
        SandboxUnavailableError, match=r"sandbox is incomplete \(network: disabled by the caller\)"
    ):
        run_model_submission(
            model, DENOISE_GRAY, gray_inputs, tmp_path / "out", RunLimits(isolate_network=False)
        )
    assert not (tmp_path / "out" / "a.png").exists()  # refused before the model was opened
    weak = RunLimits(isolate_network=False, allow_weak_sandbox=True)
    report = run_model_submission(model, DENOISE_GRAY, gray_inputs, tmp_path / "out", weak)
    assert report.ok and report.sandbox["isolation"]["network"] == "none"
    assert report.sandbox["isolation"]["filesystem"] == "landlock"


# A host that forbids namespaces and Landlock (as a container's default seccomp profile may): the
# parent runs under a seccomp filter that fails unshare(2) with EPERM and landlock_create_ruleset(2)
# with ENOSYS; the child inherits it.
HOSTILE_HOST = """
    import ctypes, json, sys
    from evaluator.model_runner import RunLimits, SandboxUnavailableError, run_model_submission

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Filter))]

    LD_NR, JEQ, RET = 0x20, 0x15, 0x06
    ALLOW, ERRNO = 0x7FFF0000, 0x00050000
    UNSHARE, LANDLOCK_CREATE_RULESET = 272, 444  # x86-64
    prog = (Filter * 6)(
        Filter(LD_NR, 0, 0, 0),  # the system call number
        Filter(JEQ, 2, 0, UNSHARE),  # -> 4
        Filter(JEQ, 2, 0, LANDLOCK_CREATE_RULESET),  # -> 5
        Filter(RET, 0, 0, ALLOW),
        Filter(RET, 0, 0, ERRNO | 1),  # EPERM
        Filter(RET, 0, 0, ERRNO | 38),  # ENOSYS
    )
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.byref(Program(6, prog)), 0, 0) == 0  # PR_SET_SECCOMP, FILTER
    model, inputs, out, weak = sys.argv[1:5]
    try:
        report = run_model_submission(model, {"task": "denoise", "color": "gray"}, inputs, out,
                                      RunLimits(allow_weak_sandbox=weak == "1"))
        print(json.dumps({"ok": report.ok, "isolation": report.sandbox["isolation"]}))
    except SandboxUnavailableError as exc:
        print(json.dumps({"refused": str(exc), "isolation": exc.isolation}))
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the seccomp filter uses x86-64 syscall numbers")
def test_a_host_without_namespaces_or_landlock_refuses_model_runs_with_an_operator_error(
    tmp_path, models, gray_inputs
):
    model = str(models.box_blur())
    strict = _python(HOSTILE_HOST, model, str(gray_inputs), str(tmp_path / "out"), "0")
    outcome = json.loads(strict.stdout.strip().splitlines()[-1])
    message = outcome["refused"]
    assert "model runs are refused on this host" in message
    assert "network: unshare(CLONE_NEWNET) failed (Operation not permitted)" in message
    assert "filesystem: Landlock is not available on this kernel" in message
    assert "RESTOREBENCH_SANDBOX_ALLOW_WEAK=1" in message
    assert str(tmp_path) not in message and "/tmp" not in message  # no server paths
    assert not (tmp_path / "out" / "a.png").exists()

    weak = _python(HOSTILE_HOST, model, str(gray_inputs), str(tmp_path / "out"), "1")
    outcome = json.loads(weak.stdout.strip().splitlines()[-1])
    assert outcome["ok"] is True
    assert outcome["isolation"]["network"] == "none" and outcome["isolation"]["filesystem"] == "none"
    assert outcome["isolation"]["parent_death"] == "pdeathsig"


# --- network --------------------------------------------------------------------------------------

NETWORK_PROBE = """
    import importlib.util, socket, sys
    spec = importlib.util.spec_from_file_location("isolation", sys.argv[1])
    isolation = importlib.util.module_from_spec(spec); spec.loader.exec_module(isolation)
    kind, _ = isolation.isolate_network(sys.argv[3] == "1")
    s = socket.socket(); s.settimeout(2)
    print(kind, "connected" if s.connect_ex(("127.0.0.1", int(sys.argv[2]))) == 0 else "unreachable")
"""


def _network_probe(isolate: bool) -> tuple[str, str]:
    """Connect, from a process set up as the child is, to a server this test owns on the host's
    loopback. Returns (isolation kind, outcome)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        isolation = str(CHILD.parent / "isolation.py")
        port = str(server.getsockname()[1])
        result = _python(NETWORK_PROBE, isolation, port, "1" if isolate else "0", timeout=30)
    finally:
        server.close()
    kind, outcome = result.stdout.split()
    return kind, outcome


def test_the_childs_network_namespace_cannot_reach_a_server_on_the_hosts_loopback():
    assert _network_probe(isolate=True) == ("netns", "unreachable")


def test_the_network_probe_reaches_that_server_without_the_namespace():
    assert _network_probe(isolate=False) == ("none", "connected")


# --- filesystem -----------------------------------------------------------------------------------

FILESYSTEM_PROBE = """
    import importlib.util, json, os, sys
    spec = importlib.util.spec_from_file_location("child", sys.argv[1])
    child = importlib.util.module_from_spec(spec); spec.loader.exec_module(child)
    job = json.loads(sys.argv[2])
    job["parent_pid"] = os.getppid()  # the test process started us
    job["isolation"] = {"network": "netns", "parent_death": "pdeathsig"}
    job["isolation_details"] = {"network": "-", "parent_death": "-"}
    child.isolation.set_no_new_privs()
    child._confine(job, gpu=False)

    def attempt(action):
        try:
            action()
            return "ok"
        except OSError as exc:
            return type(exc).__name__

    paths = json.loads(sys.argv[3])
    def write(path):
        with open(path, "w") as f:
            f.write("x")
    def read(path):
        with open(path, "rb") as f:
            f.read()
    print(json.dumps({
        "read_secret": attempt(lambda: read(paths["secret"])),
        "read_ground_truth": attempt(lambda: read(paths["ground_truth"])),
        "list_hidden": attempt(lambda: os.listdir(paths["hidden"])),
        "write_outside": attempt(lambda: write(paths["outside"])),
        "write_scratch": attempt(lambda: write(paths["inside"])),
        "read_scratch": attempt(lambda: read(paths["inside"])),
    }))
"""


def _filesystem_probe(base: Path, restrict: bool) -> dict:
    """What a process confined as the child is can read and write: files outside its scratch folder
    that its uid may read and write (so only the sandbox stands in the way), and its scratch folder."""
    hidden = base / "storage" / "hidden"
    hidden.mkdir(parents=True)
    (hidden / "0001.png").write_bytes(b"\x89PNG ground truth")
    secret = base / "shadow"
    secret.write_text("root:$6$secret")
    outside = base / "public"
    outside.mkdir()
    scratch = base / "scratch"
    scratch.mkdir()
    for p in (base, base / "storage", hidden, outside, scratch):
        p.chmod(0o777)
    for p in (secret, hidden / "0001.png"):
        p.chmod(0o666)
    job = {
        "restrict_filesystem": restrict,
        "allow_weak_sandbox": not restrict,
        "project_root": str(PROJECT_ROOT),
        "scratch": str(scratch),
        "drop_to": [65534, 65534] if ROOT else None,
        "limits": {},
    }
    paths = {
        "secret": str(secret),
        "ground_truth": str(hidden / "0001.png"),
        "hidden": str(hidden),
        "outside": str(outside / "leak.txt"),
        "inside": str(scratch / "out.txt"),
    }
    result = _python(FILESYSTEM_PROBE, str(CHILD), json.dumps(job), json.dumps(paths), timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_child_can_read_and_write_only_its_scratch_folder(world_dir):
    assert _filesystem_probe(world_dir, restrict=True) == {
        "read_secret": "PermissionError",
        "read_ground_truth": "PermissionError",
        "list_hidden": "PermissionError",
        "write_outside": "PermissionError",
        "write_scratch": "ok",
        "read_scratch": "ok",
    }


def test_the_filesystem_probe_reads_and_writes_outside_without_landlock(world_dir):
    assert _filesystem_probe(world_dir, restrict=False) == {
        "read_secret": "ok",
        "read_ground_truth": "ok",
        "list_hidden": "ok",
        "write_outside": "ok",
        "write_scratch": "ok",
        "read_scratch": "ok",
    }
