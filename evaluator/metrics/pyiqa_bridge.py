"""The pyiqa bridge: an operator may enable any other pyiqa metric (MUSIQ, MANIQA, CLIP-IQA, …) on workers
that hold its weights locally. The platform never downloads them.

Enable with `RESTOREBENCH_PYIQA_METRICS="musiq,clipiqa"` (read when `evaluator.metrics` is imported) or
`enable_pyiqa_metric("musiq")`; each is registered as `pyiqa_<name>` with pyiqa's own direction
(`lower_better`) and mode (FR: needs ground truth; NR: scores the prediction alone). Weights are looked
up in `RESTOREBENCH_PYIQA_CACHE` (default `<weights dir>/pyiqa`), the folder pyiqa's `load_file_from_url`
is pointed at. While the metric is built, every download pyiqa or torch.hub would start raises
`WeightsNotInstalled` naming the missing file instead, and every file `torch.load` or `scipy.io.loadmat`
(pyiqa's NIQE, IL-NIQE and MATLAB-version BRISQUE parameters) reads is recorded: the
record names the implementation (pyiqa and its version, the metric's options) and each weight file's
SHA-256. pyiqa is PolyForm Noncommercial 1.0.0: we call it, never copy it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from evaluator.errors import WeightsNotInstalled
from evaluator.metrics.feature_networks import resolve_device
from evaluator.metrics.registry import list_metrics, register_metric
from evaluator.weights import sha256_file, weights_dir

PYIQA_METRICS_ENV = "RESTOREBENCH_PYIQA_METRICS"
PYIQA_CACHE_ENV = "RESTOREBENCH_PYIQA_CACHE"
_PATCH_LOCK = threading.Lock()


def pyiqa_cache_dir() -> Path:
    explicit = os.environ.get(PYIQA_CACHE_ENV)
    return Path(explicit) if explicit else weights_dir() / "pyiqa"


@contextmanager
def _offline(cache: Path) -> Iterator[list[str]]:
    """Point pyiqa at `cache`, refuse every download, and collect the files `torch.load` reads."""
    import scipy.io
    import torch.hub
    from pyiqa.utils import download_util

    loaded: list[str] = []

    def refuse(url: str, dst: str, *args: Any, **kwargs: Any) -> None:
        raise WeightsNotInstalled(
            f"pyiqa weights not installed: {Path(dst).name} is not in the configured cache folder "
            f"({PYIQA_CACHE_ENV}); the platform never downloads — copy the file there"
        )

    real_load, real_loadmat = torch.load, scipy.io.loadmat

    def recording(real: Any) -> Any:
        def load(f: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(f, str | os.PathLike):
                loaded.append(os.fspath(f))
            return real(f, *args, **kwargs)

        return load

    saved = (
        download_util.DEFAULT_CACHE_DIR,
        download_util.download_url_to_file,
        torch.hub.download_url_to_file,
    )
    with _PATCH_LOCK:
        download_util.DEFAULT_CACHE_DIR = str(cache)
        download_util.download_url_to_file = refuse
        torch.hub.download_url_to_file = refuse
        torch.load, scipy.io.loadmat = recording(real_load), recording(real_loadmat)
        try:
            yield loaded
        finally:
            download_util.DEFAULT_CACHE_DIR, download_util.download_url_to_file = saved[0], saved[1]
            torch.hub.download_url_to_file = saved[2]
            torch.load, scipy.io.loadmat = real_load, real_loadmat


class PyiqaMetric:
    """One pyiqa metric behind the registry's convention: `metric(pred, gt)` (FR) or `metric(pred, None)`
    (NR) with float64 (N, C, H, W) on [0, 1]; pyiqa computes in float32 with its own defaults."""

    min_size = 32

    def __init__(self, pyiqa_name: str, full_reference: bool, device: str = "cpu", **ignored: Any) -> None:
        import pyiqa

        self.name = f"pyiqa_{pyiqa_name}"
        self.pyiqa_name = pyiqa_name
        self.full_reference = full_reference
        self.version = pyiqa.__version__
        dev = resolve_device(device)
        cache = pyiqa_cache_dir()
        with _offline(cache) as loaded:
            self.model = pyiqa.create_metric(pyiqa_name, as_loss=False, device=dev)
        self.weights = {Path(p).name: sha256_file(Path(p)) for p in dict.fromkeys(loaded)}

    @torch.inference_mode()
    def __call__(self, pred: torch.Tensor, gt: torch.Tensor | None = None) -> torch.Tensor:
        x = pred.to(torch.float32)
        out = self.model(x, gt.to(torch.float32)) if self.full_reference else self.model(x)
        return out.reshape(-1).to("cpu", torch.float64)

    def record(self) -> dict[str, Any]:
        return {
            "implementation": f"pyiqa {self.version}: {self.pyiqa_name} (pyiqa's defaults, float32)",
            "options": {"pyiqa_metric": self.pyiqa_name, "mode": "FR" if self.full_reference else "NR"},
            "weights": dict(self.weights),
        }


def enable_pyiqa_metric(pyiqa_name: str) -> str:
    """Register pyiqa's metric `pyiqa_name` as `pyiqa_<name>` (idempotent); returns the registered name.
    `ValueError` for a name pyiqa does not know."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    name = f"pyiqa_{pyiqa_name}"
    if name in list_metrics():
        return name
    config = DEFAULT_CONFIGS.get(pyiqa_name)
    if config is None:
        raise ValueError(f"pyiqa has no metric {pyiqa_name!r}")
    full_reference = config.get("metric_mode") == "FR"

    def factory(**options: Any) -> PyiqaMetric:
        return PyiqaMetric(pyiqa_name, full_reference, **options)

    register_metric(
        name,
        higher_is_better=not config.get("lower_better", False),
        implementation=f"pyiqa {pyiqa_name} (operator-enabled; local weights only)",
        description=f"pyiqa's {pyiqa_name} ({config.get('metric_mode')}), enabled by the operator",
        needs_weights=True,
        needs_reference=full_reference,
    )(factory)
    return name


def enable_configured_metrics() -> list[str]:
    """Enable every metric named in `RESTOREBENCH_PYIQA_METRICS` (comma-separated)."""
    names = [n.strip() for n in os.environ.get(PYIQA_METRICS_ENV, "").split(",") if n.strip()]
    return [enable_pyiqa_metric(n) for n in names]
