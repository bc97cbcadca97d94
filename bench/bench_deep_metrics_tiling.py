"""Benchmark: LPIPS and DISTS on one DIV2K-size pair (2040×1356 RGB), tiled vs whole image, same run.

Each (metric, tile) case runs in its own subprocess so that its peak resident memory is its own:
`peak_rss` is the process's peak (Python, torch, the network, the pair), `call_peak` the part the
metric call added over the peak before it (the pair's activations). Also prints the largest difference
between the tiled and the whole-image scores. CPU, torch's default threads.

Usage: nice .venv/bin/python bench/bench_deep_metrics_tiling.py [--metrics lpips,dists] [--tiles 0,512]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as std_platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
W, H = 2040, 1356


def _case(metric: str, tile: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import torch

    from evaluator.metrics import create_metric

    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 3, H, W, generator=g, dtype=torch.float64)
    gt = torch.nn.functional.avg_pool2d(gt, 5, stride=1, padding=2)  # some structure, not white noise
    pred = (gt + 0.05 * torch.randn(gt.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    m = create_metric(metric, device="cpu", tile=tile)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    value = m(pred, gt).item()
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "metric": metric,
        "tile": tile,
        "value": value,
        "seconds": elapsed,
        "peak_rss_mb": peak / 1024,
        "call_peak_mb": (peak - before) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", default="lpips,dists")
    parser.add_argument("--tiles", default="0,512")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        metric, tile = args.case.split(":")
        print(json.dumps(_case(metric, int(tile))))
        return
    print(f"# {std_platform.processor() or std_platform.machine()}, {os.cpu_count()} CPUs, {W}×{H} RGB pair")
    results = []
    for metric in args.metrics.split(","):
        for tile in (int(t) for t in args.tiles.split(",")):
            out = subprocess.run(
                [sys.executable, __file__, "--case", f"{metric}:{tile}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            r = results[-1]
            print(
                f"{metric:<10} tile={tile:<5} {r['value']:.9f}  {r['seconds']:7.1f} s  "
                f"peak RSS {r['peak_rss_mb']:7.0f} MB  (call added {r['call_peak_mb']:7.0f} MB)",
                flush=True,
            )
    for metric in args.metrics.split(","):
        values = [r["value"] for r in results if r["metric"] == metric]
        print(f"{metric}: largest tiled-vs-whole difference {max(values) - min(values):.2e}")


if __name__ == "__main__":
    main()
