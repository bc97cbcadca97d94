"""Command-line face of the reference methods: list the registry, restore a folder of images.

    python -m reference_methods methods [--task TASK]
    python -m reference_methods restore --method NAME --task TASK [--sigma S] [--scale K]
        [--kernel FILE_OR_DIR] [--mask-dir DIR] [--param NAME=VALUE ...] [--seed N] IN_DIR OUT_DIR

`python manage.py methods` and `python manage.py restore` are thin wrappers around the same
functions (`add_restore_arguments`, `restore_folder`, `methods_table`), so both faces behave alike.

Folders: every image of IN_DIR (top level; PNG/BMP/TIFF/JPEG/PPM/PGM read by
`benchdata.image_files.read_image`, or `.npy` float arrays on [0, 1] as `benchdata` writes
unquantised observations) is restored to OUT_DIR/<stem>.png (8-bit, `benchdata.image_files`).
Kernels and masks sitting beside the inputs (`<stem>_kernel.npy`, `<stem>_kernel.png`,
`<stem>_mask.png`, as `manage.py degrade` writes them) are not inputs. Per-image side data:

- deblur: `--kernel FILE` (one kernel for every image, .npy or .png) or `--kernel DIR` (per image,
  `DIR/<stem>.npy` or `DIR/<stem>_kernel.npy`, as track data and `degrade` lay them out); without
  `--kernel`, `<stem>_kernel.npy` beside the input.
- inpaint: `--mask-dir DIR` (`DIR/<stem>.png` or `DIR/<stem>_mask.png`); without it,
  `<stem>_mask.png` beside the input.

An image that fails (unreadable file, missing mask, a method error) is reported by name and the
others go on; the exit status is non-zero if any image failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from tqdm import tqdm

from benchdata.degradations.kernels import load_kernel
from benchdata.image_files import read_image, read_mask, write_image
from benchdata.importing import IMAGE_EXTENSIONS
from benchdata.observations import read_frames
from benchdata.tasks import get_task
from reference_methods.registry import (
    TASKS,
    MethodError,
    RestorationContext,
    get_method,
    list_methods,
    restore,
    serves,
)

_SIDE_SUFFIXES = ("_kernel", "_mask")


@dataclass
class FolderReport:
    """What `restore_folder` did: outputs written, failures by input name, time spent restoring."""

    written: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    megapixels: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def methods_table(task: str | None = None) -> str:
    """The registry as a plain-text table, one method per line: name, family, tasks, SR scales
    ("any" = every integer scale), citation, and the method's documented known failures, if any,
    in brackets at the end of its line."""
    infos = list_methods(task)
    rows = [("name", "family", "tasks", "scales", "citation")]
    for m in infos:
        scales = ",".join(f"×{s}" for s in m.scales) if m.scales else ("any" if "sr" in m.tasks else "-")
        failures = "".join(f"  [{f.label()}]" for f in m.known_failures)
        rows.append((m.name, m.family, ",".join(m.tasks), scales, m.citation + failures))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r[:4], widths, strict=True)) + f"  {r[4]}" for r in rows]
    return "\n".join(lines)


def parse_param(text: str) -> tuple[str, Any]:
    """`NAME=VALUE` -> (NAME, value); VALUE is read as JSON (numbers, true/false, null, "strings"),
    falling back to the raw string, so `--param wavelet=db4` and `--param h=0.05` both work."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--param expects NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def add_restore_arguments(parser: argparse.ArgumentParser) -> None:
    """The `restore` options, shared by `python -m reference_methods restore` and `manage.py restore`."""
    parser.add_argument("--method", required=True, help="registered method name (see the `methods` command)")
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument("--sigma", type=float, default=None, help="noise std on the 0-255 scale")
    parser.add_argument("--scale", type=int, default=None, help="super-resolution factor")
    parser.add_argument("--quality", type=int, default=None, help="JPEG quality of the inputs (jpeg)")
    parser.add_argument(
        "--kernel", default=None, help="blur kernel file (.npy/.png) or folder of per-image kernels"
    )
    parser.add_argument(
        "--mask-dir", default=None, help="folder of per-image masks (<stem>.png, 255 = missing)"
    )
    parser.add_argument(
        "--param",
        action="append",
        type=parse_param,
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for methods with randomness")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("in_dir", help="folder of degraded images")
    parser.add_argument("out_dir", help="folder for the restored PNGs")


def list_inputs(in_dir: Path, frames: bool = False) -> list[Path]:
    """The degraded images of `in_dir` (sorted), leaving out kernels and masks stored beside them;
    with `frames`, its sub-folders (one multi-frame sample each, as burst_sr inputs are stored)."""
    if not in_dir.is_dir():
        raise FileNotFoundError(f"{in_dir}: input folder not found")
    suffixes = IMAGE_EXTENSIONS | {".npy"}
    inputs = [
        p
        for p in sorted(in_dir.iterdir())
        if (frames and p.is_dir() and not p.name.startswith("."))
        or (
            not frames
            and p.is_file()
            and p.suffix.lower() in suffixes
            and not p.stem.endswith(_SIDE_SUFFIXES)
        )
    ]
    stems = [p.stem for p in inputs]
    doubled = sorted({s for s in stems if stems.count(s) > 1})
    if doubled:
        raise ValueError(
            f"{in_dir}: several inputs share a stem (outputs would collide): {', '.join(doubled)}"
        )
    return inputs


def read_input(path: Path) -> np.ndarray:
    """A degraded image: an image file via `read_image`, a `.npy` float (H, W[, 3]) array, or a folder
    of PNG frames (N, H, W[, 3])."""
    if path.is_dir():
        return read_frames(path)
    if path.suffix.lower() != ".npy":
        return read_image(path)
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"{path}: not a plain numpy array ({error})") from error
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{path}: a .npy input must hold floats on [0, 1], got dtype {array.dtype}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"{path}: expected an (H, W) or (H, W, 3) array, got shape {array.shape}")
    return array.astype(np.float64)


