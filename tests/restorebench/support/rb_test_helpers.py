"""Helpers for the platform's tests (imported by tests and conftest): PNG and zip builders, an
independent PSNR, the `Arena` a test plays in, worker subprocesses and polling."""

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]


def stored_files(var_dir: Path) -> list[Path]:
    """Every file under storage/ (tests compare the list before and after a refused upload)."""
    root = var_dir / "storage"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


class RecordingUploadHandler:
    """Stands in for Django's upload handlers (settings.FILE_UPLOAD_HANDLERS) and records each chunk
    of a request's body it is given: a request refused before its body is read records nothing."""

    chunks: list[int] = []

    def __new__(cls, request=None):
        from django.core.files.uploadhandler import TemporaryFileUploadHandler

        class Recording(TemporaryFileUploadHandler):
            def receive_data_chunk(self, raw_data, start):
                cls.chunks.append(len(raw_data))
                return super().receive_data_chunk(raw_data, start)

        return Recording(request)


# --- images and zips ------------------------------------------------------------------------------


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def install_phase_data(
    phase, *, inputs: dict[str, bytes] | None = None, ground_truth: dict[str, bytes] | None = None, actor=None
):
    """Install files (relative name -> bytes) as the phase's inputs and/or ground truth the way the
    platform does (`phase_data_install` into the phase's own area); return the refreshed phase."""
    import tempfile

    from django.conf import settings
    from restorebench.challenges.phase_data import phase_data_install

    sources = {}
    scratch = Path(settings.RESTOREBENCH_STORAGE_DIR) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as source:
        for kind, files in (("inputs_src", inputs), ("ground_truth_src", ground_truth)):
            if files is None:
                continue
            sources[kind] = Path(source) / kind
            for name, data in files.items():
                (sources[kind] / name).parent.mkdir(parents=True, exist_ok=True)
                (sources[kind] / name).write_bytes(data)
        return phase_data_install(
            phase=phase,
            inputs_src=sources.get("inputs_src"),
            ground_truth_src=sources.get("ground_truth_src"),
            actor=actor,
        )


def patch_central_directory(
    data: bytes, *, version_needed: int | None = None, flag_bits: int = 0, name: bytes | None = None
) -> bytes:
    """A copy of the zip `data` whose first central-directory entry has another "version needed to
    extract", extra general-purpose flag bits, or another file name of the same length (bytes)."""
    out = bytearray(data)
    at = out.index(b"PK\x01\x02")
    if version_needed is not None:
        out[at + 6 : at + 8] = version_needed.to_bytes(2, "little")
    flags = int.from_bytes(out[at + 8 : at + 10], "little") | flag_bits
    out[at + 8 : at + 10] = flags.to_bytes(2, "little")
    if name is not None:
        length = int.from_bytes(out[at + 28 : at + 30], "little")
        assert len(name) == length, "same length only: the offsets after the name must not move"
        out[at + 46 : at + 46 + length] = name
    return bytes(out)


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images, peak 255 (independent of the evaluator)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


@dataclass
class Arena:
    """A challenge with one track and phase, real ground-truth PNGs in the hidden folder, and helpers
    to make restored-image zips of chosen quality."""

    challenge: object
    track: object
    phase: object
    organizer: object
    ground_truth: dict[str, np.ndarray]
    seed: int = 0
    _noise: dict = field(default_factory=dict)

    def restored(self, noise: int, seed: int = 1) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        out = {}
        for name, gt in self.ground_truth.items():
            delta = rng.integers(-noise, noise + 1, size=gt.shape) if noise else 0
            out[name] = np.clip(gt.astype(np.int64) + delta, 0, 255).astype(np.uint8)
        return out

    def zip_of(self, images: dict[str, np.ndarray]) -> bytes:
        return make_zip({name: png_bytes(a) for name, a in images.items()})

    def submission_zip(self, noise: int = 4, seed: int = 1) -> bytes:
        return self.zip_of(self.restored(noise, seed))

    def expected_psnr(self, noise: int = 4, seed: int = 1) -> float:
        restored = self.restored(noise, seed)
        return float(np.mean([psnr_uint8(restored[n], gt) for n, gt in self.ground_truth.items()]))


class WorkerProcess:
    """A `celery worker` subprocess (solo pool) on the real broker, consuming `queues`."""

    def __init__(self, *, name: str, queues: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.queues, self.env, self.log_path = name, queues, env, log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> "WorkerProcess":
        log = open(self.log_path, "ab")
        command = [
            sys.executable, "-m", "celery", "-A", "restorebench.celery_app", "worker",
            "-Q", ",".join(self.queues), "--pool=solo", "--concurrency=1",
            "-n", f"{self.name}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--loglevel=INFO",
        ]  # fmt: skip
        start_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited early:\n{self.log_tail()}")
            with open(self.log_path, "rb") as handle:
                handle.seek(start_offset)
                if b" ready." in handle.read():
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"worker {self.name} did not become ready:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as when a machine dies: no warm shutdown, no acknowledgement."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def wait_for(
    predicate: Callable[[], object], *, timeout: float = 60, every: float = 0.2, why: str = ""
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {why or predicate}")


def wait_for_submission(submission_id: int, *, worker: WorkerProcess | None = None, timeout: float = 90):
    from restorebench.submissions.models import Submission

    final = {"scored", "failed", "cancelled"}

    def done():
        s = Submission.objects.get(pk=submission_id)
        return s if s.status in final else None

    try:
        return wait_for(done, timeout=timeout, why=f"submission {submission_id} to finish")
    except AssertionError as error:
        tail = worker.log_tail() if worker else ""
        raise AssertionError(f"{error}\n--- worker log ---\n{tail}") from None


def scored_submission(
    phase, team, scores: dict, *, method_name: str = "", fingerprint: str | None = None, **fields
):
    """A submission row as the pipeline leaves it once scored (for tests of what is read from it)."""
    from restorebench.submissions.models import Submission

    return Submission.objects.create(
        phase=phase,
        team=team,
        is_reference=team is None,
        method_name=method_name,
        archive_path="submissions/none.zip",
        archive_bytes=1,
        sha256="0" * 64,
        content_fingerprint=fingerprint or f"fp-{time.monotonic_ns()}",
        image_count=1,
        status="scored",
        scores=scores,
        **fields,
    )
