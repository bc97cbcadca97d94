"""Attempt counters for sign-in, API tokens and sign-up: per client address and per account name.

Fixed windows in the Django cache (Redis in production, so that every web process counts together).
Every attempt counts, right or wrong, so a guesser cannot learn anything from which attempts were
throttled. Used by the API views (as DRF's `Throttled`, which answers 429 with Retry-After) and by
the pages (a 429 page with the same header).
"""

import hashlib
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    window_s: int


def parse_rate(text: str) -> Rate:
    """'10/minute' → Rate(10, 60). Units: second, minute, hour, day (or their first letter)."""
    count, _, unit = text.partition("/")
    unit = unit.strip().lower()
    window = _UNITS.get(unit) or next((s for u, s in _UNITS.items() if unit and u.startswith(unit)), None)
    if not count.strip().isdigit() or window is None:
        raise ValueError(f"rate {text!r}: use N/second, N/minute, N/hour or N/day")
    return Rate(int(count), window)


def client_address(request: HttpRequest) -> str:
    """The client's address: the socket's, or, behind RESTOREBENCH_TRUSTED_PROXIES proxies, the entry of
    X-Forwarded-For that the outermost trusted proxy appended (entries further left are the client's
    own claims and can be forged)."""
    proxies = settings.RESTOREBENCH_TRUSTED_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies > 0 and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def throttle_hit(*, scope: str, idents: Iterable[str], rate: Rate) -> int | None:
    """Count one attempt under each identity; the seconds to wait when any is over `rate`, else None."""
    now = time.time()
    window = int(now // rate.window_s)
    over = False
    for ident in idents:
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        key = f"rb-throttle:{scope}:{rate.window_s}:{window}:{digest}"
        cache.add(key, 0, timeout=rate.window_s + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this is the window's first attempt
            cache.add(key, 1, timeout=rate.window_s + 1)
            count = 1
        over = over or count > rate.count
    if not over:
        return None
    return max(1, math.ceil((window + 1) * rate.window_s - now))


def sign_in_wait(request: HttpRequest, username: str | None) -> int | None:
    """Count a sign-in or token attempt; seconds to wait when the address or the account is over its rate."""
    idents = [f"addr:{client_address(request)}"]
    if username:
        idents.append(f"user:{username.strip().lower()}")
    return throttle_hit(scope="sign-in", idents=idents, rate=parse_rate(settings.RESTOREBENCH_THROTTLE_LOGIN))


def sign_up_wait(request: HttpRequest) -> int | None:
    """Count a sign-up attempt; seconds to wait when the client address is over its rate."""
    return throttle_hit(
        scope="sign-up",
        idents=[f"addr:{client_address(request)}"],
        rate=parse_rate(settings.RESTOREBENCH_THROTTLE_SIGNUP),
    )
