"""Rank entries on a track's leaderboards. Plain Python, no database.

Every board uses competition ranks (1, 2, 2, 4): entries with equal keys share a rank and keep their
input order. Entries that fail a board's gate, lack an input, or have no defined score are listed
after the ranked ones, unranked, with the reason. References (baselines) never take a rank: each is
placed just before the first ranked entry it beats, so readers see where it stands.

- Metrics boards: the `evaluator.ranking.rules` rule (primary metric with tie-breaks, or mean rank).
- Formula boards: the formula on the per-metric means (default), or per image then the mean
  (`per_image`); measured quantities are per entry. Gates are always evaluated on the means.
- Combined boards: from each entry's ranks on the named boards, by their mean (`mean_rank`) or by
  the best of them, then their mean (`best_rank_then_mean`); an entry must be ranked on every one.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from evaluator.ranking.boards import QUANTITIES, Board, CombinedBoard, FormulaBoard, MetricsBoard
from evaluator.ranking.formula import Formula, FormulaEvaluationError
from evaluator.ranking.rules import competition_ranks, score_value, sort_key


@dataclass(frozen=True)
class Entry:
    """One leaderboard entry: aggregate scores ({metric: value}), measured quantities (`QUANTITIES`
    names; None when not measured), per-image scores when a per-image board needs them."""

    scores: Mapping[str, object] | None
    quantities: Mapping[str, float | None] = field(default_factory=dict)
    per_image: Sequence[Mapping[str, object]] | None = None
    is_reference: bool = False
    excluded: str | None = None  # why the entry may not be ranked at all (e.g. no factsheet)

    @property
    def numbers(self) -> dict[str, float]:
        """Every known number, by formula name (computed once: every board reads it). Kept by hand in
        the instance's dict: `functools.cached_property` takes a lock on every first read in Python
        3.11, which cost a cold leaderboard ~0.5 ms for 500 entries."""
        try:
            return self.__dict__["_numbers"]
        except KeyError:
            numbers = self.__dict__["_numbers"] = self.values()
            return numbers

    def values(self) -> dict[str, float]:
        """Every known number, by formula name (non-finite strings "inf"/"-inf" become floats)."""
        out = {}
        for name, raw in (self.scores or {}).items():
            if type(raw) is float and raw == raw:  # the common case, as `score_value` would say
                out[name] = raw
                continue
            value = score_value(raw)
            if value is not None:
                out[name] = value
        for name, raw in self.quantities.items():
            value = score_value(raw)
            if value is not None and name in QUANTITIES:
                out[name] = value
        return out


@dataclass(frozen=True)
class Placement:
    index: int  # the entry's position in the input
    rank: int | None  # None: a reference, or unranked (see `reason`)
    score: float | None = None  # formula value; primary metric; mean rank (mean-rank and combined)
    gated_out: bool = False
    reason: str | None = None  # why the entry is not ranked
    inputs: Mapping[str, float] | None = None  # formula boards: every input to the formula and gate
    ranks: Mapping[str, int] | None = None  # rank on each combined board / each metric (mean rank)
    key: tuple | None = None  # ascending sort key; None when the entry has no place

    def ranked(self, rank: int) -> Placement:
        # Positional: dataclasses.replace costs ten times as much, on every row of every board.
        return Placement(
            self.index, rank, self.score, self.gated_out, self.reason, self.inputs, self.ranks, self.key
        )


@dataclass(frozen=True)
class BoardRanking:
    board: Board
    placements: list[Placement]  # leaderboard order: ranked and references, then unranked

    @property
    def by_index(self) -> dict[int, Placement]:
        return {p.index: p for p in self.placements}


def _missing(formula: Formula, values: Mapping[str, float]) -> list[str]:
    return [name for name in formula.names if name not in values]


def _missing_reason(missing: list[str]) -> str:
    parts = [f"{n} not measured" if n in QUANTITIES else f"no {n} score" for n in missing]
    return "; ".join(parts)


def _gate(gate: Formula | None, values: Mapping[str, float]) -> str | None:
    """None when the entry passes (or there is no gate), else the reason it is gated out."""
    if gate is None:
        return None
    missing = _missing(gate, values)
    if missing:
        return f"gate {gate.text!r} not checked: {_missing_reason(missing)}"
    try:
        passed = gate.evaluate(values)
    except FormulaEvaluationError as error:
        return f"gate {gate.text!r} not checked: {error}"
    if passed:
        return None
    shown = ", ".join(f"{n} = {values[n]:.6g}" for n in gate.names)
    return f"gate not met: {gate.text} ({shown})"


def _formula_score(
    board: FormulaBoard, entry: Entry, values: dict[str, float]
) -> tuple[float | None, str | None]:
    missing = _missing(board.score, values)
    if board.per_image:
        images = entry.per_image
        if not images:
            return None, "no per-image scores"
        measured = {n: values[n] for n in QUANTITIES if n in values}
        total = 0.0
        for i, image in enumerate(images):
            env = {
                **{k: v for k, v in ((k, score_value(x)) for k, x in image.items()) if v is not None},
                **measured,
            }
            lacking = _missing(board.score, env)
            if lacking:
                return None, f"image {i + 1}: {_missing_reason(lacking)}"
            try:
                total += board.score.evaluate(env)
            except FormulaEvaluationError as error:
                return None, f"score undefined on image {i + 1}: {error}"
        return total / len(images), None
    if missing:
        return None, _missing_reason(missing)
    try:
        return board.score.evaluate(values), None
    except FormulaEvaluationError as error:
        return None, f"score undefined: {error}"


def _rank_formula(board: FormulaBoard, entries: Sequence[Entry]) -> list[Placement]:
    sign = 1.0 if board.order == "lower_first" else -1.0
    out = []
    names = list(dict.fromkeys([*board.score.names, *(board.gate.names if board.gate else ())]))
    for i, entry in enumerate(entries):
        if entry.excluded:
            out.append(Placement(i, None, reason=entry.excluded))
            continue
        values = entry.numbers
        inputs = {n: values[n] for n in names if n in values}
        reason = _gate(board.gate, values)
        if reason is not None:
            out.append(Placement(i, None, gated_out=True, reason=reason, inputs=inputs))
            continue
        score, reason = _formula_score(board, entry, values)
        if score is not None and math.isnan(score):
            score, reason = None, "score undefined: not a number"
        key = None if score is None else (sign * score,)
        out.append(Placement(i, None, score=score, reason=reason, inputs=inputs, key=key))
    return out


Beats = Callable[[Placement, Placement], bool]


def _key_beats(reference: Placement, team: Placement) -> bool:
    return reference.key < team.key


def _rank_metrics(board: MetricsBoard, entries: Sequence[Entry]) -> tuple[list[Placement], Beats]:
    rule = board.rule
    out = []
    for i, entry in enumerate(entries):
        if entry.excluded:
            out.append(Placement(i, None, reason=entry.excluded))
            continue
        reason = _gate(board.gate, entry.numbers) if board.gate else None
        if reason is not None:
            out.append(Placement(i, None, gated_out=True, reason=reason))
            continue
        key = sort_key(entry.scores, rule)
        if key is None:
            lacking = [
                o.metric for o in rule.metrics if score_value((entry.scores or {}).get(o.metric)) is None
            ]
            out.append(Placement(i, None, reason=_missing_reason(lacking)))
            continue
        primary = score_value(entry.scores[rule.primary.metric])
        out.append(Placement(i, None, score=primary, key=key))
    if rule.method != "mean_rank":
        return out, _key_beats
    names = [o.metric for o in rule.metrics]
    parts = {p.index: dict(zip(names, ((k,) for k in p.key), strict=True)) for p in out if p.key is not None}
    teams = [p.index for p in out if p.key is not None and not entries[p.index].is_reference]
    team_keys = {name: sorted(parts[t][name] for t in teams) for name in names}
    return _rank_by_ranks(out, parts, team_keys, "mean_rank", tie_break=lambda p: parts[p.index][names[0]])


def _rank_combined(
    board: CombinedBoard, entries: Sequence[Entry], done: Mapping[str, BoardRanking]
) -> tuple[list[Placement], Beats]:
    by_index = {slug: done[slug].by_index for slug in board.leaderboards}
    out, parts = [], {}
    for i in range(len(entries)):
        reason = next(
            (
                f"not ranked on {slug}: {by_index[slug][i].reason or 'no score'}"
                for slug in board.leaderboards
                if by_index[slug][i].key is None
            ),
            None,
        )
        if reason is not None:
            out.append(Placement(i, None, reason=reason))
            continue
        parts[i] = {slug: by_index[slug][i].key for slug in board.leaderboards}
        out.append(Placement(i, None, key=()))
    # Ranks on each board are the ones that board shows (among all the teams ranked there).
    team_keys = {
        slug: sorted(p.key for p in done[slug].placements if p.rank is not None)
        for slug in board.leaderboards
    }
    return _rank_by_ranks(out, parts, team_keys, board.by, tie_break=lambda p: ())


def _rank_by_ranks(
    out: list[Placement],
    parts: Mapping[int, Mapping[str, tuple]],
    team_keys: Mapping[str, list[tuple]],
    by: str,
    tie_break: Callable[[Placement], tuple],
) -> tuple[list[Placement], Beats]:
    """Keys from ranks on several parts (metrics of a mean-rank board, boards of a combined one).

    `parts[i][name]` is entry i's ascending key on that part, `team_keys[name]` the sorted keys of
    the teams ranked on it. A rank on a part is 1 + the teams strictly better (a reference's: the
    rank it would take had it entered; when placing it, the teams it beats on a part move down one
    there, as they would)."""
    names = list(team_keys)

    def ranks_of(i: int) -> dict[str, int]:
        return {name: 1 + bisect_left(team_keys[name], parts[i][name]) for name in names}

    def key_of(ranks: Mapping[str, int], placement: Placement) -> tuple:
        mean = sum(ranks.values()) / len(ranks)
        head = (mean,) if by == "mean_rank" else (min(ranks.values()), mean)
        return (*head, *tie_break(placement))

    result = []
    for p in out:
        if p.key is None:
            result.append(p)
            continue
        ranks = ranks_of(p.index)
        mean = sum(ranks.values()) / len(ranks)
        result.append(
            Placement(p.index, None, mean, p.gated_out, p.reason, p.inputs, ranks, key_of(ranks, p))
        )

    def beats(reference: Placement, team: Placement) -> bool:
        moved = {
            name: rank + (1 if parts[reference.index][name] < parts[team.index][name] else 0)
            for name, rank in team.ranks.items()
        }
        return reference.key < key_of(moved, team)

    return result, beats


def _order(placements: list[Placement], entries: Sequence[Entry], beats: Beats) -> list[Placement]:
    """Competition ranks for the teams; references inserted before the first team they beat."""
    teams = [p for p in placements if p.key is not None and not entries[p.index].is_reference]
    ranks = competition_ranks([p.key for p in teams])
    ranked = sorted(
        (p.ranked(r) for p, r in zip(teams, ranks, strict=True)),
        key=lambda p: (p.key, p.index),
    )
    references = [p for p in placements if p.key is not None and entries[p.index].is_reference]
    for ref in sorted(references, key=lambda p: p.index, reverse=True):
        position = next(
            (j for j, p in enumerate(ranked) if not entries[p.index].is_reference and beats(ref, p)),
            len(ranked),
        )
        ranked.insert(position, ref)
    unranked = [p for p in placements if p.key is None]
    unranked.sort(key=lambda p: (entries[p.index].is_reference, p.index))
    return ranked + unranked


def rank_boards(boards: Sequence[Board], entries: Sequence[Entry]) -> dict[str, BoardRanking]:
    """Every board's ranking of `entries`, by slug, in the boards' order."""
    done: dict[str, BoardRanking] = {}
    for board in boards:
        if isinstance(board, FormulaBoard):
            placements, beats = _rank_formula(board, entries), _key_beats
        elif isinstance(board, MetricsBoard):
            placements, beats = _rank_metrics(board, entries)
        else:
            placements, beats = _rank_combined(board, entries, done)
        done[board.slug] = BoardRanking(board, _order(placements, entries, beats))
    return done
