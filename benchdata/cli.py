"""Command line for benchmark data, without Django: `python -m benchdata <command> ...`.

Commands:
    list                                  datasets with a manifest, and whether their checksums are known
    show NAME                             one manifest
    verify NAME PATH                      compare a folder with a dataset (nothing is copied)
    import NAME PATH [--root DIR]         verify and copy into the data store
    download NAME [--url URL] [--root DIR]  fetch from the public address, then the same verified import
    starter [OUT] [--variant V]           build the starter benchmark (idempotent)
    degrade --task T [options] --seed N SRC_DIR OUT_DIR
    track DATASET_DIR --public DIR --hidden DIR --seed N --task T [options] [--split S | --files F ...]

Degradation options (also used by `manage.py degrade`): --sigma S (0-255 scale), --scale K,
--model {bicubic,blur_decimate}, --kernel {FILE.npy|FILE.png|gaussian:SIZE:SIGMA|motion:SIZE[:INTENSITY]},
--boundary MODE, --mask {FILE.png|boxes:COVERAGE|brush:COVERAGE|pixels:COVERAGE}, --fill V,
--clip/--no-clip, --quantize/--no-quantize, or --spec JSON for a complete spec.

Exit status: 0 success, 1 verification or data failure (the message names the files), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from benchdata.degradations import TASKS, DegradationSpec, SpecError
from benchdata.degradations.convolution import BOUNDARY_MODES
from benchdata.degradations.spec import SR_MODELS


class UsageError(ValueError):
    """A command-line value cannot be turned into a spec."""


def _parse_kernel(text: str) -> dict:
    kind, _, rest = text.partition(":")
    if kind == "gaussian":
        parts = rest.split(":")
        if len(parts) != 2:
            raise UsageError(f"--kernel gaussian needs SIZE:SIGMA (e.g. gaussian:15:2.0), got {text!r}")
        return {
            "type": "gaussian",
            "size": _int(parts[0], "--kernel size"),
            "sigma": _float(parts[1], "--kernel sigma"),
        }
    if kind == "motion":
        parts = [p for p in rest.split(":") if p]
        if not 1 <= len(parts) <= 2:
            raise UsageError(f"--kernel motion needs SIZE[:INTENSITY] (e.g. motion:21:0.5), got {text!r}")
        kernel: dict[str, Any] = {"type": "motion", "size": _int(parts[0], "--kernel size")}
        if len(parts) == 2:
            kernel["intensity"] = _float(parts[1], "--kernel intensity")
        return kernel
    if text.lower().endswith((".npy", ".png")):
        return {"type": "file", "path": text}
    raise UsageError(
        f"--kernel must be a .npy/.png file, gaussian:SIZE:SIGMA or motion:SIZE[:INTENSITY]; got {text!r}"
    )


def _parse_mask(text: str) -> dict:
    kind, sep, rest = text.partition(":")
    if sep and kind in ("boxes", "brush", "pixels"):
        return {"type": kind, "coverage": _float(rest, "--mask coverage")}
    if text.lower().endswith(".png"):
        return {"type": "file", "path": text}
    raise UsageError(
        f"--mask must be a .png file or boxes|brush|pixels:COVERAGE (e.g. boxes:0.25); got {text!r}"
    )


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as error:
        raise UsageError(f"{what} must be an integer, got {text!r}") from error


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError as error:
        raise UsageError(f"{what} must be a number, got {text!r}") from error


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The degradation options shared by `python -m benchdata` and `manage.py degrade`."""
    parser.add_argument("--task", choices=TASKS, help="degradation task")
    parser.add_argument("--spec", help="a complete degradation spec as JSON (instead of the options below)")
    parser.add_argument("--sigma", type=float, help="Gaussian noise std on the 0-255 scale")
    parser.add_argument("--quality", type=int, help="jpeg: JPEG quality, 1-100")
    parser.add_argument("--frames", type=int, help="burst_sr: frames per burst (default 14)")
    parser.add_argument("--scale", type=int, help="SR / burst SR scale: 2, 3 or 4")
    parser.add_argument("--model", choices=SR_MODELS, help="SR model (default bicubic)")
    parser.add_argument(
        "--kernel", help="FILE.npy | FILE.png | gaussian:SIZE:SIGMA | motion:SIZE[:INTENSITY]"
    )
    parser.add_argument("--boundary", choices=BOUNDARY_MODES, help="convolution boundary (default symmetric)")
    parser.add_argument("--mask", help="FILE.png | boxes:COVERAGE | brush:COVERAGE | pixels:COVERAGE")
    parser.add_argument("--fill", type=float, help="value of missing pixels for inpainting (default 0)")
    parser.add_argument("--clip", action=argparse.BooleanOptionalAction, default=None, help="clip to [0, 1]")
    parser.add_argument(
        "--quantize", action=argparse.BooleanOptionalAction, default=None, help="round to 8 bits (needs clip)"
    )


