"""Recognise a submitted model file and check it statically before anything runs it.

Accepted: ONNX (a protobuf `ModelProto`, run by onnxruntime with only the standard operator sets)
and safetensors (an 8-byte little-endian header length, a JSON header, raw tensor bytes) holding the
weights of a registered reference architecture.

Refused, each with the reason: pickles and legacy `torch.save` files, TorchScript archives,
`torch.export` (.pt2) archives and plain `torch.save` zip archives (all of them unpickle or carry
code: loading one can execute arbitrary Python), NumPy/HDF5/other zip files, ONNX models using an
operator domain other than the standard ones (custom ops need a shared library that we never load),
and ONNX models whose tensors live in external data files (they make the runtime read other paths).

Nothing here executes the model; ONNX is parsed with `onnx.load(load_external_data=False)`.
"""

from __future__ import annotations

import json
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evaluator.model_runner.manifest import Manifest

# Operator domains implemented by onnxruntime itself from the ONNX standard. Anything else is a
# custom-op domain, which would need a custom-op library registered with the session.
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
_SAFETENSORS_DTYPES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
}
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
KERNEL_INPUT = "kernel"  # the name of the blur-kernel input of a kernel_input model


class ModelFormatError(ValueError):
    """The model file is refused; `kind` names the reason for reports and tests."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ModelInfo:
    """What static inspection learnt about an accepted model file.

    input_shape / output_shape: the ONNX graph's declared NCHW shapes (an int for a fixed dimension,
    a string or None for a dynamic one); None for safetensors. input_name / input_shape are the image
    input's; kernel_shape is the declared shape of the "kernel" input (kernel_input models only).
    """

    format: str
    parameters: int
    size_bytes: int
    input_name: str | None = None
    input_shape: tuple[int | str | None, ...] | None = None
    output_shape: tuple[int | str | None, ...] | None = None
    opset: int | None = None
    kernel_shape: tuple[int | str | None, ...] | None = None


def _zip_kind(path: Path) -> str:
    """Name what a zip archive is, from its member names (PyTorch's layouts are documented)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError, ValueError, EOFError, OSError):
        # A damaged directory raises more than BadZipFile (an unsupported version, a bad UTF-8 name).
        return "a damaged zip archive"
    base = {n.split("/", 1)[1] if "/" in n else n for n in names}
    if any(n.startswith("code/") for n in base) or "constants.pkl" in base:
        return "a TorchScript archive (torch.jit.save)"
    if any("serialized_exported_program" in n or n.endswith("archive_format") for n in names):
        return "a torch.export archive (.pt2)"
    if "data.pkl" in base:
        return "a torch.save archive"
    return "a zip archive"


def detect_format(path: Path) -> str:
    """Return "onnx" or "safetensors" for a file that may be either; raise ModelFormatError otherwise.

    Detection reads magic bytes and structure, never the file name's extension.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise ModelFormatError("invalid_file", f"cannot read the model file {path.name}: {exc}") from None
    if size == 0:
        raise ModelFormatError("invalid_file", f"the model file {path.name} is empty")
    if head[:4] == b"PK\x03\x04":
        what = _zip_kind(path)
        if what.startswith(("a TorchScript", "a torch.export", "a torch.save")):
            raise ModelFormatError(
                "refused_format",
                f"{path.name} is {what}. These archives are refused: they are unpickled when loaded "
                "(TorchScript also carries code), so opening one can execute arbitrary Python. "
                "Export the model to ONNX (torch.onnx.export) or submit safetensors weights for a "
                "registered architecture instead.",
            )
        raise ModelFormatError(
            "invalid_file", f"{path.name} is {what}, not an ONNX model or safetensors file"
        )
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        raise ModelFormatError(
            "refused_format",
            f"{path.name} is a Python pickle (protocol {head[1]}; legacy torch.save files are pickles). "
            "Pickles are refused: unpickling can execute arbitrary code. Submit ONNX or safetensors.",
        )
    if head[:6] == b"\x93NUMPY":
        raise ModelFormatError("invalid_file", f"{path.name} is a NumPy .npy array, not a model")
    if head[:4] == b"\x89HDF":
        raise ModelFormatError(
            "invalid_file", f"{path.name} is an HDF5 file (Keras?), not ONNX or safetensors"
        )
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n <= min(size - 8, MAX_SAFETENSORS_HEADER) and head[8:9] == b"{":
            return "safetensors"
    # ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
    if head[:1] == b"\x08":
        return "onnx"
    raise ModelFormatError(
        "invalid_file",
        f"{path.name} is neither an ONNX model nor a safetensors file "
        f"(unrecognised first bytes {head[:8].hex()})",
    )


def _shape(value_info) -> tuple[int | str | None, ...] | None:  # noqa: ANN001 - onnx ValueInfoProto
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    dims: list[int | str | None] = []
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return tuple(dims)


def _iter_graphs(graph):  # noqa: ANN001, ANN202 - onnx GraphProto
    """The graph and every subgraph (If/Loop/Scan bodies), depth first."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _iter_graphs(attr.g)
            for g in attr.graphs:
                yield from _iter_graphs(g)


def _tensors_of(graph):  # noqa: ANN001, ANN202
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors


def inspect_onnx(
    path: Path, channels: int, *, mask_input: bool = False, kernel_input: bool = False, frames: int = 1
) -> ModelInfo:
    """Parse and check an ONNX model; raise ModelFormatError naming the problem.

    Checks: it parses as a ModelProto and passes `onnx.checker`; every operator comes from a
    standard domain; no tensor uses external data; exactly one float32 image input and one float32
    output, both rank 4 (NCHW), with `channels` channels (the input `channels + 1` with `mask_input`)
    where the channel dimension is fixed. With `kernel_input` there must be exactly one more input,
    named "kernel", float32 (1, 1, kh, kw); without it, such an input is refused.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not ONNX"
        raise ModelFormatError("invalid_file", f"{path.name} is not a valid ONNX model: {exc}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError(
            "invalid_file", f"{path.name} is not a valid ONNX model: it has no graph nodes"
        )

    function_domains = {(f.domain, f.name) for f in model.functions}
    custom: set[str] = set()
    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS and opset.domain not in {d for d, _ in function_domains}:
            custom.add(opset.domain)
    graphs = list(_iter_graphs(model.graph))
    for fn in model.functions:
        graphs_nodes = fn.node
        for node in graphs_nodes:
            if node.domain not in STANDARD_DOMAINS:
                custom.add(node.domain)
    for g in graphs:
        for node in g.node:
            if node.domain not in STANDARD_DOMAINS and (node.domain, node.op_type) not in function_domains:
                custom.add(f"{node.domain}::{node.op_type}")
    if custom:
        raise ModelFormatError(
            "custom_op",
            f"{path.name} uses operators outside the standard ONNX domains ({', '.join(sorted(custom))}). "
            "Custom operators need a native library, which is never loaded for submissions; "
            "use standard ONNX operators only.",
        )
    for g in graphs:
        for tensor in _tensors_of(g):
            if tensor.data_location == TensorProto.EXTERNAL or tensor.external_data:
                raise ModelFormatError(
                    "external_data",
                    f"{path.name} stores tensor {tensor.name or '(unnamed)'} in an external data file. "
                    "External data is refused (it makes the runtime open other paths); save the model "
                    "with all tensors inside the .onnx file (onnx.save(..., save_as_external_data=False)).",
                )
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types
        raise ModelFormatError("invalid_file", f"{path.name} is not a valid ONNX model: {exc}") from None

    init_names = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init_names]
    outputs = list(model.graph.output)
    image_inputs = [i for i in inputs if i.name != KERNEL_INPUT]
    kernel_inputs = [i for i in inputs if i.name == KERNEL_INPUT]
    if kernel_input:
        if len(inputs) != 2 or len(image_inputs) != 1 or len(kernel_inputs) != 1 or len(outputs) != 1:
            names = ", ".join(repr(i.name) for i in inputs)
            raise ModelFormatError(
                "interface",
                f"{path.name}: with kernel_input the model must have exactly two inputs, the image "
                f"(NCHW float32) and one named {KERNEL_INPUT!r} (float32, shape (1, 1, kh, kw)), and one "
                f"output; it has {len(inputs)} input(s) ({names}) and {len(outputs)} output(s)",
            )
    elif len(inputs) != 1 or len(outputs) != 1:
        hint = (
            f'; a second input named {KERNEL_INPUT!r} needs "kernel_input": true in the manifest '
            "(task 'deblur' only)"
            if kernel_inputs
            else ""
        )
        raise ModelFormatError(
            "interface",
            f"{path.name} must have exactly one input and one output (NCHW float32 images); "
            f"it has {len(inputs)} input(s) and {len(outputs)} output(s){hint}",
        )
    image_input = image_inputs[0] if kernel_input else inputs[0]
    in_channels = channels * frames + (1 if mask_input else 0)
    for role, vi, want in (("input", image_input, in_channels), ("output", outputs[0], channels)):
        elem = vi.type.tensor_type.elem_type
        if elem != TensorProto.FLOAT:
            raise ModelFormatError(
                "interface",
                f"{path.name}: the {role} {vi.name!r} must be float32, "
                f"got {TensorProto.DataType.Name(elem) if elem else 'unknown'}",
            )
        shape = _shape(vi)
        if shape is not None and len(shape) != 4:
            raise ModelFormatError(
                "interface",
                f"{path.name}: the {role} {vi.name!r} must be rank 4 (N, C, H, W), got shape {shape}",
            )
        if shape is not None and isinstance(shape[1], int) and shape[1] != want:
            what = (
                f"{channels} colour channel(s) plus the mask channel (mask_input)"
                if role == "input" and mask_input
                else f"{channels} colour channel(s) × {frames} frames"
                if role == "input" and frames > 1
                else f"{want}"
            )
            raise ModelFormatError(
                "interface",
                f"{path.name}: the {role} {vi.name!r} has {shape[1]} channels but the manifest's color "
                f"mode needs {what}",
            )
    kernel_shape = None
    if kernel_input:
        vi = kernel_inputs[0]
        elem = vi.type.tensor_type.elem_type
        kernel_shape = _shape(vi)
        if (
            elem != TensorProto.FLOAT
            or (kernel_shape is not None and len(kernel_shape) != 4)
            or (kernel_shape is not None and any(isinstance(d, int) and d != 1 for d in kernel_shape[:2]))
        ):
            dtype = TensorProto.DataType.Name(elem) if elem else "unknown"
            raise ModelFormatError(
                "interface",
                f"{path.name}: the input {KERNEL_INPUT!r} must be float32 with shape (1, 1, kh, kw), "
                f"got {dtype} {kernel_shape}",
            )

    parameters = 0
    for g in graphs:
        for tensor in _tensors_of(g):
            if tensor.data_type in (
                TensorProto.FLOAT,
                TensorProto.FLOAT16,
                TensorProto.DOUBLE,
                TensorProto.BFLOAT16,
            ):
                parameters += int(np.prod(tensor.dims, dtype=np.int64)) if len(tensor.dims) else 1
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return ModelInfo(
        format="onnx",
        parameters=parameters,
        size_bytes=path.stat().st_size,
        input_name=image_input.name,
        input_shape=_shape(image_input),
        output_shape=_shape(outputs[0]),
        opset=opset,
        kernel_shape=kernel_shape,
    )


def inspect_safetensors(path: Path) -> ModelInfo:
    """Check a safetensors file's header against its size; count parameters (floating tensors)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(
            "invalid_file", f"{path.name}: the safetensors header is not valid JSON: {exc}"
        ) from None
    except RecursionError:
        raise ModelFormatError(
            "invalid_file", f"{path.name}: the safetensors header is not valid JSON: it is nested too deeply"
        ) from None
    if not isinstance(header, dict):
        raise ModelFormatError("invalid_file", f"{path.name}: the safetensors header is not a JSON object")
    data_len = size - 8 - n
    parameters = 0
    end_max = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            count = 1
            for dim in shape:
                if not isinstance(dim, int) or dim < 0:
                    raise ValueError
                count *= dim
            nbytes = count * _SAFETENSORS_DTYPES[dtype]
        except (KeyError, TypeError, ValueError):
            raise ModelFormatError(
                "invalid_file", f"{path.name}: safetensors entry {name!r} is malformed: {entry!r}"[:300]
            ) from None
        if not (0 <= start <= end <= data_len) or end - start != nbytes:
            raise ModelFormatError(
                "invalid_file",
                f"{path.name}: tensor {name!r} ({dtype} {shape}) has data offsets [{start}, {end}) that do "
                f"not fit its size or the file ({data_len} data bytes)",
            )
        end_max = max(end_max, end)
        if dtype in ("F64", "F32", "F16", "BF16"):
            parameters += count
    if end_max != data_len:
        raise ModelFormatError(
            "invalid_file", f"{path.name}: {data_len - end_max} trailing bytes after the last tensor"
        )
    return ModelInfo(format="safetensors", parameters=parameters, size_bytes=size)


