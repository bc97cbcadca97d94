"""Throughput of the sandboxed model runner against calling the same ONNX model in process.

    nice .venv/bin/python bench/bench_model_runner.py --images 100 --size 128 --repeats 3

Track: N synthetic gray 8-bit PNGs (size × size, seeded). Model: the DnCNN reference architecture
(10 layers, 48 features; weights do not change the cost) exported to ONNX, task denoise, colour gray.

- in process: one onnxruntime session in this process; per image read the PNG, run, write the 8-bit
  PNG — the least work any runner must do.
- sandboxed: `run_model_submission` — child process start, imports, namespace and limits, copying
  inputs, per-image .npy hand-over and validation in the parent, PNG writing.
Both use the same number of intra-op threads. Runs alternate (in process, sandboxed, …) and the
median of `repeats` is reported, since the machine is shared. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluator.model_runner import RunLimits, run_model_submission  # noqa: E402
from evaluator.model_runner.sandbox import to_uint8  # noqa: E402


def make_track(folder: Path, n: int, size: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(folder / f"{i:04d}.png")


def export_model(path: Path) -> None:
    import torch

    from reference_methods.deep.archs import create_arch
    from reference_methods.deep.export import export_module

    torch.manual_seed(0)
    export_module(create_arch("dncnn").eval(), path)


def in_process(model: Path, inputs: Path, out: Path, threads: int) -> float:
    import onnxruntime as ort

    t = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(inputs.glob("*.png")):
        x = (np.asarray(Image.open(path), dtype=np.float32) / 255.0)[None, None]
        y = session.run(None, {"input": x})[0]
        Image.fromarray(to_uint8(y[0, 0].astype(np.float64))).save(out / path.name)
    return time.perf_counter() - t


def sandboxed(model: Path, inputs: Path, out: Path, threads: int) -> tuple[float, dict]:
    t = time.perf_counter()
    report = run_model_submission(
        model, {"task": "denoise", "color": "gray"}, inputs, out, RunLimits(threads=threads)
    )
    if not report.ok:
        raise RuntimeError(report.error)
    return time.perf_counter() - t, report.to_dict()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-model-runner-") as tmp:
        root = Path(tmp)
        make_track(root / "in", args.images, args.size)
        model = root / "dncnn.onnx"
        export_model(model)
        direct, boxed, report = [], [], {}
        for r in range(args.repeats):
            direct.append(in_process(model, root / "in", root / f"direct{r}", args.threads))
            seconds, report = sandboxed(model, root / "in", root / f"boxed{r}", args.threads)
            boxed.append(seconds)
            same = all(
                np.array_equal(np.asarray(Image.open(p)), np.asarray(Image.open(root / f"boxed{r}" / p.name)))
                for p in sorted((root / f"direct{r}").glob("*.png"))
            )
            print(
                f"repeat {r}: in process {direct[-1]:.2f} s, sandboxed {boxed[-1]:.2f} s, identical {same}",
                flush=True,
            )
    d, b = statistics.median(direct), statistics.median(boxed)
    summary = {
        "images": args.images,
        "size": args.size,
        "threads": args.threads,
        "in_process_s": round(d, 3),
        "sandboxed_s": round(b, 3),
        "in_process_images_per_s": round(args.images / d, 2),
        "sandboxed_images_per_s": round(args.images / b, 2),
        "overhead_pct": round(100 * (b - d) / d, 1),
        "all_in_process_s": [round(x, 2) for x in direct],
        "all_sandboxed_s": [round(x, 2) for x in boxed],
        "model_seconds_per_image": round(report["seconds_per_image"], 4),
        "peak_memory_mib": round(report["peak_memory_bytes"] / 2**20, 1),
        "parameters": report["parameters"],
        "sandbox": report["sandbox"],
    }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
