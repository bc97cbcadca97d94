"""Benchmark: scoring DIV2K-size image pairs (2040×1356 RGB) with the evaluator vs naive per-image loops.

Measures, in one run on the same synthetic data:
- decode only: decoding every PNG (prediction and ground truth) with the evaluator's decoder on the same
  thread pool — the floor for any scorer that reads PNGs;
- evaluator PSNR + SSIM (RGB, MATLAB ssim_index) over all pairs, via `evaluator.score`;
- naive pyiqa: a Python loop, one image at a time, PIL → tensor → pyiqa `psnr` and `ssim` (RGB,
  otherwise its defaults: CPU, float32), on the first `--baseline-n` pairs;
- naive scikit-image: the same loop with `skimage.metrics` (MATLAB SSIM settings), on `--baseline-n` pairs;
- LPIPS (AlexNet): evaluator vs a naive loop over the official `lpips` package (trunk filled from the same
  weights; pyiqa's LPIPS cannot run offline), on `--lpips-n` pairs.
Rates are images/s and megapixels/s (pixels of the ground truth); ratios compare per-image times, both
wall-clock and process CPU time (all threads; steadier than wall time on a shared machine).
Images are synthesised deterministically (PCG64 seeds): smooth sinusoids plus noise, so PNGs are
realistic in size (~6 MB); prediction = ground truth + Gaussian noise (σ = 5), rounded and clipped.

Usage: nice .venv/bin/python bench/bench_scoring.py [--n 100] [--baseline-n 8] [--lpips-n 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as std_platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

W, H = 2040, 1356


def synth_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(gt, pred) uint8 (H, W, 3), deterministic in `seed`."""
    rng = np.random.Generator(np.random.PCG64(seed))
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    fx, fy, ph = rng.uniform(20, 80, 3), rng.uniform(20, 80, 3), rng.uniform(0, 6.28, 3)
    gt = np.stack([128 + 90 * np.sin(xx / fx[c] + ph[c]) * np.cos(yy / fy[c]) for c in range(3)], axis=-1)
    gt += rng.normal(0, 6, gt.shape).astype(np.float32)
    gt8 = np.clip(np.floor(gt + 0.5), 0, 255).astype(np.uint8)
    pred = gt8 + rng.normal(0, 5, gt8.shape).astype(np.float32)
    return gt8, np.clip(np.floor(pred + 0.5), 0, 255).astype(np.uint8)


def make_data(folder: Path, n: int, workers: int) -> tuple[Path, Path]:
    gt_dir, pred_dir = folder / "gt", folder / "pred"
    gt_dir.mkdir(parents=True, exist_ok=True)
    pred_dir.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> None:
        name = f"{i + 1:04d}.png"
        if (gt_dir / name).exists() and (pred_dir / name).exists():
            return
        gt, pred = synth_pair(i)
        Image.fromarray(gt).save(gt_dir / name)
        Image.fromarray(pred).save(pred_dir / name)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(n)))
    return pred_dir, gt_dir


def subset(folder: Path, n: int, dest: Path) -> Path:
    """A folder of symlinks to the first n files (the evaluator refuses symlinks, so copy by hard link)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(folder.iterdir())[:n]:
        target = dest / f.name
        if not target.exists():
            os.link(f, target)
    return dest


_clock: dict[str, float] = {}


def start() -> None:
    """Start a measurement: wall clock and this process's CPU time (all threads)."""
    _clock["wall"], _clock["cpu"] = time.perf_counter(), time.process_time()


def rate(n: int) -> dict:
    """Rates since `start()`, wall and CPU (on a shared machine CPU seconds are the steadier number)."""
    wall = time.perf_counter() - _clock["wall"]
    cpu = time.process_time() - _clock["cpu"]
    return {
        "images": n,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "images_per_s": round(n / wall, 3),
        "mp_per_s": round(n * W * H / 1e6 / wall, 2),
        "s_per_image": round(wall / n, 3),
        "cpu_s_per_image": round(cpu / n, 3),
    }


def bench_decode(pred_dir: Path, gt_dir: Path, n: int, workers: int) -> dict:
    from evaluator.decoding import decode_image

    files = [d / f"{i + 1:04d}.png" for i in range(n) for d in (pred_dir, gt_dir)]
    start()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda p: decode_image(p.read_bytes(), p.name, 40_000_000).pixels.shape, files))
    return rate(n)


def bench_evaluator(
    pred_dir: Path, gt_dir: Path, metrics: tuple[str, ...], workers: int
) -> tuple[dict, dict]:
    from evaluator import ScoringSpec, score

    spec = ScoringSpec(metrics=metrics, ranking_metric=metrics[0], workers=workers, device="cpu")
    start()
    result = score(pred_dir, gt_dir, spec)
    return rate(result.n_scored), {r.name: r.scores for r in result.rows}


def _load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def bench_pyiqa(pred_dir: Path, gt_dir: Path, n: int) -> tuple[dict, dict]:
    import pyiqa
    import torch

    psnr = pyiqa.create_metric("psnr", device="cpu")
    ssim = pyiqa.create_metric("ssim", device="cpu", test_y_channel=False)  # RGB: the same work as ours
    scores = {}
    start()
    for i in range(n):
        name = f"{i + 1:04d}.png"
        p = torch.from_numpy(_load(pred_dir / name)).permute(2, 0, 1)[None].float() / 255
        g = torch.from_numpy(_load(gt_dir / name)).permute(2, 0, 1)[None].float() / 255
        scores[name] = {"psnr": psnr(p, g).item(), "ssim": ssim(p, g).item()}
    return rate(n), scores