def _first_existing(candidates: Sequence[Path], what: str, stem: str) -> Path:
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    names = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no {what} for {stem!r} (looked for {names})")


def kernel_for(image: Path, kernel: str | None) -> np.ndarray:
    """The kernel of `image`: the `--kernel` file, its per-image file in the `--kernel` folder, or
    `<stem>_kernel.npy` beside the image."""
    stem = image.stem
    if kernel is not None and Path(kernel).is_file():
        return load_kernel(kernel)
    if kernel is not None:
        folder = Path(kernel)
        if not folder.is_dir():
            raise FileNotFoundError(f"--kernel {kernel}: neither a file nor a folder")
        path = _first_existing([folder / f"{stem}.npy", folder / f"{stem}_kernel.npy"], "kernel", stem)
    else:
        path = _first_existing([image.parent / f"{stem}_kernel.npy"], "kernel (use --kernel)", stem)
    return load_kernel(path)


def mask_for(image: Path, mask_dir: str | None) -> np.ndarray:
    """The mask of `image`: `<mask_dir>/<stem>.png` or `<stem>_mask.png`, else `<stem>_mask.png` beside it."""
    stem = image.stem
    if mask_dir is not None:
        folder = Path(mask_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"--mask-dir {mask_dir}: folder not found")
        path = _first_existing([folder / f"{stem}.png", folder / f"{stem}_mask.png"], "mask", stem)
    else:
        path = _first_existing([image.parent / f"{stem}_mask.png"], "mask (use --mask-dir)", stem)
    return read_mask(path)


