"""The metric table: `@register_metric` entries (name → factory + metadata), `create_metric`, `list_metrics`.

Every metric object created here follows one convention: called as `metric(pred, gt)` with float64
torch tensors of shape (N, C, H, W), C = 1 (gray) or 3 (RGB), intensities on [0, 1], already shaved;
it returns a float64 tensor of shape (N,) — one score per image pair. A metric may also offer
`score_pixels(pred, gt, full_scale) -> float` for one pair of (H, W[, 3]) integer arrays (values on
[0, full_scale]) giving the same number; the CPU scorer then uses it and skips the float64 tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch


class Metric(Protocol):
    """What `create_metric` returns."""

    name: str
    min_size: int  # smallest height/width (after shaving) the metric is defined for

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor: ...

    def record(self) -> dict[str, Any]:
        """How the numbers were computed: implementation, version, options, weight SHA-256s."""
        ...


@dataclass(frozen=True)
class MetricInfo:
    """A registry row. `implementation` names the code and convention precisely (it goes in reports)."""

    name: str
    higher_is_better: bool
    implementation: str
    description: str
    factory: Callable[..., Metric]
    needs_weights: bool = False
    # False for no-reference metrics (NIQE, BRISQUE, PIQE): they score the restored image alone, are
    # called as `metric(pred, None)`, and can run on a phase whose test set has no ground truth.
    needs_reference: bool = True


_METRICS: dict[str, MetricInfo] = {}


def register_metric(
    name: str,
    *,
    higher_is_better: bool,
    implementation: str,
    description: str,
    needs_weights: bool = False,
    needs_reference: bool = True,
) -> Callable[[Callable[..., Metric]], Callable[..., Metric]]:
    """Register `factory(**options) -> Metric` under `name`; a second registration of a name is an error."""

    def decorator(factory: Callable[..., Metric]) -> Callable[..., Metric]:
        if name in _METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        _METRICS[name] = MetricInfo(
            name=name,
            higher_is_better=higher_is_better,
            implementation=implementation,
            description=description,
            factory=factory,
            needs_weights=needs_weights,
            needs_reference=needs_reference,
        )
        return factory

    return decorator


def list_metrics() -> list[str]:
    """Registered metric names, sorted."""
    return sorted(_METRICS)


def metric_info(name: str) -> MetricInfo:
    """The registry row for `name`; unknown names raise `KeyError` listing the valid ones."""
    try:
        return _METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; valid metrics: {', '.join(list_metrics())}") from None


def create_metric(name: str, **options: Any) -> Metric:
    """Instantiate metric `name` with its options (e.g. `create_metric("psnr", data_range=1.0)`)."""
    return metric_info(name).factory(**options)