def inspect_model(path: Path, manifest: Manifest) -> ModelInfo:
    """Detect the model file's format, check that the manifest fits it, and inspect it statically.

    The checks the sandbox runs before starting a child and the platform runs at upload: a declared
    `format` must match the file; `architecture` is for safetensors only and required there; ONNX
    models must have the interface the manifest implies (one more input channel for `mask_input`, a
    second input named "kernel" for `kernel_input`); safetensors weights cannot take side inputs.
    Raises ModelFormatError.
    """
    fmt = detect_format(path)
    if manifest.format is not None and manifest.format != fmt:
        raise ModelFormatError(
            "manifest", f"the manifest says format {manifest.format!r} but the model file is {fmt}"
        )
    if fmt == "onnx":
        if manifest.architecture is not None:
            raise ModelFormatError(
                "manifest", "'architecture' applies to safetensors weights; this is an ONNX model"
            )
        return inspect_onnx(
            path,
            manifest.channels,
            mask_input=manifest.mask_input,
            kernel_input=manifest.kernel_input,
            frames=manifest.frames,
        )
    for flag in ("mask_input", "kernel_input"):
        if getattr(manifest, flag):
            raise ModelFormatError(
                "manifest",
                f"{flag} needs an ONNX model (this is safetensors weights, and the registered "
                "architectures take the image only)",
            )
    if manifest.architecture is None:
        raise ModelFormatError("manifest", "safetensors weights need 'architecture' in the manifest")
    return inspect_safetensors(path)
