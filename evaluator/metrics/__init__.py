"""The metrics: the registry and the metrics registered in it (PSNR, SSIM, MS-SSIM, LPIPS, DISTS, ...).

Importing this package registers every metric. See `registry.py` for the tensor convention.
"""

import os

from evaluator.metrics import brisque as _brisque  # noqa: F401  (registers brisque)
from evaluator.metrics import dists as _dists  # noqa: F401  (registers dists)
from evaluator.metrics import lpips as _lpips  # noqa: F401  (registers lpips, lpips_vgg)
from evaluator.metrics import msssim as _msssim  # noqa: F401  (registers ms_ssim)
from evaluator.metrics import niqe as _niqe  # noqa: F401  (registers niqe)
from evaluator.metrics import piqe as _piqe  # noqa: F401  (registers piqe)
from evaluator.metrics import psnr as _psnr  # noqa: F401  (registers psnr)
from evaluator.metrics import ssim as _ssim  # noqa: F401  (registers ssim)
from evaluator.metrics.pyiqa_bridge import PYIQA_METRICS_ENV, enable_configured_metrics
from evaluator.metrics.registry import (
    Metric,
    MetricInfo,
    create_metric,
    list_metrics,
    metric_info,
    register_metric,
)

__all__ = ["Metric", "MetricInfo", "create_metric", "list_metrics", "metric_info", "register_metric"]

if os.environ.get(PYIQA_METRICS_ENV):  # operator-enabled pyiqa metrics (imports pyiqa only then)
    enable_configured_metrics()
