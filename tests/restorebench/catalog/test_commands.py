"""The catalog app's management commands are thin faces of benchdata: same checks, same outputs."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from benchdata.degradations import degrade
from benchdata.degradations.seeds import image_seed
from benchdata.image_files import read_image, read_mask, write_image
from benchdata.manifests import manifest_from_folder


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A folder of three PNGs with a repository-style manifest 'tiny' in a private manifests folder."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    monkeypatch.setenv("RESTOREBENCH_DATASETS_DIR", str(manifests))
    source = tmp_path / "src"
    rng = np.random.default_rng(0)
    for index in range(3):
        write_image(source / f"im{index}.png", rng.random((20, 24, 3)))
    manifest = manifest_from_folder(source, name="tiny", title="Tiny", splits={"test": "all"})
    (manifests / "tiny.json").write_text(manifest.to_json())
    return source


def test_import_dataset_copies_a_verified_folder(tiny, tmp_path):
    out = StringIO()
    call_command("import_dataset", "tiny", str(tiny), "--root", str(tmp_path / "store"), stdout=out)
    assert "Imported tiny" in out.getvalue()
    assert sorted(p.name for p in (tmp_path / "store" / "tiny").glob("*.png")) == [
        "im0.png",
        "im1.png",
        "im2.png",
    ]


def test_import_dataset_names_a_file_with_one_flipped_byte(tiny, tmp_path):
    data = bytearray((tiny / "im1.png").read_bytes())
    data[77] ^= 0x80
    (tiny / "im1.png").write_bytes(bytes(data))
    with pytest.raises(CommandError, match=r"altered \(1\): im1.png"):
        call_command("import_dataset", "tiny", str(tiny), "--root", str(tmp_path / "store"))


def test_import_dataset_lists_known_names_for_an_unknown_set(tiny, tmp_path):
    with pytest.raises(CommandError, match="unknown dataset 'nope'; known datasets: tiny"):
        call_command("import_dataset", "nope", str(tiny), "--root", str(tmp_path / "store"))


def test_degrade_writes_outputs_with_masks_beside_them(tiny, tmp_path):
    out_dir = tmp_path / "out"
    arguments = ["--task", "inpaint", "--mask", "boxes:0.3", "--seed", "9", str(tiny), str(out_dir)]
    call_command("degrade", *arguments, stdout=StringIO())
    spec = {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.3}}
    for index in range(3):
        stem = f"im{index}"
        expected = degrade(read_image(tiny / f"{stem}.png"), spec, image_seed(9, stem))
        assert np.array_equal(read_image(out_dir / f"{stem}.png"), expected.image)
        assert np.array_equal(read_mask(out_dir / f"{stem}_mask.png"), expected.mask)
    assert json.loads((out_dir / "degradation.json").read_text())["spec"]["task"] == "inpaint"


def test_degrade_compresses_with_jpeg_at_the_given_quality(tiny, tmp_path):
    out_dir = tmp_path / "out"
    call_command("degrade", "--task", "jpeg", "--quality", "20", "--seed", "3", str(tiny), str(out_dir),
                 stdout=StringIO())  # fmt: skip
    for index in range(3):
        stem = f"im{index}"
        expected = degrade(read_image(tiny / f"{stem}.png"), {"task": "jpeg", "quality": 20}, 0)
        assert np.array_equal(read_image(out_dir / f"{stem}.png"), expected.image)
    assert json.loads((out_dir / "degradation.json").read_text())["spec"] == {"task": "jpeg", "quality": 20}


def test_degrade_writes_a_folder_of_frames_per_image_for_burst_sr(tiny, tmp_path):
    out_dir = tmp_path / "out"
    call_command("degrade", "--task", "burst_sr", "--frames", "3", "--scale", "2", "--sigma", "1",
                 "--seed", "5", str(tiny), str(out_dir), stdout=StringIO())  # fmt: skip
    spec = {"task": "burst_sr", "frames": 3, "scale": 2, "sigma": 1}
    record = json.loads((out_dir / "degradation.json").read_text())
    for index in range(3):
        stem = f"im{index}"
        expected = degrade(read_image(tiny / f"{stem}.png"), spec, image_seed(5, stem))
        for k in range(3):
            assert np.array_equal(read_image(out_dir / stem / f"{k:02d}.png"), expected.image[k])
    assert record["items"][0]["frames"] == ["im0/00.png", "im0/01.png", "im0/02.png"]
    assert {f["name"] for f in record["files"]} == {f"im{i}/{k:02d}.png" for i in range(3) for k in range(3)}


def test_degrade_writes_kernels_beside_outputs_for_deblurring(tiny, tmp_path):
    call_command("degrade", "--task", "deblur", "--kernel", "gaussian:7:1.2", "--sigma", "2", "--seed", "1",
                 str(tiny), str(tmp_path / "out"), stdout=StringIO())  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").glob("*_kernel.npy")) == [
        f"im{i}_kernel.npy" for i in range(3)
    ]
    assert len(list((tmp_path / "out").glob("im?.npy"))) == 3  # unclipped float noise: float32 arrays


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--task", "sr", "--scale", "5"], r"scale must be one of \(2, 3, 4\)"),
        (["--task", "denoise", "--sigma", "-1"], "sigma must be >= 0"),
        (["--task", "deblur", "--kernel", "gaussian:8:1"], "kernel.size must be an odd"),
        (["--task", "inpaint", "--mask", "pixels:1.5"], r"coverage must be in \[0, 1\)"),
    ],
)
def test_degrade_rejects_bad_parameters_with_a_named_error(tiny, tmp_path, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("degrade", *arguments, "--seed", "0", str(tiny), str(tmp_path / "out"))
