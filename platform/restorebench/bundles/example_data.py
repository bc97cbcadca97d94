"""The example bundles in `examples/` whose organizer pairs are made on the user's machine.

The project ships no image, so an example bundle that brings its own pairs (`enhance-lowlight.yaml`)
or inputs (`realworld-sr.yaml`, a track without ground truth) is loaded from a copy:
`example_bundle_prepare(bundle=..., work_dir=...)` copies the bundle file into `work_dir` and writes
the data folders it names beside it (from package-shipped photos, see `benchdata.example_pairs`), then
returns the copy's path for `bundle_load`.
"""

import shutil
from collections.abc import Callable
from pathlib import Path

from benchdata.example_pairs import write_lowlight_pairs, write_realworld_sr_inputs

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
ENHANCE_BUNDLE = EXAMPLES_DIR / "enhance-lowlight.yaml"
REALWORLD_SR_BUNDLE = EXAMPLES_DIR / "realworld-sr.yaml"  # a track without ground truth: inputs only

# Bundle file name -> (folder beside it, the writer of that folder's pairs).
EXAMPLE_PAIRS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    ENHANCE_BUNDLE.name: ("lowlight", write_lowlight_pairs),
    REALWORLD_SR_BUNDLE.name: ("realworld", write_realworld_sr_inputs),
}


def example_bundle_prepare(*, bundle: Path, work_dir: Path) -> Path:
    """A loadable copy of an example bundle in `work_dir`, its pair folders written beside it
    (idempotent: the pairs are a pure function of the installed photos)."""
    bundle = Path(bundle)
    work_dir.mkdir(parents=True, exist_ok=True)
    copy = work_dir / bundle.name
    shutil.copyfile(bundle, copy)
    if bundle.name in EXAMPLE_PAIRS:
        folder, write = EXAMPLE_PAIRS[bundle.name]
        write(work_dir / folder)
    return copy
