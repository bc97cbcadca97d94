"""Web copies of a scored submission's images, made by the worker after scoring (docs/platform.md).

- restored: each restored image as an 8-bit PNG (16-bit images scaled to 8 bits), in the phase's
  storage area (`previews/<submission id>/`): served to whoever may see the submission;
- error map: |restored − ground truth| averaged over the channels, ×4, as a gray PNG, in the phase's
  *hidden* area: derived from the ground truth, so served only where the ground truth may be seen.
For a model submission the restored images are the sandbox run's outputs, kept in the job's scratch
folder until the previews are made. A track without ground truth gets restored images only.
"""

import io
import logging
import shutil
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from evaluator.decoding import decode_image
from restorebench import storage
from restorebench.submissions.models import Submission, SubmissionKind

log = logging.getLogger(__name__)
ERROR_GAIN = 4.0
MAX_PIXELS = 40_000_000


def _to_uint8(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    if bit_depth == 16:
        return np.round(pixels.astype(np.float64) / 257.0).astype(np.uint8)
    return pixels.astype(np.uint8)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    return np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def error_map(restored: np.ndarray, truth: np.ndarray) -> np.ndarray | None:
    """uint8 (H, W): mean absolute error over channels ×ERROR_GAIN, clipped; None if sizes differ."""
    restored, truth = _rgb(restored).astype(np.float64), _rgb(truth).astype(np.float64)
    if restored.shape != truth.shape:
        return None
    return np.clip(np.abs(restored - truth).mean(axis=2) * ERROR_GAIN, 0, 255).round().astype(np.uint8)


def _sources(submission: Submission, outputs: Path | None, stems: set[str]):
    """(stem, name, bytes) of each restored image: the zip's members, or a model run's output files."""
    if submission.kind == SubmissionKind.MODEL:
        for path in sorted(outputs.iterdir()) if outputs is not None and outputs.is_dir() else []:
            if path.is_file() and path.stem in stems and path.suffix.lower() == ".png":
                yield path.stem, path.name, path.read_bytes()
        return
    archive = storage.submission_archive_for_reading(submission.phase, submission.archive_path)
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            stem = Path(member.filename).stem
            if not member.is_dir() and "/" not in member.filename and stem in stems:
                yield stem, member.filename, zf.read(member)


def previews_make(*, submission: Submission, outputs: Path | None = None) -> int:
    """(Re)make the previews of `submission` (a model's from its run's `outputs` folder); returns how
    many images got one. A bad image is skipped and logged: previews are a convenience, the scores are
    what counts."""
    if submission.status != "scored":
        return 0
    phase = submission.phase
    public = storage.submission_previews_dir(phase, submission.pk, hidden=False)
    hidden = storage.submission_previews_dir(phase, submission.pk, hidden=True)
    for folder in (public, hidden):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    has_truth = phase.track.has_ground_truth
    # What names the images: the ground truth, or the inputs of a track without it (then no error map).
    reference = storage.phase_scored_against_for_reading(phase, ground_truth=has_truth)
    truths = {p.stem: p for p in reference.iterdir() if p.is_file()}
    made = 0
    try:
        for stem, name, data in _sources(submission, outputs, set(truths)):
            try:
                decoded = decode_image(data, name, MAX_PIXELS)
                restored = _to_uint8(decoded.pixels, decoded.bit_depth)
                (public / f"{stem}.png").write_bytes(_png(restored))
                made += 1
                if not has_truth:
                    continue
                truth = decode_image(truths[stem].read_bytes(), truths[stem].name, MAX_PIXELS)
                errors = error_map(restored, _to_uint8(truth.pixels, truth.bit_depth))
                if errors is not None:
                    (hidden / f"{stem}.png").write_bytes(_png(errors))
            except (ValueError, OSError) as error:
                log.warning("submission %s: no preview of %s (%s)", submission.pk, name, error)
    except zipfile.BadZipFile as error:
        log.warning("submission %s: no previews (%s)", submission.pk, error)
    return made
