"""Private PostgreSQL and Redis servers for fault tests: each runs from a fresh temporary folder on a
free port of 127.0.0.1, so a test may stop and restart it without touching the machine's shared
services (PostgreSQL 5432, Redis 6379, RabbitMQ 5672 are never stopped)."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(predicate, timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout}s waiting for {why}")


class PrivatePostgres:
    """A throwaway cluster (initdb, pg_ctl) with trust authentication on 127.0.0.1:<port>. Under root
    it runs as the `postgres` user, since the server refuses to run as root."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1])
        self.root = Path(tempfile.mkdtemp(prefix="rb-private-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}\n{self.log_tail()}")

    def init(self) -> "PrivatePostgres":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self.start()

    def start(self) -> "PrivatePostgres":
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                  "start")  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (as an operator's restart does); `immediate` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server subprocess on 127.0.0.1:<port>. With `appendonly`, every write is fsynced to the
    append-only file, so queued messages survive a restart (what docs/deployment.md asks of a Redis
    broker)."""

    def __init__(self, *, appendonly: bool = True) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rb-private-redis-"))
        self.port = free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "PrivateRedis":
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
            "--save", "", "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always",
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait(lambda: _answers(self.port), timeout, f"redis on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.process.wait(timeout=30)
        _wait(lambda: not _answers(self.port), 30, f"redis on port {self.port} to stop")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def destroy(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
