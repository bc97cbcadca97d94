"""Bit-for-bit reproducible training: one place that pins seeds, algorithms, threads and the device.

A run is reproducible when the same command (same iteration budget, seed, device and thread count) on
the same torch build gives the identical weight file. What that takes:
- a budget in iterations (a wall-clock budget stops at a different step on every run);
- torch's RNG seeded here and every data sampler seeded from the run's seed (numpy Generators);
- `torch.use_deterministic_algorithms(True)`, cuDNN autotuning off and a fixed cuBLAS workspace
  (CUDA matmuls are otherwise free to pick split reductions run to run);
- a fixed CPU thread count: oneDNN/BLAS split float sums by thread, so another count can change the
  last bits.
The global switches are restored afterwards, so an in-process caller (a test) is left as it was.
`save_weights` writes the safetensors file with its JSON header in sorted key order: safetensors
itself serialises the metadata from a hash map, in an order that changes from process to process.
"""

from __future__ import annotations

import json
import os
import platform as std_platform
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save


def pick_device(name: str | None = None) -> torch.device:
    """`name` ("cpu" / "cuda"), or CUDA when present and the CPU otherwise."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA device is available")
    return torch.device(name)


@contextmanager
def deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seed torch, force deterministic algorithms and `threads` CPU threads for the block."""
    if threads < 1:
        raise ValueError(f"threads must be a positive number, got {threads}")
    # Read by cuBLAS when its handle is created, so it must be set before the first CUDA matmul.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.get_num_threads(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
    )
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0])
        torch.set_num_threads(saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2], saved[3]


def device_label(device: torch.device) -> str:
    """What the record and the weight file's metadata name as the training device."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def run_record(
    net: torch.nn.Module,
    *,
    where: torch.device,
    threads: int,
    seconds: float,
    steps: int,
    seed: int,
    history: list[Any],
) -> dict[str, Any]:
    """The part of a training record every recipe writes: budget, seed, device, machine, size, losses."""
    return {
        "seconds": round(seconds, 1),
        "steps": steps,
        "seed": seed,
        "deterministic": True,
        "device": str(where),
        "device_name": device_label(where),
        "cpu_threads": threads,
        "machine": f"{std_platform.machine()}, torch {torch.__version__}",
        "parameters": sum(p.numel() for p in net.parameters()),
        "loss_history": history,
    }


def save_weights(state: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """A safetensors file whose bytes depend only on `state` and `metadata` (sorted JSON header)."""
    blob = save(state, metadata=metadata)
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes with spaces
    # Tensor offsets are relative to the end of the header, so the data block is unchanged.
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + blob[8 + size :])


def reproduction_command(module: str, name: str, record: dict[str, Any]) -> str:
    """The iteration-budget command that retrains `record`'s recipe deterministically."""
    # Recorded data entries may carry a note in parentheses ("… (a copy carried to …)").
    data = " ".join(f"--data {str(d).split(' (')[0]}" for d in record["data"] if "starter" not in str(d))
    batch = record.get("batch", record["recipe"].get("batch"))
    device = "cuda" if str(record["device"]).startswith("cuda") else "cpu"
    return (
        f"python -m {module} {name} {data} --steps {record['steps']} --seed {record['seed']} "
        f"--batch {batch} --threads {record.get('cpu_threads', 1)} --device {device}"
    )


def reproduction_note(module: str, name: str, record: dict[str, Any]) -> str:
    """The model card's line on how (and whether) this very file is reproduced."""
    command = reproduction_command(module, name, record)
    where = f"{record.get('device_name', record['device'])}, {record['machine']}"
    # Bit identity is tested on the CPU only (CI has no GPU).
    scope = (
        "bit for bit with the same torch build"
        if not str(record["device"]).startswith("cuda")
        else "deterministic algorithms on; bit identity on CUDA untested, CI has no GPU"
    )
    if record.get("deterministic"):
        return (
            f"- Reproduction: `{command}` retrains this file ({scope}); {record['steps']} iterations, "
            f"seed {record['seed']}, on {where}."
        )
    return (
        f"- Reproduction: this file predates iteration budgets and deterministic training (a wall-clock "
        f"budget on {where}), so no command rewrites it bit for bit. The same recipe at its "
        f"{record['steps']} iterations: `{command}` (a new file; {scope}; on the CPU with "
        "`--device cpu`, bit for bit)."
    )
