"""Efficiency of an ONNX model as NTIRE's efficiency tracks measure it: static counts and runtime.

`profile_counts(model, input_shape)`: the graph's shapes are inferred at `input_shape`, then
- `params`: elements of the floating-point initialisers (the weights; integer shape constants excluded);
- `macs` (= `flops` in fvcore's convention, one multiply–add = one FLOP): Conv = output elements ×
  (C_in / groups) × kH × kW; ConvTranspose = input elements × (C_out / groups) × kH × kW; MatMul/Gemm =
  the product's output elements × the contracted length (attention's two MatMuls included); Layer/
  Instance/GroupNormalization = elements × 5 (4 without scale), BatchNormalization × 2, as fvcore;
  element-wise, softmax and data-movement operators count zero, as fvcore counts them (listed under
  `zero_cost_ops`); any other operator is listed in `uncounted_ops`, never silently zero. Shapes come from
  ONNX shape inference, or, where it cannot tell (computed reshapes), from one onnxruntime run;
- `activations`: elements of every Conv output (NTIRE's definition), and `conv_layers`.
Bias additions are not counted (fvcore does not count them either).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

# Operators fvcore gives no cost (element-wise, activations, data movement, shape arithmetic).
ZERO_COST = frozenset(
    {
        "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Clip", "Neg", "Sqrt",
        "Pow", "Exp", "Erf", "Gelu", "Identity", "Reshape", "Transpose", "Flatten", "Concat", "Slice",
        "Gather", "Shape", "Unsqueeze", "Squeeze", "Constant", "ConstantOfShape", "Cast", "DepthToSpace",
        "SpaceToDepth", "Pad", "Expand", "Split", "Range", "Equal", "Where", "Tile", "Dropout",
        "Softmax", "Mod", "ReduceMean", "Floor", "Ceil", "Min", "Max", "Abs", "Less", "LessOrEqual",
        "Greater", "Not", "And", "Or",
    }
)  # fmt: skip
# Normalisations, as fvcore counts them: elements × (5 with an affine scale, else 4); BatchNorm × 2.
NORMS = {"LayerNormalization": 1, "InstanceNormalization": 1, "GroupNormalization": 1}


def _dims(value_info: Any) -> list[int] | None:
    shape = value_info.type.tensor_type.shape
    dims = [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]
    return None if any(d is None for d in dims) else dims


def _attr(node: Any, name: str, default: Any) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _probe_shapes(model: Any, inputs: dict[str, tuple[int, ...]], names: list[str]) -> dict[str, list[int]]:
    """Shapes of the tensors `names`, from one onnxruntime run on zeros with them exposed as outputs
    (on a participant's model: only inside the sandbox, see model_runner/child.py)."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in names:
        probe.graph.output.append(onnx.ValueInfoProto(name=name))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {i.name: np.zeros(inputs[i.name], dtype=np.float32) for i in session.get_inputs()}
    values = session.run(names, feed)
    return {n: list(np.shape(v)) for n, v in zip(names, values, strict=True)}


def _load(model: str | Path | bytes) -> Any:
    """The ModelProto, never resolving external data: a participant's file may name any path."""
    import onnx

    if isinstance(model, bytes):
        return onnx.load_model_from_string(model)
    return onnx.load(str(model), load_external_data=False)


def profile_counts(
    model_path: str | Path | bytes,
    input_shape: tuple[int, ...],
    other_inputs: dict[str, tuple[int, ...]] | None = None,
) -> dict[str, Any]:
    """Static counts of the ONNX model (a path or the file's bytes) at `input_shape`, the dimensions
    of its image input; `other_inputs` gives the shapes of any further input by name (a non-blind
    model's "kernel")."""
    import onnx
    from onnx import numpy_helper

    model = _load(model_path)
    other_inputs = dict(other_inputs or {})
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    images = [i for i in inputs if i.name not in other_inputs]
    if len(images) != 1 or len(inputs) != len(images) + len(other_inputs):
        raise ValueError(
            f"expected one image input besides {sorted(other_inputs) or 'no other'}, found "
            f"{[i.name for i in inputs]}"
        )
    shapes_in = {images[0].name: tuple(input_shape), **other_inputs}
    for value in inputs:
        dims, wanted = value.type.tensor_type.shape.dim, shapes_in[value.name]
        if len(dims) != len(wanted):
            raise ValueError(
                f"input {value.name!r} has {len(dims)} dimensions, the count gives {len(wanted)}"
            )
        for d, v in zip(dims, wanted, strict=True):
            d.ClearField("dim_param")
            d.dim_value = v
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    shapes = {v.name: _dims(v) for v in [*model.graph.value_info, *model.graph.input, *model.graph.output]}
    unknown = [o for n in model.graph.node for o in n.output if o and shapes.get(o) is None]
    if unknown:  # shapes that static inference cannot give (computed reshapes): run the model once
        shapes.update(_probe_shapes(model, shapes_in, unknown))
    weights = {i.name: list(i.dims) for i in model.graph.initializer}
    shapes.update(weights)
    params = sum(
        math.prod(i.dims) for i in model.graph.initializer if numpy_helper.to_array(i).dtype.kind == "f"
    )
    macs, activations, convs = 0, 0, 0
    zero, uncounted = Counter(), Counter()
    for node in model.graph.node:
        op = node.op_type
        if op in ("Conv", "ConvTranspose"):
            w, out = shapes.get(node.input[1]), shapes.get(node.output[0])
            x = shapes.get(node.input[0])
            if w is None or out is None or x is None:
                uncounted[op] += 1
                continue
            # w[1] is C_in/groups (Conv) or C_out/groups (ConvTranspose): groups are already in the weight.
            if op == "Conv":
                macs += math.prod(out) * w[1] * math.prod(w[2:])
                activations += math.prod(out)
                convs += 1
            else:  # weight (C_in, C_out / groups, kH, kW): every input element meets C_out/groups·k² taps
                macs += math.prod(x) * w[1] * math.prod(w[2:])
        elif op in ("MatMul", "Gemm"):
            a, out = shapes.get(node.input[0]), shapes.get(node.output[0])
            if a is None or out is None:
                uncounted[op] += 1
                continue
            k = a[-2] if op == "Gemm" and _attr(node, "transA", 0) else a[-1]
            macs += math.prod(out) * k
        elif op in NORMS or op == "BatchNormalization":
            x = shapes.get(node.input[0])
            if x is None:
                uncounted[op] += 1
                continue
            affine = len(node.input) > NORMS.get(op, 1) and bool(node.input[NORMS.get(op, 1)])
            macs += math.prod(x) * (2 if op == "BatchNormalization" else 5 if affine else 4)
        elif op in ZERO_COST:
            zero[op] += 1
        else:
            uncounted[op] += 1
    return {
        "input": list(input_shape),
        "params": params,
        "macs": macs,
        "flops": macs,  # fvcore's convention: one multiply–add = one FLOP
        "flops_convention": "fvcore: one multiply-add = one FLOP (macs); bias, element-wise ops not counted",
        "activations": activations,
        "conv_layers": convs,
        "zero_cost_ops": dict(sorted(zero.items())),
        "uncounted_ops": dict(sorted(uncounted.items())),
    }


def profile_runtime(model_path: str | Path, input_shape: tuple[int, ...], device: str, repeats: int) -> dict:
    """onnxruntime: one warm-up run, then `repeats` timed runs on a fixed random input; median and mean
    seconds on the device's clock (CUDA events on a GPU, `model_runner/timer.py`), the device's name,
    library versions, and the process's peak-RSS growth over the runs (CPU)."""
    import resource

    import numpy as np
    import onnxruntime as ort

    from evaluator.model_runner.timer import clock_for, device_name, ort_cuda_provider, time_repeats

    if repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {repeats}")
    libraries = {"onnxruntime": ort.__version__, "numpy": np.__version__}
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ValueError("--device cuda: onnxruntime has no CUDA provider on this worker")
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda: torch sees no CUDA device (CUDA events time the runs)")
        libraries.update(torch=torch.__version__, cuda=str(torch.version.cuda))
        providers: list = [ort_cuda_provider()]  # on torch's stream: the events bracket its kernels
    else:
        providers = ["CPUExecutionProvider"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    session = ort.InferenceSession(str(model_path), providers=providers)
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).random(input_shape, dtype=np.float32)
    timed = time_repeats(
        lambda: session.run(None, {name: x}), repeats=repeats, warmup=1, clock=clock_for(device)
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "runtime": {**timed.to_dict(), "device": device_name(device), "libraries": libraries},
        "peak_memory": {"bytes": (peak - before) * 1024, "how": "growth of the process's peak RSS"},
    }
