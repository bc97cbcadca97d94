"""Rank confidence speed: a paired bootstrap (1000 resamples) of 500 entries × 100 test images on a
metrics board, a formula board and a board combining them (issue target: under 2 s).

    python bench/bench_rank_confidence.py [--entries 500] [--images 100] [--resamples 1000] [--repeats 3]
"""

import argparse
import os
import platform as stdlib_platform
import time

import numpy as np

from evaluator.ranking.boards import parse_ranking
from evaluator.ranking.confidence import rank_confidence
from evaluator.ranking.rank import Entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    boards = parse_ranking(
        {
            "leaderboards": [
                {"slug": "fidelity", "title": "Fidelity", "metrics": ["psnr", "ssim"]},
                {"slug": "score", "title": "Score", "score": "psnr + 10*ssim - 5*lpips",
                 "order": "higher_first"},
                {"slug": "overall", "title": "Overall",
                 "combine": {"leaderboards": ["fidelity", "score"], "by": "mean_rank"}},
            ]
        },
        scored=["psnr", "ssim", "lpips"],
    )  # fmt: skip
    rng = np.random.default_rng(0)
    names = [f"{i:04d}.png" for i in range(args.images)]
    difficulty = rng.normal(0, 2, args.images)
    per_image, entries = [], []
    for _ in range(args.entries):
        skill = rng.normal(0, 1)
        table = {
            n: {"psnr": 28 + skill + d + rng.normal(0, 0.5), "ssim": 0.8 + 0.01 * skill + rng.normal(0, 0.01),
                "lpips": 0.2 - 0.01 * skill + rng.normal(0, 0.01)}
            for n, d in zip(names, difficulty, strict=True)
        }  # fmt: skip
        per_image.append(table)
        entries.append(
            Entry({m: float(np.mean([v[m] for v in table.values()])) for m in ("psnr", "ssim", "lpips")})
        )
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        rank_confidence(boards, entries, per_image, resamples=args.resamples, seed=0)
        times.append(time.perf_counter() - start)
    print(
        f"{args.entries} entries × {args.images} images × {args.resamples} resamples, 3 boards: "
        f"best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
        f"({stdlib_platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__})"
    )


if __name__ == "__main__":
    main()
