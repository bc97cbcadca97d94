"""How sure is a rank? A paired bootstrap over the test images, for every kind of leaderboard.

Each resample draws the test images with replacement (the same draw for every entry and every board:
paired), recomputes each entry's per-metric means, re-applies the board's rule — the formula on the
resampled means (or the mean of the per-image formula values for `per_image` boards), the metric
order with its tie-breaks, the mean of metric ranks, or the combination of other boards' ranks — and
ranks the teams that the board ranks on the observed data. From `resamples` (≥ 1000) draws:

- a rank interval: the (1 − level)/2 and (1 + level)/2 quantiles of the entry's bootstrap ranks
  (95 % by default), rounded outward to whole ranks;
- a paired test against the team ranked just above: the share f of resamples in which this team
  ranks better than that one (ties count half) gives the two-sided bootstrap p = 2·min(f, 1 − f);
  p ≥ 1 − level marks the pair "not significantly different".

Gates and measured quantities (runtime, params, …) are properties of the entry, not of the images:
they are taken as observed. Per-image scores must cover the same images for every ranked team; the
bootstrap uses the images all of them share. Vectorised: resampled means are one matrix product
(entries × images) · (images × resamples), then one sort per resample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evaluator.ranking.boards import QUANTITIES, Board, FormulaBoard, MetricsBoard
from evaluator.ranking.formula import Binary, Call, Name, Node, Number, Unary
from evaluator.ranking.rank import Entry, rank_boards
from evaluator.ranking.rules import score_value

MIN_RESAMPLES = 1000


@dataclass(frozen=True)
class RankConfidence:
    rank: int  # the observed rank
    low: int  # the rank interval, best end
    high: int  # the rank interval, worst end
    p_vs_above: float | None  # paired bootstrap p against the team ranked just above (None: the first)
    tied_with_above: bool | None  # not significantly different from it at the level

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "rank_low": self.low,
            "rank_high": self.high,
            "p_vs_above": self.p_vs_above,
            "not_significantly_different_from_above": self.tied_with_above,
        }


class ConfidenceError(ValueError):
    """The bootstrap cannot be computed (no shared images, too few resamples)."""


# --- vectorised formulas -----------------------------------------------------------------------------

_NUMPY_CALLS = {
    "exp": np.exp,
    "log": lambda x: np.log(np.where(x > 0, x, np.nan)),
    "abs": np.abs,
}


def _evaluate(node: Node, env: Mapping[str, np.ndarray]) -> np.ndarray:
    """The formula on arrays (broadcast); undefined values (log of ≤ 0, 0/0, overflow) become NaN."""
    if isinstance(node, Number):
        return np.asarray(node.value, dtype=np.float64)
    if isinstance(node, Name):
        return env[node.name]
    if isinstance(node, Unary):
        inner = _evaluate(node.operand, env)
        return np.logical_not(inner) if node.op == "not" else (-inner if node.op == "-" else inner)
    if isinstance(node, Binary):
        a, b = _evaluate(node.left, env), _evaluate(node.right, env)
        if node.op in ("and", "or"):
            return np.logical_and(a, b) if node.op == "and" else np.logical_or(a, b)
        with np.errstate(all="ignore"):
            if node.op == "/":
                return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
            return {"+": np.add, "-": np.subtract, "*": np.multiply, ">=": np.greater_equal,
                    "<=": np.less_equal, ">": np.greater, "<": np.less, "==": np.equal,
                    "!=": np.not_equal}[node.op](a, b)  # fmt: skip
    assert isinstance(node, Call)
    args = [_evaluate(arg, env) for arg in node.args]
    with np.errstate(all="ignore"):
        if node.function == "min":
            return np.minimum.reduce(np.broadcast_arrays(*args))
        if node.function == "max":
            return np.maximum.reduce(np.broadcast_arrays(*args))
        if node.function == "clip":
            value, low, high = args
            return np.where(low <= high, np.clip(value, low, high), np.nan)
        return _NUMPY_CALLS[node.function](args[0])


# --- ranks of many resamples at once -----------------------------------------------------------------


def _ranks(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Competition ranks (1 = best) per column of ascending keys (each (teams, resamples)); NaN last."""
    stacked = np.stack([np.where(np.isnan(k), np.inf, k).T for k in keys])  # (keys, resamples, teams)
    order = np.lexsort(stacked[::-1], axis=-1)  # lexsort sorts by the last key first
    ordered = np.take_along_axis(stacked, order[None], axis=-1)
    new = np.ones(order.shape, dtype=bool)
    new[:, 1:] = np.any(ordered[:, :, 1:] != ordered[:, :, :-1], axis=0)
    position = np.broadcast_to(np.arange(1, order.shape[1] + 1), order.shape)
    sorted_ranks = np.maximum.accumulate(np.where(new, position, 0), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, sorted_ranks, axis=1)
    return ranks.T


@dataclass
class _Data:
    teams: list[int]  # entry indices of the teams the bootstrap ranks
    images: list[str]
    weights: np.ndarray  # (images, resamples): each column sums to 1
    per_image: dict[str, np.ndarray]  # metric -> (teams, images)
    quantities: dict[str, np.ndarray]  # name -> (teams, 1)

    def __post_init__(self) -> None:
        self._means: dict[str, np.ndarray] = {}

    def means(self, metric: str) -> np.ndarray:
        if metric not in self._means:
            self._means[metric] = self.per_image[metric] @ self.weights
        return self._means[metric]


