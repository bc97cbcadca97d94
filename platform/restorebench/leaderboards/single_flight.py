"""One computation per cache key at a time: when a key is missing (a write moved the phase's version,
so every board of the phase is cold at once), the first request computes and stores it while the
others that miss it meanwhile wait for that value instead of each computing it again.

Without it, every leaderboard request that arrives during the first computation (tens of ms, longer on
busy cores) computes the same board: under load a single submission's version change cost the site
hundreds of ms of CPU in a burst, and every page, however cheap, waited behind it.

The claim is a cache entry added atomically (`cache.add`) beside the key: shared by all processes with
a shared cache (Redis, as in production), per process with the in-memory cache. A waiter polls for the
value and computes it itself if the claim goes away without one (the computer failed) or after
`wait_s` (a computer that hangs or died: the claim also expires after `claim_s`), so no request can
wait on another for longer than that.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")

CLAIM_SECONDS = 30
WAIT_SECONDS = 10.0
_POLL_SECONDS = (0.005, 0.01, 0.02, 0.04)  # then every 0.04 s


def cache_get_or_compute(
    key: str,
    compute: Callable[[], T],
    timeout: float,
    *,
    wait_s: float = WAIT_SECONDS,
    claim_s: int = CLAIM_SECONDS,
) -> T:
    """The value cached under `key`; on a miss computed by `compute` (which must not return None) and
    cached for `timeout` seconds, by one caller at a time: concurrent misses wait for its value."""
    value = cache.get(key)
    if value is not None:
        return value
    claim = f"{key}:computing"
    claimed = cache.add(claim, 1, timeout=claim_s)
    if not claimed:
        value = _wait_for(key, claim, wait_s)
        if value is not None:
            return value
        claimed = cache.add(claim, 1, timeout=claim_s)  # computing it ourselves: others may wait on us
    try:
        value = compute()
        cache.set(key, value, timeout)
    finally:
        if claimed:
            cache.delete(claim)
    return value


def _wait_for(key: str, claim: str, wait_s: float) -> object | None:
    """The value once another caller has stored it; None when its claim went away without a value or
    `wait_s` passed."""
    deadline = time.monotonic() + wait_s
    step = 0
    while time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS[min(step, len(_POLL_SECONDS) - 1)])
        step += 1
        found = cache.get_many([key, claim])
        if found.get(key) is not None:
            return found[key]
        if claim not in found:
            return cache.get(key)
    return None
