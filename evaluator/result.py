"""`ScoreResult`: per-image rows, means, per-file problems, and the record of how every number was made.

`to_dict()` is JSON-serialisable. Non-finite scores (PSNR of an image identical to its ground truth is
+inf) are written as the strings "inf" / "-inf" / "nan", since JSON has no such numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def json_number(value: float) -> float | str:
    """`value`, or "inf" / "-inf" / "nan" when it is not finite."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


@dataclass(frozen=True)
class Problem:
    """A per-file issue. code: missing | extra | duplicate_name | empty_file | not_an_image |
    unsupported_format | too_large | unreadable | wrong_mode | wrong_size | too_small.
    severity "error" makes the file unscorable (and the submission invalid under policy "reject");
    "warning" is informational (e.g. an extra file that is ignored)."""

    name: str
    code: str
    message: str
    severity: str = "error"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "code": self.code, "message": self.message, "severity": self.severity}


@dataclass(frozen=True)
class ImageScore:
    """One scored pair: ground-truth file name, compared size (before shaving), one score per metric."""

    name: str
    width: int
    height: int
    scores: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "scores": {k: json_number(v) for k, v in self.scores.items()},
        }


@dataclass
class ScoreResult:
    """The outcome of `evaluator.score()`.

    rows: scored images in ground-truth name order. aggregates: the mean of each metric over `rows`.
    n_expected: ground-truth images; n_scored: len(rows). record: metric implementations, versions,
    options and weight SHA-256s, the spec, and library versions.
    """

    rows: list[ImageScore]
    aggregates: dict[str, float]
    problems: list[Problem]
    n_expected: int
    ranking_metric: str
    higher_is_better: bool
    record: dict[str, Any]
    elapsed_s: float = 0.0

    @property
    def n_scored(self) -> int:
        return len(self.rows)

    @property
    def complete(self) -> bool:
        """True when every ground-truth image was scored."""
        return self.n_scored == self.n_expected

    @property
    def ranking_score(self) -> float:
        return self.aggregates[self.ranking_metric]

    def to_dict(self) -> dict[str, Any]:
        return {
            "aggregates": {k: json_number(v) for k, v in self.aggregates.items()},
            "ranking_metric": self.ranking_metric,
            "ranking_score": json_number(self.ranking_score),
            "higher_is_better": self.higher_is_better,
            "n_expected": self.n_expected,
            "n_scored": self.n_scored,
            "complete": self.complete,
            "rows": [r.to_dict() for r in self.rows],
            "problems": [p.to_dict() for p in self.problems],
            "record": self.record,
            "elapsed_s": round(self.elapsed_s, 3),
        }