def bench_skimage(pred_dir: Path, gt_dir: Path, n: int) -> tuple[dict, dict]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    scores = {}
    start()
    for i in range(n):
        name = f"{i + 1:04d}.png"
        p, g = _load(pred_dir / name), _load(gt_dir / name)
        scores[name] = {
            "psnr": peak_signal_noise_ratio(g, p, data_range=255),
            "ssim": structural_similarity(
                g,
                p,
                channel_axis=2,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=255,
            ),
        }
    return rate(n), scores


def bench_lpips_reference(pred_dir: Path, gt_dir: Path, n: int) -> tuple[dict, dict]:
    import lpips
    import torch

    from evaluator.weights import load_lpips_state_dict

    model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    state, _, _ = load_lpips_state_dict("alex")
    for s in range(1, 6):
        for name, module in getattr(model.net, f"slice{s}").named_children():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data.copy_(state[f"features.{name}.weight"])
                module.bias.data.copy_(state[f"features.{name}.bias"])
    scores = {}
    start()
    with torch.no_grad():
        for i in range(n):
            name = f"{i + 1:04d}.png"
            p = torch.from_numpy(_load(pred_dir / name)).permute(2, 0, 1)[None].float() / 255
            g = torch.from_numpy(_load(gt_dir / name)).permute(2, 0, 1)[None].float() / 255
            scores[name] = {"lpips": model(p, g, normalize=True).item()}
    return rate(n), scores


def max_diff(a: dict, b: dict, metric: str) -> float:
    return max(abs(a[k][metric] - b[k][metric]) for k in b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--baseline-n", type=int, default=8, help="pairs for the naive pyiqa/skimage loops")
    parser.add_argument("--lpips-n", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "restorebench-bench"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    t = time.perf_counter()
    pred_dir, gt_dir = make_data(args.data, args.n, args.workers)
    gen_s = time.perf_counter() - t
    out: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "cuda": torch.cuda.is_available(),
            "python": std_platform.python_version(),
            "torch": torch.__version__,
        },
        "pairs": args.n,
        "size": f"{W}x{H} RGB",
        "data_generation_s": round(gen_s, 1),
    }
    out["decode_only"] = bench_decode(pred_dir, gt_dir, args.n, args.workers)
    out["evaluator_psnr_ssim"], ours = bench_evaluator(pred_dir, gt_dir, ("psnr", "ssim"), args.workers)
    nb = min(args.baseline_n, args.n)
    base_pred = subset(pred_dir, nb, args.data / f"sub{nb}" / "pred")
    base_gt = subset(gt_dir, nb, args.data / f"sub{nb}" / "gt")
    out["pyiqa_naive_psnr_ssim"], theirs = bench_pyiqa(base_pred, base_gt, nb)
    out["skimage_naive_psnr_ssim"], sk = bench_skimage(base_pred, base_gt, nb)
    nl = min(args.lpips_n, args.n)
    lp_pred = subset(pred_dir, nl, args.data / f"sub{nl}" / "pred")
    lp_gt = subset(gt_dir, nl, args.data / f"sub{nl}" / "gt")
    out["evaluator_lpips"], ours_lp = bench_evaluator(lp_pred, lp_gt, ("lpips",), args.workers)
    out["lpips_package_naive"], ref_lp = bench_lpips_reference(lp_pred, lp_gt, nl)

    per = {k: v["s_per_image"] for k, v in out.items() if isinstance(v, dict) and "s_per_image" in v}
    cpu = {k: v["cpu_s_per_image"] for k, v in out.items() if isinstance(v, dict) and "cpu_s_per_image" in v}
    out["cpu_ratios"] = {
        "pyiqa_naive_over_evaluator": round(cpu["pyiqa_naive_psnr_ssim"] / cpu["evaluator_psnr_ssim"], 2),
        "skimage_naive_over_evaluator": round(cpu["skimage_naive_psnr_ssim"] / cpu["evaluator_psnr_ssim"], 2),
        "evaluator_over_decode_only": round(cpu["evaluator_psnr_ssim"] / cpu["decode_only"], 2),
        "lpips_naive_over_evaluator": round(cpu["lpips_package_naive"] / cpu["evaluator_lpips"], 2),
    }
    out["ratios"] = {
        "pyiqa_naive_over_evaluator": round(per["pyiqa_naive_psnr_ssim"] / per["evaluator_psnr_ssim"], 2),
        "skimage_naive_over_evaluator": round(per["skimage_naive_psnr_ssim"] / per["evaluator_psnr_ssim"], 2),
        "evaluator_over_decode_only": round(per["evaluator_psnr_ssim"] / per["decode_only"], 2),
        "lpips_naive_over_evaluator": round(per["lpips_package_naive"] / per["evaluator_lpips"], 2),
    }
    out["agreement"] = {
        "max_abs_diff_psnr_vs_skimage_db": max_diff(ours, sk, "psnr"),
        "max_abs_diff_ssim_vs_skimage": max_diff(ours, sk, "ssim"),
        "max_abs_diff_psnr_vs_pyiqa_db": max_diff(ours, theirs, "psnr"),
        "max_abs_diff_ssim_vs_pyiqa": max_diff(ours, theirs, "ssim"),
        "max_abs_diff_lpips_vs_lpips_package": max_diff(ours_lp, ref_lp, "lpips"),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
