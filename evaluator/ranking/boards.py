"""A track's leaderboards: what each board ranks by, parsed and validated from plain data.

The spelling (a track's `ranking` in a bundle; the same data is stored on the track):

    ranking:
      leaderboards:
        - {slug: main, title: Main, score: "0.7*exp(2*runtime/0.0218) + ...", order: lower_first,
           gate: "psnr >= 26.90", per_image: false}
        - {slug: fidelity, title: Fidelity, metrics: [psnr, ssim]}          # method: metric | mean_rank
        - {slug: overall, title: Overall, combine: {leaderboards: [main, fidelity], by: mean_rank}}

or the older single-board form `{method: metric | mean_rank, metrics: [...]}`, which becomes one board
named `main`. A formula may use the metrics the track scores (by their registry names) and the
measured quantities of model submissions (`QUANTITIES`). Every problem is reported, each with its
path inside the `ranking` mapping; formula problems also give the position in the formula.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evaluator.ranking.formula import Formula, FormulaError, parse
from evaluator.ranking.rules import RankingRule, RankingRuleError, known_metrics

# Measured quantities of a model submission a formula may use (what each means, for messages and docs).
QUANTITIES = {
    "runtime": "seconds per image, measured when the model runs",
    "params": "the model's parameter count",
    "flops": "FLOPs at the track's reference input size",
    "peak_memory": "peak memory of the model run, bytes",
}
ORDERS = ("lower_first", "higher_first")
COMBINE_BY = ("mean_rank", "best_rank_then_mean")
DEFAULT_SLUG = "main"
MAX_BOARDS = 20
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    path: Path  # inside the `ranking` mapping
    message: str


class RankingConfigError(ValueError):
    """Leaderboards that cannot be used; `problems` lists every one, each with its path."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"{'.'.join(str(p) for p in x.path) or 'ranking'}: {x.message}" for x in problems)
        )


@dataclass(frozen=True)
class MetricsBoard:
    slug: str
    title: str
    rule: RankingRule
    gate: Formula | None = None

    def to_data(self) -> dict:
        return {
            "slug": self.slug,
            "title": self.title,
            **self.rule.to_data(),
            "gate": self.gate.text if self.gate else None,
        }


@dataclass(frozen=True)
class FormulaBoard:
    slug: str
    title: str
    score: Formula
    order: str  # lower_first | higher_first
    gate: Formula | None = None
    per_image: bool = False

    def to_data(self) -> dict:
        return {
            "slug": self.slug,
            "title": self.title,
            "score": self.score.text,
            "order": self.order,
            "gate": self.gate.text if self.gate else None,
            "per_image": self.per_image,
        }


@dataclass(frozen=True)
class CombinedBoard:
    slug: str
    title: str
    leaderboards: tuple[str, ...]
    by: str  # mean_rank | best_rank_then_mean

    def to_data(self) -> dict:
        return {
            "slug": self.slug,
            "title": self.title,
            "combine": {"leaderboards": list(self.leaderboards), "by": self.by},
        }


Board = MetricsBoard | FormulaBoard | CombinedBoard


def boards_to_data(boards: Sequence[Board]) -> dict:
    """The stored form: `{"leaderboards": [...]}`, each board spelled out in full."""
    return {"leaderboards": [board.to_data() for board in boards]}


