"""Export the deep reference methods to ONNX model submissions (model + manifest).

    .venv/bin/python -m reference_methods.deep.export --out var/onnx

writes, for every entry of SUBMISSIONS, `<entry>.onnx` (standard opset, weights inside the file, one
NCHW float32 input "input" and output "output", dynamic batch/height/width unless the network has a
fixed input size) and `<entry>.manifest.json` (the model-submission manifest, see
docs/model_submissions.md). These are what the baselines submit through the sandboxed model runner,
so the leaderboard numbers of the deep methods come through the same path as participants' models.
"""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reference_methods.deep.inference import load_network

OPSET = 17


@dataclass(frozen=True)
class Submission:
    """One exported model: trained weights `weights`, with architecture overrides, for a task/scale."""

    weights: str
    task: str
    scale: int = 1
    overrides: dict[str, Any] = field(default_factory=dict)


SUBMISSIONS: dict[str, Submission] = {
    **{f"srcnn_x{s}": Submission("srcnn", "sr", s, {"scale": s}) for s in (2, 3, 4)},
    **{f"vdsr_x{s}": Submission("vdsr", "sr", s, {"scale": s}) for s in (2, 3, 4)},
    **{f"espcn_x{s}": Submission(f"espcn_x{s}", "sr", s) for s in (2, 3, 4)},
    **{f"srresnet_x{s}": Submission(f"srresnet_x{s}", "sr", s) for s in (2, 4)},
    **{f"srgan_x{s}": Submission(f"srgan_x{s}", "sr", s) for s in (2, 4)},
    "esrgan_x4": Submission("esrgan_x4", "sr", 4),
    "dncnn_s25": Submission("dncnn_s25", "denoise"),
    "ipt_denoise25": Submission("ipt", "denoise", 1, {"task": "denoise25"}),
    **{f"ipt_x{s}": Submission("ipt", "sr", s, {"task": f"sr{s}"}) for s in (2, 3, 4)},
}


class ClampedOutput(nn.Module):
    """`net` followed by a clamp to [0, 1]: exported reference models declare output_range [0, 1] and
    must keep to it (the registry path clips too); undertrained SR nets overshoot at sharp edges."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).clamp(0.0, 1.0)


def export_module(net: nn.Module, path: Path, fixed_size: int | None = None, channels: int = 1) -> Path:
    """Write `net` (eval mode, CPU) as ONNX to `path`; dynamic N/H/W unless `fixed_size` is given."""
    net = net.to("cpu").eval()
    side = fixed_size or 24
    example = torch.rand(1, channels, side, side)
    dynamic = {"input": {0: "N"}, "output": {0: "N"}}
    if fixed_size is None:
        dynamic = {"input": {0: "N", 2: "H", 3: "W"}, "output": {0: "N", 2: "H2", 3: "W2"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # the TorchScript-based exporter is deprecated but needs no onnxscript
        torch.onnx.export(
            net,
            (example,),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    return path


def manifest_for(sub: Submission, fixed_size: int | None) -> dict[str, Any]:
    """The model-submission manifest of an exported reference model."""
    manifest: dict[str, Any] = {
        "format": "onnx",
        "task": sub.task,
        "color": "y" if sub.task == "sr" else "gray",
    }
    if sub.task == "sr":
        manifest["scale"] = sub.scale
    if fixed_size is not None:
        manifest.update(tile_size=fixed_size, tile_overlap=8)
    return manifest


def export_submission(name: str, out_dir: Path, sub: Submission | None = None) -> tuple[Path, dict[str, Any]]:
    """Export SUBMISSIONS[name] (or `sub`, an entry kept off the leaderboards) with its trained weights;
    return (onnx path, manifest)."""
    sub = sub or SUBMISSIONS[name]
    net = load_network(sub.weights, **sub.overrides)
    fixed = getattr(net, "size", None)
    path = export_module(ClampedOutput(net), out_dir / f"{name}.onnx", fixed_size=fixed)
    manifest = manifest_for(sub, fixed)
    (out_dir / f"{name}.manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return path, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export the deep reference methods to ONNX submissions")
    parser.add_argument("--out", type=Path, default=Path("var/onnx"))
    parser.add_argument("names", nargs="*", help=f"entries (default all): {', '.join(SUBMISSIONS)}")
    args = parser.parse_args(argv)
    for name in args.names or SUBMISSIONS:
        path, manifest = export_submission(name, args.out)
        print(f"{path}  {json.dumps(manifest)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
