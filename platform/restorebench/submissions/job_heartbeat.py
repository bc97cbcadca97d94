"""Liveness of a running job: the conditional heartbeat write, and the side thread that makes it while
the scorer works (and gives the claim up when the job runs past its time limit)."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from restorebench.submissions.models import EvaluationJob, JobStatus

log = logging.getLogger("restorebench.submissions.jobs")


class JobAbandoned(Exception):
    """Raised inside a running job when it is no longer this worker's (cancelled or taken over)."""


def evaluation_job_heartbeat(*, job_id: int, token: int, done: int, total: int) -> bool:
    """Record liveness and progress; False when the job is no longer held by this claim."""
    updated = EvaluationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=token).update(
        heartbeat_at=timezone.now(), progress_done=max(0, int(done)), progress_total=max(0, int(total))
    )
    return updated == 1


class JobHeartbeat(threading.Thread):
    """Writes the job's heartbeat and progress from a side thread, so a long step of the scoring
    function (one huge image) still shows the worker alive. If the claim is lost, `progress` raises
    JobAbandoned the next time the scorer reports."""

    def __init__(
        self,
        *,
        job_id: int,
        token: int,
        every_s: float,
        time_limit_s: float,
        on_time_limit: Callable[[str], object],
    ) -> None:
        super().__init__(name=f"heartbeat-job-{job_id}", daemon=True)
        self.job_id, self.token, self.every_s, self.time_limit_s = job_id, token, every_s, time_limit_s
        self.on_time_limit = on_time_limit
        self.done = self.total = 0
        self._reported = (-1, -1)
        self._stop_event = threading.Event()
        self.lost = threading.Event()

    def progress(self, done: int, total: int, *args: Any, **kwargs: Any) -> None:
        self.done, self.total = int(done), int(total)
        if self.lost.is_set():
            raise JobAbandoned(f"job {self.job_id} is no longer held by this worker")

    def run(self) -> None:
        started = last = time.monotonic()
        try:
            while not self._stop_event.wait(min(1.0, self.every_s)):
                try:
                    if time.monotonic() - started > self.time_limit_s:
                        self.on_time_limit(f"exceeded the time limit of {self.time_limit_s:g} s")
                        self.lost.set()
                        return
                    changed = (self.done, self.total) != self._reported
                    if changed or time.monotonic() - last >= self.every_s:
                        last = time.monotonic()
                        if not evaluation_job_heartbeat(
                            job_id=self.job_id, token=self.token, done=self.done, total=self.total
                        ):
                            self.lost.set()
                            return
                        self._reported = (self.done, self.total)
                except (OperationalError, InterfaceError) as error:
                    # The database restarted or failed over: keep beating on a new connection, or
                    # the reaper would take a live job for a dead one and hand it to another worker.
                    log.warning("heartbeat of job %s: database unavailable (%s)", self.job_id, error)
                    connection.close()
        except Exception:  # anything else must not kill the job; the reaper judges staleness
            log.exception("heartbeat of job %s failed", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
