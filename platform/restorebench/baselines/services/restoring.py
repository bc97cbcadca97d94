"""Restoring a phase's inputs with one method, a function of files only (no database), so that it
can run in a process pool; the submissions are created in the calling process (`running`)."""

import json
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from restorebench.baselines.services.phase_data import manifest_scale_spec, method_registry


@dataclass
class BaselineOutput:
    zip_path: str
    runtime_per_mp: float | None  # seconds per output megapixel, median over the images
    images: int


def baseline_outputs_make(public_dir: str, method: str, task: str, out_zip: str) -> BaselineOutput:
    """Restore every input of the phase data in `public_dir` with `method` and zip the results as
    `<id>.png` (the ground truth's names). Raises the method's error on the first image it fails."""
    import numpy as np

    from benchdata.image_files import read_mask, write_image
    from benchdata.track_data import load_public_input
    from reference_methods.registry import context_from_spec, restore

    public = Path(public_dir)
    manifest = json.loads((public / "manifest.json").read_text(encoding="utf-8"))
    spec = manifest.get("spec") or manifest_scale_spec(manifest)
    method_registry().list_methods()  # import every method module now, not inside the first timing
    per_mp: list[float] = []
    out = Path(out_zip)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=out.parent))
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
            for item in manifest["items"]:
                degraded = load_public_input(public, item)
                kernel = np.load(public / item["kernel"], allow_pickle=False) if item.get("kernel") else None
                mask = read_mask(public / item["mask"]) if item.get("mask") else None
                context = context_from_spec(task, spec, kernel=kernel, mask=mask)
                start = time.perf_counter()
                restored = restore(method, degraded, context)
                per_mp.append((time.perf_counter() - start) / (restored.shape[0] * restored.shape[1] / 1e6))
                name = f"{item['id']}.png"
                write_image(staging / name, restored)
                archive.write(staging / name, name)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The median, so that a first call loading a network or warming caches does not dominate.
    return BaselineOutput(str(out), float(np.median(per_mp)) if per_mp else None, len(manifest["items"]))