def restore_folder(
    method: str,
    task: str,
    in_dir: str | Path,
    out_dir: str | Path,
    *,
    sigma: float | None = None,
    scale: int | None = None,
    quality: int | None = None,
    kernel: str | None = None,
    mask_dir: str | None = None,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    progress: bool = True,
    stream: TextIO | None = None,
) -> FolderReport:
    """Restore every input of `in_dir` with `method` into `out_dir`/<stem>.png (see the module docstring).

    Problems that concern the whole run (unknown method, a task it does not serve, a parameter it
    does not have, a missing input folder) raise MethodError / FileNotFoundError before any image
    is read; a problem with one image is recorded in the report and the next image goes on.
    """
    info = get_method(method)
    task_info = get_task(task)
    given = {"sigma": sigma, "scale": scale, "quality": quality}
    disclosed = {n for n, v in given.items() if v is not None} | {n for n in ("kernel", "mask")}
    refusal = serves(info, task, disclosed)
    if refusal:
        raise MethodError(refusal)
    missing = [n for n in task_info.requires if given.get(n) is None]
    if missing:
        raise MethodError(f"a {task} track discloses the {', '.join(missing)}: pass --{' --'.join(missing)}")
    if sigma is not None and sigma < 0:
        raise MethodError("the noise level --sigma must be >= 0 (0-255 scale)")
    if task_info.scaled and scale < 2:
        raise MethodError(f"super-resolution needs --scale (an integer >= 2), got {scale!r}")
    base = RestorationContext(
        task=task, sigma=sigma, scale=scale, quality=quality, params=dict(params or {}), seed=seed
    )
    info.parameters(base)  # unknown or ill-typed parameter overrides fail now, not once per image
    needs = info.needs(task)
    src, dst = Path(in_dir), Path(out_dir)
    inputs = list_inputs(src, frames=task_info.multi_frame)
    if not inputs:
        raise FileNotFoundError(f"{src}: no input images ({', '.join(sorted(IMAGE_EXTENSIONS | {'.npy'}))})")
    if src.resolve() == dst.resolve():
        raise ValueError(f"{src}: the output folder must differ from the input folder")
    dst.mkdir(parents=True, exist_ok=True)
    report = FolderReport()
    bar = tqdm(inputs, desc=f"{method} ({task})", unit="img", disable=not progress, file=stream or sys.stderr)
    for path in bar:
        try:
            degraded = read_input(path)
            context = base
            if "kernel" in needs or (kernel is not None and "kernel" in task_info.disclosures):
                context = context.replace(kernel=kernel_for(path, kernel))
            if "mask" in needs or (mask_dir is not None and "mask" in task_info.disclosures):
                context = context.replace(mask=mask_for(path, mask_dir))
            start = time.perf_counter()
            restored = restore(method, degraded, context)
            report.seconds += time.perf_counter() - start
            report.megapixels += restored.shape[0] * restored.shape[1] / 1e6
            report.written.append(write_image(dst / f"{path.stem}.png", restored))
        except (MethodError, ValueError, OSError) as error:
            report.failed[path.name] = str(error)
    return report


def summary(report: FolderReport) -> str:
    """One line on what a run did, then one line per failed image."""
    rate = f", {report.seconds / report.megapixels:.2f} s/megapixel" if report.megapixels else ""
    done, failed = len(report.written), len(report.failed)
    lines = [f"restored {done} image(s) in {report.seconds:.1f} s{rate}; {failed} failed"]
    lines += [f"FAILED {name}: {error}" for name, error in sorted(report.failed.items())]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reference_methods", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    methods = sub.add_parser("methods", help="list the registered methods")
    methods.add_argument("--task", choices=TASKS, default=None)
    add_restore_arguments(sub.add_parser("restore", help="restore a folder of degraded images"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 some image failed, 2 bad invocation)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "methods":
            print(methods_table(args.task))
            return 0
        report = restore_folder(
            args.method,
            args.task,
            args.in_dir,
            args.out_dir,
            sigma=args.sigma,
            scale=args.scale,
            quality=args.quality,
            kernel=args.kernel,
            mask_dir=args.mask_dir,
            params=dict(args.param),
            seed=args.seed,
            progress=not args.no_progress,
        )
    except (MethodError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary(report), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1
