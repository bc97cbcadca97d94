"""Template filters for the pages: UTC times stated as such, scores at a fixed precision, sizes."""

import datetime as dt
import json

from django import template

register = template.Library()


@register.filter
def utc(value: dt.datetime | str | None) -> str:
    """`2026-01-01 09:00 UTC` (every time on the site is shown in UTC and says so)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@register.filter
def score(value: float | None, decimals: int = 4) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):.{int(decimals)}f}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def filesize(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@register.filter
def count(value: int | None) -> str:
    """A parameter count as NTIRE factsheets give it: 1.23 M, 57.3 K."""
    if value is None or value == "":
        return "—"
    n = float(value)
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    if n >= 1e3:
        return f"{n / 1e3:.1f} K"
    return f"{n:.0f}"


def _in_unit(value: int | float | None, unit: float) -> str:
    """`value` in a fixed unit (one unit per column): three decimals, or three significant digits
    below 0.01 (0.000435, not 0.000)."""
    if value is None or value == "":
        return "—"
    v = float(value) / unit
    return f"{v:.3f}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}"


@register.filter
def millions(value: int | None) -> str:
    """A parameter count in millions (the leaderboard's "Params (M)")."""
    return _in_unit(value, 1e6)


@register.filter
def giga(value: int | None) -> str:
    """FLOPs in billions (the leaderboard's "GFLOPs")."""
    return _in_unit(value, 1e9)


@register.filter
def percent(done: int, total: int) -> int:
    try:
        return int(100 * int(done) / int(total)) if int(total) else 0
    except (TypeError, ValueError):
        return 0


@register.filter
def json_text(value: object) -> str:
    """A JSON value as compact text (audit-log details)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
