"""Reading typed fields out of a located bundle: each reader records a problem (with the field's path
and line) and returns a default, so that every problem of a bundle is reported, not only the first."""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from restorebench.bundles.definitions import Problem
from restorebench.bundles.source import FieldPath, Located
from restorebench.challenges.track_specs import value_kind

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


class _Slugged(Protocol):
    slug: str


Slugged = TypeVar("Slugged", bound=_Slugged)


class FieldChecker:
    """Reads values out of the located data, recording a problem (and returning a default) on error."""

    def __init__(self, located: Located, base_dir: Path | None = None) -> None:
        self.located = located
        self.base_dir = base_dir  # the bundle file's folder: organizer data must stay inside it
        self.problems: list[Problem] = []

    def problem(self, path: FieldPath, message: str) -> None:
        self.problems.append(Problem(tuple(path), self.located.line_of(path), message))

    def mapping(
        self, value: Any, path: FieldPath, allowed: set[str], required: set[str] = frozenset()
    ) -> dict:
        if not isinstance(value, dict):
            self.problem(path, f"must be a mapping of fields, got {value_kind(value)}")
            return {}
        for key in sorted(set(value) - allowed):
            self.problem((*path, key), f"unknown field; allowed here: {', '.join(sorted(allowed))}")
        for key in sorted(required - set(value)):
            self.problem((*path, key), "is required")
        return value

    def text(
        self, data: dict, key: str, path: FieldPath, *, required: bool = False, max_length: int = 200
    ) -> str:
        if key not in data:
            return ""  # `mapping` reported it when required
        value = data[key]
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem((*path, key), f"must be a non-empty text, got {value_kind(value)}")
            return ""
        if len(value) > max_length:
            self.problem((*path, key), f"is {len(value)} characters long; at most {max_length}")
        return value.strip()

    def slug(self, data: dict, key: str, path: FieldPath) -> str:
        value = self.text(data, key, path, required=True, max_length=64)
        if value and not SLUG.match(value):
            self.problem((*path, key), f"{value!r} is not a slug (letters, digits, '-' and '_' only)")
        return value

    def flag(self, data: dict, key: str, path: FieldPath, default: bool | None) -> bool | None:
        if key not in data:
            return default
        if not isinstance(data[key], bool):
            self.problem((*path, key), f"must be true or false, got {value_kind(data[key])}")
            return default
        return data[key]

    def integer(
        self,
        data: dict,
        key: str,
        path: FieldPath,
        default: int | None,
        minimum: int = 0,
        maximum: int | None = None,
    ) -> int | None:
        if key not in data or data[key] is None:
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem((*path, key), f"must be an integer >= {minimum}, got {value!r}")
            return default
        if maximum is not None and value > maximum:
            self.problem((*path, key), f"must be at most {maximum}, got {value}")
            return default
        return value

    def when(self, data: dict, key: str, path: FieldPath) -> dt.datetime | None:
        if key not in data:
            return None
        raw = data[key]
        example = "e.g. 2026-01-01T00:00:00Z or 2026-01-01T09:00:00+09:00"
        if not isinstance(raw, str):
            self.problem(
                (*path, key), f"must be a date and time with a time zone ({example}), got {value_kind(raw)}"
            )
            return None
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            self.problem((*path, key), f"{raw!r} is not an ISO 8601 date and time ({example})")
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.problem((*path, key), f"{raw!r} has no time zone; write it explicitly ({example})")
            return None
        return value


def slugged_list(
    check: FieldChecker,
    container: dict,
    key: str,
    path: FieldPath,
    parse: Callable[[Any, FieldPath], Slugged | None],
) -> list[Slugged]:
    """The items of the list `container[key]` (tracks, a track's phases), each read by `parse` at its own
    path; a missing list is `mapping`'s problem, an empty one or a slug used twice is reported here."""
    items = container.get(key)
    if key in container and (not isinstance(items, list) or not items):
        check.problem((*path, key), f"must be a non-empty list of {key}")
        return []
    if not isinstance(items, list):
        return []
    parsed: list[Slugged] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        value = parse(item, (*path, key, i))
        if value is None:
            continue
        slug = value.slug
        if slug in seen:
            check.problem((*path, key, i, "slug"), f"{slug!r} is also the slug of {key}[{seen[slug]}]")
        seen.setdefault(slug, i)
        parsed.append(value)
    return parsed