def _board_ranks(board: Board, data: _Data, rows: np.ndarray, done: Mapping[str, np.ndarray]) -> np.ndarray:
    """Bootstrap ranks (len(rows), resamples) of the teams `rows` (indices into data.teams)."""
    if isinstance(board, FormulaBoard):
        sign = 1.0 if board.order == "lower_first" else -1.0
        quantities = {n: q[rows] for n, q in data.quantities.items()}
        if board.per_image:
            values = _evaluate(
                board.score.tree, {**{m: x[rows] for m, x in data.per_image.items()}, **quantities}
            )
            score = np.broadcast_to(values, (len(rows), len(data.images))) @ data.weights
        else:
            env = {m: data.means(m)[rows] for m in data.per_image}
            score = _evaluate(board.score.tree, {**env, **quantities})
            score = np.broadcast_to(score, (len(rows), data.weights.shape[1]))
        return _ranks([sign * score])
    if isinstance(board, MetricsBoard):
        keys = [
            (-1.0 if o.higher_is_better else 1.0) * data.means(o.metric)[rows] for o in board.rule.metrics
        ]
        if board.rule.method != "mean_rank":
            return _ranks(keys)
        mean_rank = np.mean([_ranks([k]) for k in keys], axis=0)
        return _ranks([mean_rank, keys[0]])
    parts = np.stack([done[slug][rows] for slug in board.leaderboards])
    mean = parts.mean(axis=0)
    return _ranks([mean] if board.by == "mean_rank" else [parts.min(axis=0), mean])


def _shared_images(per_image: Sequence[Mapping[str, Mapping[str, object]]]) -> list[str]:
    names = set(per_image[0])
    for scores in per_image[1:]:
        names &= set(scores)
    return sorted(names)


def resample_weights(images: int, resamples: int, seed: int) -> np.ndarray:
    """(images, resamples): column r holds how often each image is drawn in resample r, divided by
    the number of images (so that per-image scores @ weights are the resampled means)."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(images, np.full(images, 1 / images), size=resamples)
    return counts.T / images


def _number(value: object) -> float:
    number = score_value(value)
    return np.nan if number is None else number


def _matrix(
    tables: Sequence[Mapping[str, Mapping[str, object]]], images: list[str], metric: str
) -> np.ndarray:
    """(teams, images) of one metric; missing or NaN values become NaN, "inf"/"-inf" infinities."""
    raw = [[row.get(metric) for row in (t[n] for n in images)] for t in tables]
    try:  # the common case: plain floats (stored scores), fast
        return np.array([[np.nan if v is None else v for v in values] for values in raw], dtype=np.float64)
    except (TypeError, ValueError):
        return np.array([[_number(v) for v in values] for values in raw], dtype=np.float64)


def _data(
    entries: Sequence[Entry],
    per_image: Sequence[Mapping[str, Mapping[str, object]] | None],
    teams: list[int],
    resamples: int,
    seed: int,
) -> _Data:
    tables = [per_image[i] or {} for i in teams]
    images = _shared_images(tables)
    if not images:
        raise ConfidenceError("the ranked teams share no scored test image")
    metrics = sorted(set.intersection(*(set(t[n]) for t in tables for n in images)))
    matrix = {m: _matrix(tables, images, m) for m in metrics}
    quantities = {
        name: np.array([[_number(entries[i].quantities.get(name))] for i in teams]) for name in QUANTITIES
    }
    return _Data(teams, images, resample_weights(len(images), resamples, seed), matrix, quantities)


def rank_confidence(
    boards: Sequence[Board],
    entries: Sequence[Entry],
    per_image: Sequence[Mapping[str, Mapping[str, object]] | None],
    *,
    resamples: int = MIN_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[int, RankConfidence]]:
    """For every board (by slug), each ranked team's confidence (by entry index).

    `per_image[i]` is entry i's {image name: {metric: value}} (None for references, which take no rank).
    """
    if resamples < MIN_RESAMPLES:
        raise ConfidenceError(f"resamples: at least {MIN_RESAMPLES}, got {resamples}")
    if not 0 < level < 1:
        raise ConfidenceError(f"level: between 0 and 1, got {level}")
    observed = rank_boards(boards, entries)
    ranked_anywhere = sorted({p.index for r in observed.values() for p in r.placements if p.rank is not None})
    if len(ranked_anywhere) < 2:
        return {board.slug: {} for board in boards}
    data = _data(entries, per_image, ranked_anywhere, resamples, seed)
    row_of = {index: row for row, index in enumerate(data.teams)}
    full: dict[str, np.ndarray] = {}  # slug -> (teams, resamples) ranks, NaN-free only where ranked
    out: dict[str, dict[int, RankConfidence]] = {}
    low_q, high_q = (1 - level) / 2, (1 + level) / 2
    for board in boards:
        placements = [p for p in observed[board.slug].placements if p.rank is not None]
        rows = np.array([row_of[p.index] for p in placements], dtype=np.int64)
        ranks = _board_ranks(board, data, rows, {s: v for s, v in full.items()})
        board_ranks = np.full((len(data.teams), data.weights.shape[1]), np.nan)
        board_ranks[rows] = ranks
        full[board.slug] = board_ranks
        lows = np.quantile(ranks, low_q, axis=1, method="lower")
        highs = np.quantile(ranks, high_q, axis=1, method="higher")
        # Paired comparison with the team just above: share of resamples where this one ranks better.
        shares = np.mean(ranks[1:] < ranks[:-1], axis=1) + 0.5 * np.mean(ranks[1:] == ranks[:-1], axis=1)
        p_values = np.minimum(1.0, 2 * np.minimum(shares, 1 - shares))
        result = {}
        for j, placement in enumerate(placements):
            p_value = float(p_values[j - 1]) if j > 0 else None
            tied = None if p_value is None else bool(p_value >= 1 - level)
            result[placement.index] = RankConfidence(
                placement.rank, int(lows[j]), int(highs[j]), p_value, tied
            )
        out[board.slug] = result
    return out