def spec_from_options(options: dict[str, Any]) -> DegradationSpec:
    """Build and validate a DegradationSpec from parsed options (argparse or Django's)."""
    if options.get("spec"):
        try:
            data = json.loads(options["spec"])
        except json.JSONDecodeError as error:
            raise UsageError(f"--spec is not valid JSON ({error})") from error
        return DegradationSpec.from_dict(data)
    if not options.get("task"):
        raise UsageError(f"give --task ({', '.join(TASKS)}) or --spec JSON")
    data: dict[str, Any] = {"task": options["task"]}
    for key in ("sigma", "quality", "frames", "scale", "model", "boundary", "fill", "clip", "quantize"):
        if options.get(key) is not None:
            data[key] = options[key]
    if options.get("kernel"):
        data["kernel"] = _parse_kernel(options["kernel"])
    if options.get("mask"):
        data["mask"] = _parse_mask(options["mask"])
    if data.get("quantize") is None and data.get("clip") is False:
        data["quantize"] = False  # --no-clip alone means "unclipped float", not a contradiction
    return DegradationSpec.from_dict(data)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchdata", description="RestoreBench benchmark data")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list datasets")
    show = sub.add_parser("show", help="print one manifest")
    show.add_argument("name")
    verify = sub.add_parser("verify", help="compare a folder with a dataset (no copy)")
    verify.add_argument("name")
    verify.add_argument("path")
    verify.add_argument("--root", help="data store (default var/datasets)")
    imp = sub.add_parser("import", help="verify a folder and copy it into the data store")
    imp.add_argument("name")
    imp.add_argument("path")
    imp.add_argument("--root", help="data store (default var/datasets)")
    down = sub.add_parser("download", help="download from the public address, then import")
    down.add_argument("name")
    down.add_argument("--url", help="another address for the same archive (file://, http://, https://)")
    down.add_argument("--root", help="data store (default var/datasets)")
    starter = sub.add_parser("starter", help="build the starter benchmark")
    starter.add_argument("out", nargs="?", help="output folder (default var/datasets/<variant>)")
    starter.add_argument("--variant", default="starter", choices=("starter", "starter_gray"))
    degrade = sub.add_parser("degrade", help="degrade every image of a folder")
    add_spec_arguments(degrade)
    degrade.add_argument("--seed", type=int, required=True)
    degrade.add_argument("src_dir")
    degrade.add_argument("out_dir")
    track = sub.add_parser("track", help="generate a track's public inputs and hidden ground truth")
    add_spec_arguments(track)
    track.add_argument("dataset_dir", help="dataset folder with manifest.json (imported or starter)")
    track.add_argument("--public", required=True, help="folder for participant inputs")
    track.add_argument("--hidden", required=True, help="folder for hidden ground truth")
    track.add_argument("--seed", type=int, required=True)
    track.add_argument("--split", default="test")
    track.add_argument("--files", nargs="+", help="explicit file names instead of a split")
    track.add_argument("--hide-kernel", action="store_true", help="blind deblurring: keep kernels hidden")
    track.add_argument("--hide-mask", action="store_true", help="keep masks hidden")
    track.add_argument("--name", help="track name recorded in the manifests")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status (see the module docstring)."""
    args = _parser().parse_args(argv)
    from benchdata.download import DownloadError
    from benchdata.importing import DatasetVerificationError
    from benchdata.manifests import ManifestError
    from benchdata.starter import StarterBuildError
    from benchdata.track_data import TrackDataError

    try:
        return _run(args)
    except (UsageError, SpecError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (
        DatasetVerificationError,
        ManifestError,
        DownloadError,
        StarterBuildError,
        TrackDataError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        from benchdata.manifests import list_datasets, load_manifest

        for name in list_datasets():
            manifest = load_manifest(name)
            state = {"known": "checksums known", "unknown": "checksums unknown", "built": "built locally"}
            label = state[manifest.data["checksums"]]
            print(f"{name:14s} {manifest.expected_count:5d} images  {label:18s} {manifest.title}")
        return 0
    if args.command == "show":
        from benchdata.manifests import load_manifest

        print(load_manifest(args.name).to_json(), end="")
        return 0
    if args.command == "verify":
        from benchdata.importing import verify_folder

        report = verify_folder(args.name, args.path, args.root)
        print(report.summary())
        return 0 if report.ok else 1
    if args.command == "import":
        from benchdata.importing import import_dataset

        result = import_dataset(args.name, args.path, args.root)
        print(result.report.summary())
        if result.trusted_on_first_import:
            print(f"trusted on first import: checksums recorded in {result.manifest_path}")
            print("later imports of this dataset must match them")
        print(f"imported into {result.directory}")
        return 0
    if args.command == "download":
        from benchdata.download import download_dataset

        result = download_dataset(args.name, args.root, url=args.url)
        print(result.report.summary())
        print(f"imported into {result.directory}")
        return 0
    if args.command == "starter":
        from benchdata.starter import build_starter

        print(build_starter(args.out, args.variant))
        return 0
    spec = spec_from_options(vars(args))
    if args.command == "degrade":
        from benchdata.folder_degradation import degrade_folder

        record = degrade_folder(args.src_dir, args.out_dir, spec, args.seed)
        print(f"degraded {len(record['items'])} image(s) into {args.out_dir} ({json.dumps(spec.to_dict())})")
        return 0
    from benchdata.track_data import generate_track_data

    manifest = generate_track_data(
        args.dataset_dir,
        spec,
        args.seed,
        args.public,
        args.hidden,
        split=args.split,
        files=args.files,
        disclose_kernel=False if args.hide_kernel else None,
        disclose_mask=False if args.hide_mask else None,
        track=args.name,
    )
    print(f"track data: {len(manifest['items'])} image(s); public {args.public}, hidden {args.hidden}")
    return 0
