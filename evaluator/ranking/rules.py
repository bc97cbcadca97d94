"""Metric ranking rules: order entries by their metrics. Plain Python, no database, no Django.

Two rules, as image-restoration challenges use them:

- `metric`: sort by the first metric in its direction (PSNR/SSIM higher is better, LPIPS lower), then
  by each following metric to break ties. Entries equal on every metric share a rank.
- `mean_rank`: rank the entries by each metric separately (competition ranking: 1, 2, 2, 4), then sort
  by the mean of those ranks, lower first, as the NTIRE perceptual tracks do. Ties in the mean are
  broken by the first metric; entries still equal share a rank.

Ranks are "competition" ranks (1, 2, 2, 4). Entries missing a ranked metric come last, unranked.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

METHODS = ("metric", "mean_rank")


def metric_direction(name: str) -> bool | None:
    """Whether higher is better for metric `name`, from the evaluator's metric registry (None: the
    registry has no such metric). Imported on first use: the registry module loads torch."""
    from evaluator.metrics import metric_info

    try:
        return metric_info(name).higher_is_better
    except KeyError:
        return None


def known_metrics() -> list[str]:
    """The metric names the evaluator's registry offers."""
    from evaluator.metrics import list_metrics

    return list_metrics()


class RankingRuleError(ValueError):
    """A ranking rule that cannot be applied; the message names the offending field."""


@dataclass(frozen=True)
class MetricOrder:
    metric: str
    higher_is_better: bool

    def to_dict(self) -> dict:
        return {"metric": self.metric, "higher_is_better": self.higher_is_better}


@dataclass(frozen=True)
class RankingRule:
    method: str
    metrics: tuple[MetricOrder, ...]

    @classmethod
    def from_data(cls, method: str, metrics: Sequence) -> "RankingRule":
        """Build a rule from stored data: `metrics` is a list of {"metric", "higher_is_better"} dicts
        (or bare metric names whose direction is known)."""
        if method not in METHODS:
            raise RankingRuleError(f"ranking_method: {method!r} is not one of {', '.join(METHODS)}")
        if not isinstance(metrics, Sequence) or isinstance(metrics, str) or not metrics:
            raise RankingRuleError(
                "ranking_metrics: must be a non-empty list of metrics, the primary one first"
            )
        orders = []
        for i, item in enumerate(metrics):
            if isinstance(item, str):
                item = {"metric": item}
            if not isinstance(item, Mapping) or not isinstance(item.get("metric"), str) or not item["metric"]:
                raise RankingRuleError(
                    f"ranking_metrics[{i}]: expected {{'metric': name, 'higher_is_better': bool}}"
                )
            name = item["metric"]
            higher = item["higher_is_better"] if "higher_is_better" in item else metric_direction(name)
            if not isinstance(higher, bool):
                raise RankingRuleError(
                    f"ranking_metrics[{i}]: direction of {name!r} unknown; "
                    "set 'higher_is_better' to true or false"
                )
            unknown = set(item) - {"metric", "higher_is_better"}
            if unknown:
                raise RankingRuleError(f"ranking_metrics[{i}]: unknown keys {sorted(unknown)}")
            orders.append(MetricOrder(name, higher))
        names = [o.metric for o in orders]
        if len(set(names)) != len(names):
            raise RankingRuleError(f"ranking_metrics: a metric is listed twice in {names}")
        return cls(method, tuple(orders))

    @property
    def primary(self) -> MetricOrder:
        return self.metrics[0]

    def to_data(self) -> dict:
        return {"method": self.method, "metrics": [m.to_dict() for m in self.metrics]}


@dataclass(frozen=True)
class Placement:
    index: int  # position of the entry in the input sequence
    rank: int | None  # None: the entry lacks a ranked metric
    mean_rank: float | None = None  # only for the mean_rank rule
    key: tuple[float, ...] | None = None  # the entry's `sort_key` (None: incomplete)


def score_value(value: object) -> float | None:
    """A stored score as a float: numbers, and the evaluator's "inf" / "-inf" strings for non-finite
    values (PSNR of a perfect image is +inf); None for anything missing or NaN."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif value in ("inf", "-inf"):
        number = float(value)
    else:
        return None
    return None if math.isnan(number) else number


def _complete(scores: Mapping[str, object] | None, rule: RankingRule) -> bool:
    if not scores:
        return False
    return all(score_value(scores.get(order.metric)) is not None for order in rule.metrics)


def _key(scores: Mapping[str, object], orders: Sequence[MetricOrder]) -> tuple[float, ...]:
    # Ascending sort key: negate metrics where higher is better.
    values = [(score_value(scores[o.metric]), o.higher_is_better) for o in orders]
    return tuple(-value if higher else value for value, higher in values)


def sort_key(scores: Mapping[str, float] | None, rule: RankingRule) -> tuple[float, ...] | None:
    """Ascending key by the rule's metrics in order (primary, then tie-breaks); None if incomplete."""
    return _key(scores, rule.metrics) if _complete(scores, rule) else None


def competition_ranks(keys: Sequence[tuple]) -> list[int]:
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    ranks = [0] * len(keys)
    for position, i in enumerate(order):
        if position > 0 and keys[i] == keys[order[position - 1]]:
            ranks[i] = ranks[order[position - 1]]
        else:
            ranks[i] = position + 1
    return ranks


def rank_entries(entries: Sequence[Mapping[str, float] | None], rule: RankingRule) -> list[Placement]:
    """Rank score dicts ({metric: value}) by `rule`; returns placements in leaderboard order."""
    # Each entry's key once (a leaderboard ranks hundreds of entries on every cold read).
    all_keys = [sort_key(scores, rule) for scores in entries]
    complete = [i for i, key in enumerate(all_keys) if key is not None]
    full = [all_keys[i] for i in complete]
    placements: list[Placement] = []
    if rule.method == "metric":
        ranks = competition_ranks(full)
        for j in sorted(range(len(complete)), key=lambda j: (full[j], complete[j])):
            placements.append(Placement(complete[j], ranks[j], key=full[j]))
    else:
        per_metric = [competition_ranks([(key[m],) for key in full]) for m in range(len(rule.metrics))]
        means = [sum(r[j] for r in per_metric) / len(per_metric) for j in range(len(complete))]
        keys = [(means[j], full[j][0]) for j in range(len(complete))]
        ranks = competition_ranks(keys)
        for j in sorted(range(len(complete)), key=lambda j: (keys[j], complete[j])):
            placements.append(Placement(complete[j], ranks[j], means[j], key=full[j]))
    placements.extend(Placement(i, None) for i, key in enumerate(all_keys) if key is None)
    return placements
