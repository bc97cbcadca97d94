"""Cost of ESRGAN's training iterations and of its ×4 inference, CPU time and wall time.

    nice -n 10 .venv/bin/python bench/bench_esrgan.py --repeats 5 --threads 1

- pretraining step: the esrgan_psnr_x4 recipe (RRDBNet, L1, batch 8 of 16×16 LR patches);
- GAN step: the esrgan_x4 recipe (generator + VGG16 up to conv5_3 on SR and HR + relativistic
  discriminator update), at batch 8 and 4;
- inference: the exported esrgan_x4 ONNX model (onnxruntime) on a 128×128 gray LR image (→ 512×512).
Random weights (the cost does not depend on them) and random inputs. CPU time (`time.process_time`)
is what the step costs; wall time also counts the other users of the shared machine. Median of
`repeats` after one warm-up run. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference_methods.deep.archs import create_arch  # noqa: E402
from reference_methods.deep.export import export_module  # noqa: E402
from reference_methods.deep.training.esrgan import ESRGANLoss  # noqa: E402
from reference_methods.deep.training.train import RECIPES  # noqa: E402


def timed(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    fn()  # warm-up (oneDNN primitive creation)
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return {"cpu_s": round(statistics.median(cpu), 3), "wall_s": round(statistics.median(wall), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    recipe = RECIPES["esrgan_x4"]
    net = create_arch(recipe.arch, **recipe.params)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    gan = ESRGANLoss(torch.device("cpu"), recipe.extra)
    results: dict[str, object] = {"threads": args.threads}

    def pretrain_step(batch: int = 8) -> None:
        x, y = torch.rand(batch, 1, 16, 16), torch.rand(batch, 1, 64, 64)
        loss = (net(x) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def gan_step(batch: int) -> None:
        x, y = torch.rand(batch, 1, 16, 16), torch.rand(batch, 1, 64, 64)
        sr = net(x)
        loss = gan.generator_step(sr, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        gan.discriminator_step(sr.detach(), y)

    results["pretrain_step_batch8"] = timed(pretrain_step, args.repeats)
    results["gan_step_batch8"] = timed(lambda: gan_step(8), args.repeats)
    results["gan_step_batch4"] = timed(lambda: gan_step(4), args.repeats)

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        path = export_module(net.eval(), Path(tmp) / "esrgan.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(path), options)
        x = torch.rand(1, 1, 128, 128).numpy()
        results["onnx_inference_128_to_512"] = timed(lambda: session.run(None, {"input": x}), args.repeats)
    results["parameters"] = sum(p.numel() for p in net.parameters())
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
