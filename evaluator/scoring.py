"""`score()`: match a submission to ground truth, decode pairs in parallel, compute metrics, aggregate.

Pipeline: list and match names (no pixels yet) → a bounded window of pairs is decoded by a thread pool
(Pillow/OpenCV and torch release the GIL, so threads use every core) → each pair is checked (size, mode,
bit depth) and scored. On CPU each worker thread scores its own pair with single-threaded torch ops (on a
few shared cores this beats splitting one image's work across threads); with CUDA the main thread
scores batches of same-size pairs on the GPU. At most `2 × workers` pairs are in memory at once.

Pixel convention handed to the metrics: float64 (N, C, H, W) on [0, 1] (8-bit / 255, 16-bit / 65535),
ground truth modcropped to a multiple of `spec.scale` when set, borders shaved by `spec.shave`. On the CPU,
metrics that offer `score_pixels` (PSNR, SSIM) get the decoded integer arrays and their full-scale value
instead — the same numbers, without float64 copies of the images, through compiled kernels.
A prediction with more bits than its ground truth is first rounded to the ground truth's bit depth (as the
field saves restored images at the ground truth's depth), so extra precision cannot change a score.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evaluator.decoding import ImageProblem, decode_image
from evaluator.errors import EvaluatorError, SpecError, SubmissionRejected
from evaluator.metrics import Metric, create_metric, metric_info
from evaluator.metrics.color import bt601_luma_plane, shave_border, shave_pixels
from evaluator.metrics.feature_networks import resolve_device
from evaluator.result import ImageScore, Problem, ScoreResult
from evaluator.spec import ScoringSpec
from evaluator.submission import Pair, list_ground_truth, list_submission, match

WRONG_SIZE = "wrong_size"
WRONG_MODE = "wrong_mode"
TOO_LARGE = "too_large"
UNREADABLE = "unreadable"

Progress = Callable[[int, int], None]


@dataclass
class _Prepared:
    """A checked pair: same-shape uint8/uint16 arrays (H, W) or (H, W, 3), and their full-scale values."""

    name: str
    pred: np.ndarray
    gt: np.ndarray
    pred_max: float
    gt_max: float


def coerce_spec(spec: ScoringSpec | dict[str, Any] | None) -> ScoringSpec:
    if spec is None:
        return ScoringSpec()
    if isinstance(spec, ScoringSpec):
        return spec
    if isinstance(spec, dict):
        return ScoringSpec.from_dict(spec)
    raise SpecError(f"spec must be a ScoringSpec or a dict, got {type(spec).__name__}")


def _metric_options(name: str, spec: ScoringSpec, device: torch.device) -> dict[str, Any]:
    if metric_info(name).needs_weights:
        return {"device": str(device)}
    return {"data_range": spec.data_range, "color_space": spec.color_space}


def _modcrop(arr: np.ndarray, scale: int | None) -> np.ndarray:
    if not scale or scale == 1:
        return arr
    h, w = arr.shape[:2]
    return arr[: h - h % scale, : w - w % scale]


def _read(entry: Any, limit: int, name: str) -> bytes:
    if entry.size > limit:
        raise ImageProblem(TOO_LARGE, f"{name}: {entry.size:,} bytes exceeds the per-file limit of {limit:,}")
    try:
        data = entry.read()
    except OSError as exc:
        raise ImageProblem(UNREADABLE, f"{name}: cannot be read ({exc})") from None
    if len(data) > limit:
        raise ImageProblem(TOO_LARGE, f"{name}: exceeds the per-file limit of {limit:,} bytes")
    return data


def _size_message(name: str, got: tuple[int, int], want: tuple[int, int], scale: int | None) -> str:
    msg = f"{name}: is {got[1]}×{got[0]} (W×H), expected {want[1]}×{want[0]}, the ground truth's size"
    if scale and scale > 1:
        msg += f" (= {scale} × the {want[1] // scale}×{want[0] // scale} low-resolution input)"
    return msg


def prepare_pair(pair: Pair, spec: ScoringSpec) -> _Prepared:
    """Decode and check one pair.

    Participant problems raise `ImageProblem`; ground-truth problems raise `EvaluatorError`.
    """
    try:
        gt = decode_image(_read(pair.gt, spec.max_file_bytes, pair.gt.name), pair.gt.name, spec.max_pixels)
    except ImageProblem as exc:
        what = "ground truth" if spec.ground_truth else "phase input"
        raise EvaluatorError(f"{what} {exc.message}") from None
    pred = decode_image(
        _read(pair.pred, spec.max_file_bytes, pair.pred.name), pair.pred.name, spec.max_pixels
    )
    if not spec.ground_truth:
        return _prepare_alone(pair.name, pair.pred.name, pred, gt.pixels.shape[:2], spec)
    gt_px = _modcrop(gt.pixels, spec.scale)
    pred_px = pred.pixels
    if pred_px.shape[:2] != gt_px.shape[:2]:
        raise ImageProblem(
            WRONG_SIZE, _size_message(pair.pred.name, pred_px.shape[:2], gt_px.shape[:2], spec.scale)
        )
    if gt.is_gray and not pred.is_gray:
        if not (
            np.array_equal(pred_px[..., 0], pred_px[..., 1])
            and np.array_equal(pred_px[..., 0], pred_px[..., 2])
        ):
            raise ImageProblem(
                WRONG_MODE,
                f"{pair.pred.name}: is colour but the ground truth is grayscale; submit "
                "a grayscale image (or RGB with R = G = B)",
            )
        pred_px = pred_px[..., 0]
    elif not gt.is_gray and pred.is_gray:
        raise ImageProblem(
            WRONG_MODE, f"{pair.pred.name}: is grayscale but the ground truth is RGB; submit RGB"
        )
    pred_max = float(2**pred.bit_depth - 1)
    gt_max = float(2**gt.bit_depth - 1)
    if pred.bit_depth > gt.bit_depth:
        # Round half away from zero (values are non-negative: floor(x + 0.5)) to the ground truth's depth.
        pred_px = np.floor(pred_px.astype(np.float64) * (gt_max / pred_max) + 0.5).astype(gt_px.dtype)
        pred_max = gt_max
    return _Prepared(pair.name, np.ascontiguousarray(pred_px), np.ascontiguousarray(gt_px), pred_max, gt_max)


def _prepare_alone(
    name: str, file_name: str, pred: Any, input_hw: tuple[int, int], spec: ScoringSpec
) -> _Prepared:
    """A prediction of a phase without ground truth: its size must be the input's times `scale`; the
    `gt` slot holds the prediction itself (never read by no-reference metrics; it fixes shape checks)."""
    factor = spec.scale or 1
    want = (input_hw[0] * factor, input_hw[1] * factor)
    if pred.pixels.shape[:2] != want:
        got = pred.pixels.shape[:2]
        msg = f"{file_name}: is {got[1]}×{got[0]} (W×H), expected {want[1]}×{want[0]}"
        if factor > 1:
            msg += f" (= {factor} × the {input_hw[1]}×{input_hw[0]} input)"
        raise ImageProblem(WRONG_SIZE, msg)
    top = float(2**pred.bit_depth - 1)
    px = np.ascontiguousarray(pred.pixels)
    return _Prepared(name, px, px, top, top)


def _to_tensor(arrays: list[np.ndarray], full_scale: list[float], device: torch.device) -> torch.Tensor:
    """list of (H, W[, 3]) integer arrays → contiguous float64 (N, C, H, W) on [0, 1] on `device`."""
    batch = []
    for arr, top in zip(arrays, full_scale, strict=True):
        # HWC → CHW while still small integers (cheap), so every later per-channel op reads contiguous rows.
        chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        small = np.ascontiguousarray(chw, dtype=np.int32 if arr.dtype == np.uint16 else np.uint8)
        batch.append(torch.from_numpy(small).to(device).to(torch.float64).div_(top))
    return torch.stack(batch) if len(batch) > 1 else batch[0].unsqueeze(0)


def _scores_pixels(metric: Metric, batch: list[_Prepared], device: torch.device) -> bool:
    """Whether `metric` scores this batch from the integer arrays (CPU, both sides on one scale)."""
    return (
        device.type == "cpu"
        and hasattr(metric, "score_pixels")
        and all(b.pred_max == b.gt_max for b in batch)
    )


def _pixel_pair(prep: _Prepared, spec: ScoringSpec) -> tuple[np.ndarray, np.ndarray, float]:
    """(pred, gt, full scale) as `score_pixels` takes them: shaved, and for `color_space="y"` already
    BT.601 luma on [0, 1] (a plane is its own luma to the metrics), so the conversion runs once per
    pair, not once per metric."""
    pred, gt = shave_pixels(prep.pred, spec.shave), shave_pixels(prep.gt, spec.shave)
    if spec.color_space == "y" and gt.ndim == 3:
        return bt601_luma_plane(pred, prep.gt_max), bt601_luma_plane(gt, prep.gt_max), 1.0
    return pred, gt, prep.gt_max


def compute_metrics(
    batch: list[_Prepared], metrics: dict[str, Metric], spec: ScoringSpec, device: torch.device
) -> list[dict[str, float]]:
    """Scores of same-shape prepared pairs: one {metric: value} dict per pair."""
    values: dict[str, list[float]] = {}
    on_tensors = {n: m for n, m in metrics.items() if not _scores_pixels(m, batch, device)}
    if on_tensors:
        pred = shave_border(
            _to_tensor([b.pred for b in batch], [b.pred_max for b in batch], device), spec.shave
        )
        gt = (
            shave_border(_to_tensor([b.gt for b in batch], [b.gt_max for b in batch], device), spec.shave)
            if spec.ground_truth
            else None  # no-reference metrics only (checked by the spec)
        )
        values.update({name: metric(pred, gt).tolist() for name, metric in on_tensors.items()})
    if len(on_tensors) < len(metrics):
        pairs = [_pixel_pair(b, spec) for b in batch]
        for name, metric in metrics.items():
            if name not in on_tensors:
                values[name] = [metric.score_pixels(*pair) for pair in pairs]
    return [{name: float(values[name][i]) for name in metrics} for i in range(len(batch))]


def _check_min_size(prep: _Prepared, metrics: dict[str, Metric], spec: ScoringSpec) -> None:
    h, w = prep.gt.shape[:2]
    h, w = h - 2 * spec.shave, w - 2 * spec.shave
    for name, metric in metrics.items():
        if min(h, w) < metric.min_size:
            raise EvaluatorError(
                f"ground truth {prep.name} is {prep.gt.shape[1]}×{prep.gt.shape[0]}; "
                f"after shaving {spec.shave} px per border it is {max(w, 0)}×{max(h, 0)}, "
                f"smaller than {name} needs ({metric.min_size} px)"
            )


def _library_versions() -> dict[str, str]:
    """The installed versions of the libraries a score depends on, for the reproducibility record."""
    return dict(_installed_versions())


# Read once per process: each `metadata.version` parses a METADATA file, and the eight of them were
# ~3 ms of a small job's ~28 ms of worker CPU (3 PNGs of 64×64, PSNR and SSIM). The versions of what
# this process has imported cannot change under it, even if a package is upgraded on disk.
@functools.cache
def _installed_versions() -> dict[str, str]:
    versions = {}
    for dist in (
        "restorebench",
        "torch",
        "torchvision",
        "numpy",
        "numba",
        "pillow",
        "opencv-python-headless",
        "safetensors",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def _gt_fingerprint(entries: list[Any]) -> str:
    digest = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.name):
        digest.update(f"{e.name}\0{e.size}\n".encode())
    return digest.hexdigest()


def _summary(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    head = "; ".join(p.message for p in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"submission rejected: {len(errors)} problem(s): {head}{more}"


def score_in_workers(device: torch.device) -> bool:
    """True: each worker thread scores its own pair (CPU). False: the main thread scores batches of
    same-size pairs (GPU), so the device sees few, large kernels."""
    return device.type == "cpu"


def score(
    pred: str | Path,
    gt_dir: str | Path,
    spec: ScoringSpec | dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score the restored images in `pred` (a folder or a .zip) against the ground truth in `gt_dir`.

    Returns a `ScoreResult`. Raises `SubmissionError` subclasses for the participant's problems (policy
    "reject" with any file problem, an unreadable archive, nothing scorable), `SpecError` for a bad spec,
    `WeightsNotInstalled` when LPIPS weights are missing, `EvaluatorError` for bad ground truth.
    `progress(done, total)` is called from the calling thread: first (0, total), then after every pair.
    """
    started = time.perf_counter()
    spec = coerce_spec(spec)
    device = resolve_device(spec.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpecError("spec.device is 'cuda' but CUDA is not available on this worker")
    metrics = {name: create_metric(name, **_metric_options(name, spec, device)) for name in spec.metrics}
    gt_entries = list_ground_truth(gt_dir, spec.max_file_bytes)
    pairs, problems = match(list_submission(pred, spec), gt_entries)
    reject = spec.policy == "reject"
    if reject and any(p.severity == "error" for p in problems):
        raise SubmissionRejected(_summary(problems), problems)

    total = len(pairs)
    if progress:
        progress(0, total)
    workers = spec.workers or os.cpu_count() or 1
    on_cpu = score_in_workers(device)
    stop_scoring = threading.Event()  # policy "reject" and a problem seen: only check the rest

    def work(pair: Pair) -> tuple[Pair, _Prepared | None, dict[str, float] | None, Problem | None]:
        try:
            prep = prepare_pair(pair, spec)
        except ImageProblem as exc:
            if reject:
                stop_scoring.set()
            return pair, None, None, Problem(pair.pred.name, exc.code, exc.message)
        _check_min_size(prep, metrics, spec)
        if on_cpu and not stop_scoring.is_set():
            return pair, prep, compute_metrics([prep], metrics, spec, device)[0], None
        return pair, prep, None, None

    rows: list[ImageScore] = []
    batch: list[_Prepared] = []
    sizes: dict[str, tuple[int, int]] = {}
    done = 0

    def flush() -> None:
        nonlocal done
        if batch and not stop_scoring.is_set():
            for prep, scores in zip(batch, compute_metrics(batch, metrics, spec, device), strict=True):
                rows.append(ImageScore(prep.name, *sizes[prep.name], scores))
        done += len(batch)
        batch.clear()
        if progress:
            progress(done, total)

    saved_threads = torch.get_num_threads()
    # One torch thread per scoring thread, even with a single worker: torch's own OpenMP threads spin
    # against each other and against other processes (8 pairs took 24-29 s with one worker and two
    # OpenMP threads on the loaded 2-core machine, against 4.5 s with two workers of one thread each).
    if on_cpu:
        torch.set_num_threads(1)
    try:
        # torch's intra-op thread count is per thread (an OpenMP setting): set it inside each worker.
        init = (lambda: torch.set_num_threads(1)) if on_cpu else None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scoring", initializer=init) as pool:
            queue: deque = deque()
            remaining = iter(pairs)
            for pair in remaining:
                queue.append(pool.submit(work, pair))
                if len(queue) >= 2 * workers:
                    break
            while queue:
                pair, prep, scores, problem = queue.popleft().result()
                nxt = next(remaining, None)
                if nxt is not None:
                    queue.append(pool.submit(work, nxt))
                if problem is not None:
                    problems.append(problem)
                    done += 1
                    if progress:
                        progress(done, total)
                elif scores is not None and prep is not None:
                    h, w = prep.gt.shape[:2]
                    rows.append(ImageScore(pair.name, w, h, scores))
                    done += 1
                    if progress:
                        progress(done, total)
                elif prep is not None:
                    shape = prep.gt.shape
                    if batch and (batch[0].gt.shape != shape or len(batch) >= spec.batch_size):
                        flush()
                    sizes[prep.name] = (shape[1], shape[0])
                    batch.append(prep)
                else:  # checked only (rejecting): counts as done
                    done += 1
                    if progress:
                        progress(done, total)
            flush()
    finally:
        torch.set_num_threads(saved_threads)

    if reject and any(p.severity == "error" for p in problems):
        raise SubmissionRejected(_summary(problems), problems)
    if not rows:
        raise SubmissionRejected(
            "no image of the submission could be scored: " + _summary(problems), problems
        )
    rows.sort(key=lambda r: r.name)
    aggregates = {name: math.fsum(r.scores[name] for r in rows) / len(rows) for name in spec.metrics}
    record = {
        "metrics": {
            name: {**m.record(), "higher_is_better": metric_info(name).higher_is_better}
            for name, m in metrics.items()
        },
        "spec": spec.to_dict(),
        "libraries": _library_versions(),
        "device": str(device),
        "ground_truth": {"files": len(gt_entries), "listing_sha256": _gt_fingerprint(gt_entries)},
        "aggregation": "arithmetic mean over scored images",
    }
    return ScoreResult(
        rows=rows,
        aggregates=aggregates,
        problems=problems,
        n_expected=len(gt_entries),
        ranking_metric=spec.ranking_metric,
        higher_is_better=metric_info(spec.ranking_metric).higher_is_better,
        record=record,
        elapsed_s=time.perf_counter() - started,
    )
