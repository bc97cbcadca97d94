"""Track data: participant inputs and hidden ground truth for one track, with checksummed manifests.

`generate_track_data(dataset_dir, spec, seed, public_dir, hidden_dir, split=..., files=...)` reads the
ground-truth images of a dataset folder (an imported set or a starter build: images plus the
`manifest.json` that lists their SHA-256), verifies each one, degrades it with `degrade(image, spec,
image_seed(seed, id))`, and writes:

public_dir/                       (what participants download)
    inputs/<id>.png | <id>.npy    degraded images (PNG when the spec quantises, else float32 .npy)
    inputs/<id>/00.png, 01.png .. a multi-frame sample (burst_sr): one folder of frames per id
    kernels/<id>.npy, <id>.png    blur kernels, only when disclosed (non-blind deblurring; SR blur_decimate)
    masks/<id>.png                inpainting masks (255 = missing), only when disclosed
    manifest.json                 spec, items, every file's size and SHA-256 -- never the seed
hidden_dir/                       (organizers and the evaluator only)
    gt/<id>.png                   ground truth (8-bit PNG; modcropped for SR; a byte copy of the source
                                  when that is an 8-bit PNG left unchanged). The evaluator's gt_dir.
    kernels/, masks/              every kernel and mask, disclosed or not
    manifest.json                 the public manifest's content plus the seed, per-image seeds, the
                                  ground-truth files and the public manifest's SHA-256

The seed stays hidden: with it, a participant could regenerate the exact noise and subtract it.
An image's id is its file stem; ids must be unique within the generated set. Generation is a pure
function of (ground-truth files, spec, seed): re-running writes byte-identical files (same numpy and
Pillow versions, which the manifests record). Both folders are written to a staging folder first and
then moved into place, so a failed run leaves no half-written track.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import PIL

from benchdata.degradations import DegradationSpec, degrade
from benchdata.degradations.seeds import image_seed
from benchdata.image_files import decode_image, read_image, write_image
from benchdata.importing import STORE_MANIFEST, store_manifest
from benchdata.manifests import FileRecord, ManifestError, scan_folder
from benchdata.observations import observation_files, read_frames, write_extras, write_observation
from benchdata.staging import staged_folders
from benchdata.tasks import get_task

TRACK_MANIFEST = "manifest.json"
TRACK_FORMAT = 1


class TrackDataError(ValueError):
    """The dataset, file list or output folders do not allow generating the track."""


def _default_disclosure(spec: DegradationSpec) -> tuple[bool, bool]:
    # Kernels of non-blind tasks and masks are given by default; a blind track passes disclose_kernel=False.
    return spec.kernel is not None, spec.mask is not None


def _input_format(spec: DegradationSpec) -> str:
    if get_task(spec.task).multi_frame:
        return "folder of png frames (8-bit) per sample, 00.png the reference frame"
    return "png (8-bit)" if spec.quantize else "npy (float32, [0, 1] scale, unclipped)"


def _frames_of(observed: Path, stage: Path) -> dict:
    """The frame files of a multi-frame input (relative to the public folder); nothing for one file."""
    if not observed.is_dir():
        return {}
    return {"frames": [p.relative_to(stage).as_posix() for p in observation_files(observed)]}


def _read_verified(path: Path, record: FileRecord) -> tuple[bytes, np.ndarray]:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != record.sha256 or len(data) != record.size:
        raise TrackDataError(
            f"{path}: differs from the dataset manifest (sha256 {digest[:12]}..., expected "
            f"{record.sha256[:12]}...); re-import the dataset"
        )
    return data, decode_image(data, str(path))  # the verified bytes, not a second read of the file


def _is_plain_8bit_png(data: bytes) -> bool:
    """8-bit gray or RGB PNG (IHDR bit depth 8, colour type 0 or 2): already the GT file format."""
    return (
        data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and data[24] == 8 and data[25] in (0, 2)
    )


def _write_ground_truth(path: Path, source: bytes, clean: np.ndarray, truth: np.ndarray) -> None:
    # An 8-bit PNG source whose pixels are the ground truth unchanged (no modcrop) is copied as is:
    # the same pixels, and PNG encoding is most of the generation time for 2K images.
    path.parent.mkdir(parents=True, exist_ok=True)
    if truth.shape == clean.shape and _is_plain_8bit_png(source):
        path.write_bytes(source)
    else:
        write_image(path, truth)


def _files_manifest(folder: Path) -> list[dict]:
    return [record.to_dict() for record in scan_folder(folder).values()]


def _dump(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def generate_track_data(
    dataset_dir: str | Path,
    spec: DegradationSpec | dict,
    seed: int,
    public_dir: str | Path,
    hidden_dir: str | Path,
    split: str = "test",
    files: Sequence[str] | None = None,
    disclose_kernel: bool | None = None,
    disclose_mask: bool | None = None,
    track: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Generate a track's public inputs and hidden ground truth; return the hidden manifest (a dict).

    dataset_dir: folder with the ground-truth images and their `manifest.json`.
    files: explicit file names from that manifest (default: the manifest's `split`).
    disclose_kernel / disclose_mask: put kernels / masks in the public folder (default: yes when the
    spec has one). progress(done, total) is called after each image.
    """
    spec = DegradationSpec.from_dict(spec)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TrackDataError(f"seed must be a non-negative integer, got {seed!r}")
    dataset_dir = Path(dataset_dir)
    if not (dataset_dir / STORE_MANIFEST).is_file():
        raise TrackDataError(
            f"{dataset_dir}: no {STORE_MANIFEST}; import the dataset or build the starter first"
        )
    dataset = store_manifest(dataset_dir)
    records = dataset.files
    if files is None:
        try:
            names = dataset.split(split)
        except ManifestError as error:
            raise TrackDataError(str(error)) from error
        selection = {"split": split}
    else:
        names = list(files)
        unknown = [name for name in names if name not in records]
        if unknown:
            raise TrackDataError(
                f"{dataset_dir}: files not in the dataset manifest: {', '.join(unknown[:10])}"
            )
        selection = {"files": names}
    if not names:
        raise TrackDataError(f"{dataset_dir}: the selection holds no images")
    ids = [PurePosixPath(name).stem for name in names]
    doubled = sorted({i for i in ids if ids.count(i) > 1})
    if doubled:
        raise TrackDataError(f"image ids (file stems) must be unique; repeated: {', '.join(doubled)}")

    public_dir, hidden_dir = Path(public_dir).resolve(), Path(hidden_dir).resolve()
    if (
        public_dir == hidden_dir
        or hidden_dir.is_relative_to(public_dir)
        or public_dir.is_relative_to(hidden_dir)
    ):
        raise TrackDataError(f"public folder {public_dir} and hidden folder {hidden_dir} must be separate")
    default_kernel, default_mask = _default_disclosure(spec)
    give_kernel = default_kernel if disclose_kernel is None else bool(disclose_kernel)
    give_mask = default_mask if disclose_mask is None else bool(disclose_mask)

    with staged_folders(public_dir, hidden_dir, prefix="track") as (public_stage, hidden_stage):
        public_items, hidden_items = [], []
        for index, (name, image_id) in enumerate(zip(names, ids, strict=True)):
            source, clean = _read_verified(dataset_dir / name, records[name])
            per_image = image_seed(seed, image_id)
            result = degrade(clean, spec, per_image)
            observed = write_observation(public_stage / "inputs" / image_id, result.image, spec)
            _write_ground_truth(hidden_stage / "gt" / f"{image_id}.png", source, clean, result.ground_truth)
            write_extras(
                result,
                hidden_stage / "kernels" / f"{image_id}.npy",
                hidden_stage / "masks" / f"{image_id}.png",
            )
            write_extras(
                result,
                public_stage / "kernels" / f"{image_id}.npy" if give_kernel else None,
                public_stage / "masks" / f"{image_id}.png" if give_mask else None,
            )
            item = {
                "id": image_id,
                "input": observed.relative_to(public_stage).as_posix(),
                **_frames_of(observed, public_stage),
                "input_shape": list(result.image.shape),
                "output_shape": list(result.ground_truth.shape),
                "kernel": f"kernels/{image_id}.npy" if give_kernel and result.kernel is not None else None,
                "mask": f"masks/{image_id}.png" if give_mask and result.mask is not None else None,
            }
            public_items.append(item)
            hidden_items.append(
                {
                    **item,
                    "source": name,
                    "source_sha256": records[name].sha256,
                    "image_seed": per_image,
                    "ground_truth": f"gt/{image_id}.png",
                    "kernel": f"kernels/{image_id}.npy" if result.kernel is not None else None,
                    "mask": f"masks/{image_id}.png" if result.mask is not None else None,
                }
            )
            if progress is not None:
                progress(index + 1, len(names))

        generator = {"format": TRACK_FORMAT, "numpy": np.__version__, "pillow": PIL.__version__}
        if spec.task == "jpeg":
            from benchdata.degradations.jpeg import encoder_versions

            generator.update(encoder_versions())
        public = {
            "track": track,
            "dataset": dataset.name,
            **selection,
            "spec": spec.to_dict(),
            "disclosed": {"kernel": give_kernel, "mask": give_mask},
            "input_format": _input_format(spec),
            "items": public_items,
            "generator": generator,
            "files": _files_manifest(public_stage),
        }
        public_text = _dump(public)
        (public_stage / TRACK_MANIFEST).write_text(public_text, encoding="utf-8")
        hidden = {
            **{key: value for key, value in public.items() if key not in ("items", "files")},
            "seed": seed,
            "seed_rule": "image seed = first 8 bytes (big-endian) of SHA-256('<seed>/<id>')",
            "dataset_manifest_sha256": hashlib.sha256(
                (dataset_dir / STORE_MANIFEST).read_bytes()
            ).hexdigest(),
            "public_manifest_sha256": hashlib.sha256(public_text.encode("utf-8")).hexdigest(),
            "items": hidden_items,
            "files": _files_manifest(hidden_stage),
        }
        (hidden_stage / TRACK_MANIFEST).write_text(_dump(hidden), encoding="utf-8")
    return hidden


def verify_track_folder(folder: str | Path) -> list[str]:
    """Check a public or hidden track folder against its manifest; return problems ([] when intact)."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / TRACK_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        return [f"{folder / TRACK_MANIFEST}: unreadable ({error})"]
    expected = {entry["name"]: entry for entry in manifest.get("files", [])}
    found = scan_folder(folder)
    problems = [f"missing: {name}" for name in sorted(set(expected) - set(found))]
    problems += [f"extra: {name}" for name in sorted(set(found) - set(expected))]
    for name in sorted(set(expected) & set(found)):
        if found[name].sha256 != expected[name]["sha256"] or found[name].size != expected[name]["size"]:
            problems.append(f"altered: {name}")
    return problems


def load_public_input(public_dir: str | Path, item: dict) -> np.ndarray:
    """Read one participant input (PNG, float32 .npy, or a folder of frames) as float64, as a reference
    method would: (H, W[, 3]), or (N, H, W[, 3]) for a multi-frame sample."""
    path = Path(public_dir) / item["input"]
    if path.is_dir():
        return read_frames(path)
    if path.suffix == ".npy":
        return np.load(io.BytesIO(path.read_bytes()), allow_pickle=False).astype(np.float64)
    return read_image(path)
