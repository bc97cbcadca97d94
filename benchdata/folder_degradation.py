"""Degrading every image of a folder (the `degrade` command's work), reproducibly.

Each image `<stem>.<ext>` of SRC_DIR (top level, PNG/BMP/TIFF/JPEG) becomes `<stem>.png` in OUT_DIR
(`<stem>.npy`, float32, when the spec does not quantise; the folder `<stem>/` of frames `00.png`, ...
for a multi-frame task such as burst_sr), with its kernel as `<stem>_kernel.npy` (+ a
`.png` preview) and its mask as `<stem>_mask.png` (255 = missing) beside it. The image's seed is
`image_seed(seed, stem)`, as in track data. `degradation.json` records the spec, the seed and the files.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchdata.degradations import DegradationSpec, degrade
from benchdata.degradations.seeds import image_seed
from benchdata.image_files import read_image
from benchdata.importing import IMAGE_EXTENSIONS
from benchdata.manifests import scan_folder
from benchdata.observations import observation_files, write_extras, write_observation

RECORD = "degradation.json"


def degrade_folder(src_dir: str | Path, out_dir: str | Path, spec: DegradationSpec | dict, seed: int) -> dict:
    """Degrade every image of `src_dir` into `out_dir`; return the record written to degradation.json."""
    spec = DegradationSpec.from_dict(spec)
    src, out = Path(src_dir), Path(out_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: source folder not found")
    if src.resolve() == out.resolve():
        raise ValueError(f"{src}: the output folder must differ from the source folder")
    images = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not images:
        raise ValueError(f"{src}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in this folder")
    stems = [p.stem for p in images]
    doubled = sorted({s for s in stems if stems.count(s) > 1})
    if doubled:
        raise ValueError(f"{src}: several files share a stem (outputs would collide): {', '.join(doubled)}")
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for path in images:
        result = degrade(read_image(path), spec, image_seed(seed, path.stem))
        written = write_observation(out / path.stem, result.image, spec)
        kernels, masks = write_extras(result, out / f"{path.stem}_kernel.npy", out / f"{path.stem}_mask.png")
        items.append(
            {
                "source": path.name,
                "output": written.name,
                "frames": [p.relative_to(out).as_posix() for p in observation_files(written)]
                if written.is_dir()
                else None,
                "kernel": kernels[0].name if kernels else None,
                "mask": masks[0].name if masks else None,
                "shape": list(result.image.shape),
            }
        )
    record = {"spec": spec.to_dict(), "seed": seed, "items": items}
    written_files = scan_folder(out)
    names = {i["output"] for i in items if not i["frames"]} | {f for i in items for f in i["frames"] or ()}
    names |= {i["kernel"] for i in items if i["kernel"]}
    names |= {i["mask"] for i in items if i["mask"]}
    record["files"] = [written_files[n].to_dict() for n in sorted(names)]
    (out / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record
