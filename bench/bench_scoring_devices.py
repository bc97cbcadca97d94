"""Benchmark: the evaluator's scoring on CPU against CUDA, on the same DIV2K-size pairs (2040×1356 RGB).

Measures in one run: decode only (the floor for any scorer that reads PNGs), evaluator PSNR + SSIM
(RGB, MATLAB ssim_index, float64) and evaluator LPIPS (AlexNet, float32), each with `device="cpu"`
and `device="cuda"`, plus the largest per-image difference between the two devices. Data and timing
helpers are bench_scoring.py's (same deterministic synthesis). Needs a CUDA machine; the naive
pyiqa / scikit-image comparisons are bench_scoring.py's job.

Usage: python bench/bench_scoring_devices.py [--n 40] [--lpips-n 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as std_platform
from pathlib import Path

import torch
from bench_scoring import bench_decode, make_data, max_diff, subset


def bench_on(device: str, pred: Path, gt: Path, metrics: tuple[str, ...], workers: int) -> tuple[dict, dict]:
    from bench_scoring import rate, start

    from evaluator import ScoringSpec, score

    spec = ScoringSpec(metrics=metrics, ranking_metric=metrics[0], workers=workers, device=device)
    score(subset(pred, 2, pred.parent / "warm" / "pred"), subset(gt, 2, gt.parent / "warm" / "gt"), spec)
    if device == "cuda":
        torch.cuda.synchronize()
    start()
    result = score(pred, gt, spec)
    if device == "cuda":
        torch.cuda.synchronize()
    return rate(result.n_scored), {r.name: r.scores for r in result.rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--lpips-n", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "restorebench-bench"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        parser.error("no CUDA device: this benchmark compares CPU and CUDA scoring")
    pred, gt = make_data(args.data, args.n, args.workers)
    out: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0),
            "python": std_platform.python_version(),
            "torch": torch.__version__,
        },
        "pairs": args.n,
        "decode_only": bench_decode(pred, gt, args.n, args.workers),
    }
    results = {}
    for device in ("cpu", "cuda"):
        out[f"psnr_ssim_{device}"], results[("ps", device)] = bench_on(
            device, pred, gt, ("psnr", "ssim"), args.workers
        )
    nl = min(args.lpips_n, args.n)
    lp_pred = subset(pred, nl, args.data / f"sub{nl}" / "pred")
    lp_gt = subset(gt, nl, args.data / f"sub{nl}" / "gt")
    for device in ("cpu", "cuda"):
        out[f"lpips_{device}"], results[("lp", device)] = bench_on(
            device, lp_pred, lp_gt, ("lpips",), args.workers
        )
    out["agreement_cuda_vs_cpu"] = {
        "max_abs_diff_psnr_db": max_diff(results[("ps", "cuda")], results[("ps", "cpu")], "psnr"),
        "max_abs_diff_ssim": max_diff(results[("ps", "cuda")], results[("ps", "cpu")], "ssim"),
        "max_abs_diff_lpips": max_diff(results[("lp", "cuda")], results[("lp", "cpu")], "lpips"),
    }
    per = {k: v["s_per_image"] for k, v in out.items() if isinstance(v, dict) and "s_per_image" in v}
    out["ratios"] = {
        "psnr_ssim_cuda_over_decode_only": round(per["psnr_ssim_cuda"] / per["decode_only"], 2),
        "psnr_ssim_cpu_over_cuda": round(per["psnr_ssim_cpu"] / per["psnr_ssim_cuda"], 2),
        "lpips_cpu_over_cuda": round(per["lpips_cpu"] / per["lpips_cuda"], 2),
    }
    print(json.dumps(out, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
