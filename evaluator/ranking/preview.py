"""Rank hand-written entries under a track's leaderboards, with no database: what organizers run
(`manage.py ranking_preview`) to test their rules before a challenge opens.

The entries file: `{"entries": [{"team": "...", "scores": {"psnr": 27.1, ...}, "runtime": 0.02,
"params": 250000, "flops": 1.6e10, "peak_memory": 1.2e9, "per_image": [{"psnr": ...}, ...],
"reference": false}]}`; only `team` and `scores` are required.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from evaluator.ranking.boards import QUANTITIES, Board, describe
from evaluator.ranking.rank import Entry, rank_boards

MAX_ENTRIES = 100_000


class EntriesError(ValueError):
    """An entries file that cannot be used; the message names the entry and the field."""


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if value in ("inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise EntriesError(f"{where}: must be a number (or null), got {value!r}")
    return float(value)


def _scores(raw: Any, where: str) -> dict[str, float | None]:
    if not isinstance(raw, dict):
        raise EntriesError(f"{where}: must be a mapping of metric name to number")
    return {str(name): _number(value, f"{where}.{name}") for name, value in raw.items()}


def entries_parse(data: Any) -> tuple[list[str], list[Entry]]:
    """(team names, entries) from the entries file's data; raise `EntriesError` naming the field."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise EntriesError('expected {"entries": [{"team": ..., "scores": {...}}, ...]}')
    raw_entries = data["entries"]
    if len(raw_entries) > MAX_ENTRIES:
        raise EntriesError(f"entries: {len(raw_entries)} entries; at most {MAX_ENTRIES}")
    allowed = {"team", "scores", "per_image", "reference", *QUANTITIES}
    teams, entries = [], []
    for i, raw in enumerate(raw_entries):
        where = f"entries[{i}]"
        if not isinstance(raw, dict):
            raise EntriesError(f"{where}: must be a mapping with team and scores")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise EntriesError(f"{where}: unknown field(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
        team = raw.get("team")
        if not isinstance(team, str) or not team.strip():
            raise EntriesError(f"{where}.team: must be a non-empty text")
        per_image = raw.get("per_image")
        if per_image is not None:
            if not isinstance(per_image, list):
                raise EntriesError(f"{where}.per_image: must be a list of score mappings, one per image")
            per_image = [_scores(image, f"{where}.per_image[{j}]") for j, image in enumerate(per_image)]
        reference = raw.get("reference", False)
        if not isinstance(reference, bool):
            raise EntriesError(f"{where}.reference: must be true or false")
        quantities = {name: _number(raw.get(name), f"{where}.{name}") for name in QUANTITIES}
        teams.append(team.strip())
        entries.append(Entry(_scores(raw.get("scores"), f"{where}.scores"), quantities, per_image, reference))
    return teams, entries


def _json_number(value: float | None) -> float | str | None:
    # JSON has no infinity: written as the evaluator writes it, "inf" / "-inf".
    if value is None or math.isfinite(value):
        return value
    return "inf" if value > 0 else "-inf"


def preview(boards: Sequence[Board], teams: Sequence[str], entries: Sequence[Entry]) -> dict:
    """`{"leaderboards": {slug: [{"team", "rank", "score", "gated_out", "reason", "reference"}]}}`."""
    ranked = rank_boards(boards, entries)
    return {
        "leaderboards": {
            slug: [
                {
                    "team": teams[p.index],
                    "rank": p.rank,
                    "score": _json_number(p.score),
                    "gated_out": p.gated_out,
                    "reason": p.reason,
                    "reference": entries[p.index].is_reference,
                }
                for p in result.placements
            ]
            for slug, result in ranked.items()
        }
    }


def preview_text(boards: Sequence[Board], result: dict) -> str:
    """The preview as a table per board: rank, team, score, gate result."""
    lines = []
    for board in boards:
        lines.append(f"{board.title} [{board.slug}]: {describe(board)}")
        lines.append(f"  {'rank':>4}  {'team':<24} {'score':>14}  gate / note")
        for row in result["leaderboards"][board.slug]:
            rank = "ref" if row["reference"] else ("-" if row["rank"] is None else str(row["rank"]))
            score = "" if row["score"] is None else f"{float(row['score']):.6g}"
            gate = "n/a" if not getattr(board, "gate", None) else ("fail" if row["gated_out"] else "pass")
            note = f"{gate}" + (f"; {row['reason']}" if row["reason"] and not row["gated_out"] else "")
            if row["gated_out"]:
                note = f"fail: {row['reason']}"
            lines.append(f"  {rank:>4}  {row['team']:<24} {score:>14}  {note}")
        lines.append("")
    return "\n".join(lines)
