"""The child process's life, seen from the parent: start it, watch it, reap it, say why it ended.

`start_child` runs `python -I -B child.py SCRATCH/job.json PARENT_PID` with a minimal environment, no
stdin, the scratch folder as working directory and its own process group (in the caller's session).
`watch_child` polls it every `poll_seconds`: it reads the child's event log (SCRATCH/events.jsonl, one
JSON object per line), hands each output to `on_image`, and kills the whole group with SIGKILL at the
wall-time deadline or above the resident-memory ceiling. The child kills itself if the parent dies
(see isolation.arm_parent_death), so no run outlives its worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.model_runner.limits import RunLimits, RunReport
from evaluator.model_runner.outputs import OutputRefused

CHILD = Path(__file__).resolve().parent / "child.py"
_PASS_ENV = ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REFUSED_EXIT = 4  # the child refused to run: its sandbox is weaker than the caller allows


@dataclass
class ChildOutcome:
    """How the child ended: its wait status, rusage, the parent's kill reason or the child's own error,
    the refusal of a weak sandbox, the images done and the peak resident memory seen."""

    status: int = 0
    usage: Any = None
    killed: tuple[str, str, str | None] | None = None
    child_error: dict[str, Any] | None = None
    refused: dict[str, Any] | None = None
    done: int = 0
    peak_rss: int = 0


def child_env(scratch: Path, threads: int) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
    }
    env.update({k: os.environ[k] for k in _PASS_ENV if k in os.environ})
    return env


def start_child(scratch: Path, job_path: Path, threads: int) -> subprocess.Popen:
    with (scratch / "child.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-I", "-B", str(CHILD), str(job_path), str(os.getpid())],
            cwd=scratch,
            env=child_env(scratch, threads),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group (killpg takes the whole group) but the caller's session: a new
            # session would be a new scheduler autogroup, competing at nice 0 whatever the caller's
            # niceness, so a model started by a niced worker would outrun the worker itself.
            process_group=0,
            close_fds=True,
        )


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _EventLog:
    """Whole JSON lines appended to the child's event log since the last read."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.buffer = path, 0, b""

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        self.offset += len(chunk)
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")
        return [json.loads(line) for line in lines]


def _record_event(event: dict[str, Any], report: RunReport, outcome: ChildOutcome) -> None:
    kind = event.get("event")
    if kind in ("sandbox", "loaded", "refused"):
        isolation = report.sandbox.setdefault("isolation", {})
        isolation.update(event.get("isolation") or {})
    if kind == "sandbox":
        report.sandbox.update({k: v for k, v in event.items() if k not in ("event", "isolation")})
    elif kind == "loaded":
        report.provider = event["provider"]
        report.runtime_clock = event.get("clock")
        report.sandbox.update({k: event[k] for k in ("user", "limits", "filesystem") if k in event})
    elif kind == "profile":
        report.profile = {k: v for k, v in event.items() if k != "event"}
    elif kind == "refused":
        outcome.refused = event
    elif kind == "error":
        outcome.child_error = event


def watch_child(
    proc: subprocess.Popen,
    scratch: Path,
    limits: RunLimits,
    report: RunReport,
    inputs: list[Path],
    on_image: Callable[[dict[str, Any]], None],
) -> ChildOutcome:
    """Poll the child until it exits; `on_image(event)` validates one output (raising OutputRefused
    kills the run). Returns how it ended; the child is always dead and reaped afterwards."""
    outcome = ChildOutcome()
    events = _EventLog(scratch / "events.jsonl")
    deadline = time.monotonic() + limits.wall_seconds

    def kill(kind: str, message: str, image: str | None) -> None:
        outcome.killed = (kind, message, image)
        killpg(proc.pid)

    try:
        while True:
            pid, outcome.status, outcome.usage = os.wait4(proc.pid, os.WNOHANG)
            for event in events.read():
                outcome.peak_rss = max(outcome.peak_rss, int(event.get("peak_rss", 0)))
                _record_event(event, report, outcome)
                if event.get("event") == "image" and outcome.killed is None:
                    try:
                        if int(event["index"]) != outcome.done:
                            raise OutputRefused(
                                "crash", f"the child reported image {event['index']} out of order"
                            )
                        on_image(event)
                    except OutputRefused as exc:
                        kill(exc.kind, str(exc), exc.image)
                        continue
                    outcome.done += 1
            if pid != 0:
                return outcome
            current = inputs[outcome.done].name if outcome.done < len(inputs) else None
            if outcome.killed is None and time.monotonic() > deadline:
                kill(
                    "wall_time",
                    f"the model exceeded the wall-time limit of {limits.wall_seconds:g} s after "
                    f"{outcome.done} of {len(inputs)} image(s); the process group was killed",
                    current,
                )
            rss = rss_bytes(proc.pid) if outcome.killed is None else 0
            outcome.peak_rss = max(outcome.peak_rss, rss)
            if rss > limits.memory_bytes:
                kill(
                    "memory",
                    f"the model used {rss / 2**20:.0f} MiB of resident memory, above the limit of "
                    f"{limits.memory_bytes / 2**20:.0f} MiB; the process group was killed",
                    current,
                )
            time.sleep(limits.poll_seconds)
    finally:
        killpg(proc.pid)  # leftovers of the group, whatever happened
        if proc.returncode is None:
            try:
                _, outcome.status, outcome.usage = os.wait4(proc.pid, 0)
            except ChildProcessError:
                pass
        proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again


def describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.WEXITSTATUS(status)}"


def _log_tail(log_path: Path) -> str:
    try:
        text = log_path.read_bytes()[-600:].decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f"; last output: {text}" if text else ""


def diagnose(
    outcome: ChildOutcome, report: RunReport, job: dict[str, Any], log_path: Path, inputs: list[Path]
) -> tuple[str, str, str | None] | None:
    """(error_kind, message, image) of a run that went wrong, or None."""
    if outcome.killed is not None:
        return outcome.killed
    status, done = outcome.status, outcome.done
    where = inputs[done].name if done < len(inputs) else None
    at = f" while processing {where} (image {done + 1} of {len(inputs)})" if where else ""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        cpu_limit = job["limits"]["cpu_seconds"]
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and report.cpu_seconds >= cpu_limit):
            return ("cpu_time", f"the model exceeded the CPU-time limit of {cpu_limit} s{at}", where)
        if sig == signal.SIGXFSZ:
            return (
                "file_size",
                f"the model process exceeded the file-size limit of {job['limits']['file_bytes']} bytes{at}",
                where,
            )
        return (
            "crash",
            f"the model process crashed ({signal.Signals(sig).name}){at}{_log_tail(log_path)}",
            where,
        )
    code = os.WEXITSTATUS(status)
    if outcome.child_error is not None:
        error = outcome.child_error
        return (error["kind"], error["message"], error.get("image") or where)
    if code != 0:
        return ("crash", f"the model process exited with status {code}{at}{_log_tail(log_path)}", where)
    if done != len(inputs):
        return (
            "crash",
            f"the model process exited after {done} of {len(inputs)} image(s) without an error",
            None,
        )
    return None