class _Reader:
    def __init__(self, scored: Sequence[str] | None, check_names: bool = True) -> None:
        self.scored = list(scored) if scored is not None else None
        self.check_names = check_names
        self.problems: list[ConfigProblem] = []

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(ConfigProblem(tuple(path), message))

    def explain_name(self, name: str) -> str:
        known = set(known_metrics())
        scored = self.scored if self.scored is not None else sorted(known)
        names = ", ".join(scored) + " (metrics); " + ", ".join(QUANTITIES) + " (measured quantities)"
        if name in known:
            return f"{name!r} is a metric this track does not score; names here: {names}"
        return f"unknown name {name!r}; names here: {names}"

    def formula(self, data: Mapping, key: str, path: Path, kind: str) -> Formula | None:
        text = data.get(key)
        if not isinstance(text, str):
            what = "a formula" if kind == "number" else "a condition"
            self.problem((*path, key), f"must be {what} written as text, got {type(text).__name__}")
            return None
        try:
            formula = parse(text, kind=kind)
            if self.check_names:
                # Without the scored metrics, any the registry has (which loads the metrics: torch).
                scored = set(self.scored) if self.scored is not None else set(known_metrics())
                formula.check_names(scored | set(QUANTITIES), self.explain_name)
        except FormulaError as error:
            self.problem((*path, key), f"{error} in {text!r}")
            return None
        return formula

    def text(self, data: Mapping, key: str, path: Path, max_length: int) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem((*path, key), f"must be a non-empty text, got {value!r}")
            return ""
        if len(value) > max_length:
            self.problem((*path, key), f"is {len(value)} characters long; at most {max_length}")
        return value.strip()


_KEYS = {
    "score": {"slug", "title", "score", "order", "gate", "per_image"},
    "metrics": {"slug", "title", "metrics", "method", "gate"},
    "combine": {"slug", "title", "combine"},
}


def _metrics_rule(reader: _Reader, method: Any, metrics: Any, path: Path) -> RankingRule | None:
    try:
        rule = RankingRule.from_data(method, metrics)
    except RankingRuleError as error:
        message = str(error)
        where: Path = (*path, "method") if message.startswith("ranking_method") else (*path, "metrics")
        index = re.match(r"ranking_metrics\[(\d+)\]", message)
        if index:
            where = (*where, int(index.group(1)))
        reader.problem(where, message.split(": ", 1)[-1])
        return None
    if reader.scored is not None:
        for i, order in enumerate(rule.metrics):
            if order.metric not in reader.scored:
                reader.problem(
                    (*path, "metrics", i),
                    f"ranks by {order.metric!r}, which the track does not score (scoring metrics: "
                    f"{', '.join(reader.scored)})",
                )
    return rule


def _board(reader: _Reader, raw: Any, path: Path, earlier: dict[str, Board]) -> Board | None:
    if not isinstance(raw, Mapping):
        reader.problem(path, f"must be a mapping (slug, title, and score, metrics or combine), got {raw!r}")
        return None
    kinds = [k for k in ("score", "metrics", "combine") if k in raw]
    if len(kinds) != 1:
        reader.problem(path, "needs exactly one of score (a formula), metrics, or combine")
        return None
    kind = kinds[0]
    for key in sorted(set(raw) - _KEYS[kind]):
        reader.problem(
            (*path, key), f"unknown field for a {kind} board; allowed: {', '.join(sorted(_KEYS[kind]))}"
        )
    slug = reader.text(raw, "slug", path, 64)
    if slug and not _SLUG.match(slug):
        reader.problem((*path, "slug"), f"{slug!r} is not a slug (letters, digits, '-' and '_' only)")
    title = reader.text(raw, "title", path, 200)
    gate = reader.formula(raw, "gate", path, "condition") if raw.get("gate") is not None else None
    if kind == "score":
        score = reader.formula(raw, "score", path, "number")
        order = raw.get("order")
        if order not in ORDERS:
            reader.problem((*path, "order"), f"must be one of {', '.join(ORDERS)}, got {order!r}")
        per_image = raw.get("per_image", False)
        if not isinstance(per_image, bool):
            reader.problem((*path, "per_image"), f"must be true or false, got {per_image!r}")
        if score is None or order not in ORDERS or not isinstance(per_image, bool):
            return None
        return FormulaBoard(slug, title, score, order, gate, per_image)
    if kind == "metrics":
        rule = _metrics_rule(reader, raw.get("method", "metric"), raw.get("metrics"), path)
        return MetricsBoard(slug, title, rule, gate) if rule is not None else None
    combine = raw["combine"]
    where = (*path, "combine")
    if not isinstance(combine, Mapping):
        reader.problem(where, "must be a mapping {leaderboards: [slug, ...], by: mean_rank}")
        return None
    for key in sorted(set(combine) - {"leaderboards", "by"}):
        reader.problem((*where, key), "unknown field; allowed: by, leaderboards")
    by = combine.get("by", "mean_rank")
    if by not in COMBINE_BY:
        reader.problem((*where, "by"), f"must be one of {', '.join(COMBINE_BY)}, got {by!r}")
    names = combine.get("leaderboards")
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) for n in names):
        reader.problem((*where, "leaderboards"), "must list at least two leaderboard slugs")
        return None
    for i, name in enumerate(names):
        if name not in earlier:
            reader.problem(
                (*where, "leaderboards", i),
                f"{name!r} is not a leaderboard defined above this one "
                f"(defined: {', '.join(earlier) or 'none'})",
            )
    if len(set(names)) != len(names):
        reader.problem((*where, "leaderboards"), "names a leaderboard twice")
    if by not in COMBINE_BY:
        return None
    return CombinedBoard(slug, title, tuple(names), by)


