"""Reads for the organizer console: per-phase analytics (submissions per day, active teams, failure
reasons), the audit log and the evaluation problems, shaped for the pages."""

import datetime as dt
from collections import Counter

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from restorebench.challenges.models import Challenge, Phase
from restorebench.challenges.selectors import audit_log_list
from restorebench.submissions.models import Submission
from restorebench.submissions.selectors import evaluation_problem_list

DAYS = 14
TOP_REASONS = 5


def _reason_kind(reason: str) -> str:
    """The part of a failure reason that names the kind of problem (before a file's details)."""
    head = (reason or "unknown").strip().splitlines()[0]
    return head.split(":", 1)[-1].strip()[:120] if ":" in head else head[:120]


def phase_analytics(*, phase: Phase, today: dt.date | None = None) -> dict:
    """Submissions per day (last `DAYS` days, UTC), totals by status, active teams, top failure reasons."""
    today = today or timezone.now().date()
    first = today - dt.timedelta(days=DAYS - 1)
    teams = Submission.objects.filter(phase=phase, is_reference=False)
    per_day = dict(
        teams.filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    days = [first + dt.timedelta(days=i) for i in range(DAYS)]
    counts = [per_day.get(day, 0) for day in days]
    peak = max(counts) or 1
    totals = teams.aggregate(
        total=Count("id"),
        scored=Count("id", filter=Q(status="scored")),
        failed=Count("id", filter=Q(status="failed")),
        waiting=Count("id", filter=Q(status__in=("queued", "running"))),
        teams=Count("team", distinct=True),
        teams_week=Count("team", distinct=True, filter=Q(created_at__date__gt=today - dt.timedelta(days=7))),
    )
    reasons = Counter(
        _reason_kind(reason)
        for reason in teams.filter(status="failed").values_list("failure_reason", flat=True)
    )
    return {
        "phase": phase,
        "days": [
            {"day": day, "count": n, "percent": round(100 * n / peak)}
            for day, n in zip(days, counts, strict=True)
        ],
        "totals": totals,
        "reasons": reasons.most_common(TOP_REASONS),
    }


def challenge_console(*, challenge: Challenge) -> list[dict]:
    """Every track with its phases' analytics, in display order."""
    tracks = challenge.tracks.order_by("order", "id").prefetch_related("phases")
    return [
        {"track": track, "phases": [phase_analytics(phase=p) for p in track.phases.order_by("order", "id")]}
        for track in tracks
    ]


def audit_log_page(*, challenge: Challenge, limit: int = 500):
    return audit_log_list(challenge=challenge).select_related("actor")[:limit]


def evaluation_problems_page(*, challenge: Challenge, limit: int = 200):
    return evaluation_problem_list(challenge_id=challenge.pk)[:limit]