def parse_ranking(
    data: Any, *, scored: Sequence[str] | None, primary: str | None = None, check_names: bool = True
) -> list[Board]:
    """Validate a track's `ranking` data into boards; raise `RankingConfigError` listing every problem.

    `scored`: the metrics the track computes (None: not known here, any registry metric is allowed).
    Without `ranking` data (None or {}), one board ranks by the scored metrics, `primary` first.
    `check_names=False` skips the formula name check (data validated before)."""
    reader = _Reader(scored, check_names)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise RankingConfigError([ConfigProblem((), f"must be a mapping, got {type(data).__name__}")])
    if "leaderboards" in data:
        extra = sorted(set(data) - {"leaderboards"})
        for key in extra:
            reader.problem((key,), "a ranking with leaderboards takes no other field (put it in a board)")
        raw_boards = data["leaderboards"]
        if not isinstance(raw_boards, list) or not raw_boards or len(raw_boards) > MAX_BOARDS:
            reader.problem(("leaderboards",), f"must be a list of 1 to {MAX_BOARDS} leaderboards")
            raw_boards = []
    else:
        for key in sorted(set(data) - {"method", "metrics"}):
            reader.problem(
                (key,), "unknown field; allowed: leaderboards, or the single-board method, metrics"
            )
        metrics = data.get("metrics")
        if metrics is None and scored:
            first = primary if primary in scored else scored[0]
            metrics = [first] + [m for m in scored if m != first]
        raw_boards = [
            {
                "slug": DEFAULT_SLUG,
                "title": "Leaderboard",
                "method": data.get("method", "metric"),
                "metrics": metrics,
            }
        ]
    boards: dict[str, Board] = {}
    for i, raw in enumerate(raw_boards):
        path: Path = ("leaderboards", i) if "leaderboards" in data else ()
        board = _board(reader, raw, path, boards)
        if board is None:
            continue
        if board.slug in boards:
            reader.problem((*path, "slug"), f"{board.slug!r} names two leaderboards")
            continue
        boards[board.slug] = board
    if reader.problems:
        raise RankingConfigError(reader.problems)
    return list(boards.values())


def describe(board: Board) -> str:
    """One line saying how a board ranks."""
    if isinstance(board, FormulaBoard):
        how = "per image, then the mean" if board.per_image else "on the per-metric means"
        gate = f"; gate: {board.gate.text}" if board.gate else ""
        return f"score = {board.score.text} ({how}), {board.order.replace('_', ' ')}{gate}"
    if isinstance(board, CombinedBoard):
        return f"combines {', '.join(board.leaderboards)} by {board.by}"
    metrics = ", ".join(
        f"{m.metric} ({'higher' if m.higher_is_better else 'lower'} first)" for m in board.rule.metrics
    )
    gate = f"; gate: {board.gate.text}" if board.gate else ""
    return f"{board.rule.method}: {metrics}{gate}"


def boards_from_data(data: Mapping) -> list[Board]:
    """Boards from the stored form: validated when it was stored, so formulas are parsed again but
    their names not checked (a leaderboard read never loads the metric registry, i.e. torch)."""
    return parse_ranking(data, scored=None, check_names=False)
