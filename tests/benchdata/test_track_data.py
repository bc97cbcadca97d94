"""Track data: public inputs and hidden ground truth, checksummed, reproducible byte for byte."""

import hashlib
import json

import numpy as np
import pytest

from benchdata.degradations import degrade
from benchdata.degradations.seeds import image_seed
from benchdata.image_files import read_image, read_mask
from benchdata.importing import store_manifest
from benchdata.starter import build_starter
from benchdata.track_data import TrackDataError, generate_track_data, load_public_input, verify_track_folder


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    return build_starter(tmp_path_factory.mktemp("data") / "starter")


def _tree(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    "spec",
    [
        {"task": "sr", "scale": 4},
        {"task": "denoise", "sigma": 25},
        {
            "task": "deblur",
            "sigma": 1,
            "kernel": {"type": "motion", "size": 13},
            "clip": True,
            "quantize": True,
        },
        {"task": "inpaint", "mask": {"type": "brush", "coverage": 0.2}},
        {"task": "jpeg", "quality": 25},
        {"task": "burst_sr", "frames": 3, "scale": 4, "sigma": 2},
    ],
    ids=lambda s: s["task"],
)
def test_rerunning_gives_byte_identical_folders(starter, tmp_path, spec):
    first = generate_track_data(starter, spec, 11, tmp_path / "a" / "public", tmp_path / "a" / "hidden")
    second = generate_track_data(starter, spec, 11, tmp_path / "b" / "public", tmp_path / "b" / "hidden")
    assert first == second
    for part in ("public", "hidden"):
        assert _tree(tmp_path / "a" / part) == _tree(tmp_path / "b" / part)
        assert verify_track_folder(tmp_path / "a" / part) == []


def test_public_and_hidden_hold_what_each_side_may_see(starter, tmp_path):
    spec = {
        "task": "deblur",
        "sigma": 2,
        "kernel": {"type": "motion", "size": 11},
        "clip": True,
        "quantize": True,
    }
    hidden = generate_track_data(starter, spec, 5, tmp_path / "public", tmp_path / "hidden", track="blur-1")
    public = json.loads((tmp_path / "public" / "manifest.json").read_text())
    public_text = (tmp_path / "public" / "manifest.json").read_text()
    assert "seed" not in public and "image_seed" not in public_text and "gt/" not in public_text
    assert not (tmp_path / "public" / "gt").exists()
    test_names = store_manifest(starter).split("test")
    assert sorted(p.name for p in (tmp_path / "hidden" / "gt").iterdir()) == test_names
    assert sorted(p.name for p in (tmp_path / "public" / "inputs").iterdir()) == test_names
    assert hidden["seed"] == 5 and hidden["track"] == "blur-1"
    assert hidden["public_manifest_sha256"] == hashlib.sha256(public_text.encode()).hexdigest()
    # Non-blind by default: kernels are given, and they are the ones used.
    item = public["items"][0]
    kernel = np.load(tmp_path / "public" / item["kernel"])
    assert np.array_equal(kernel, np.load(tmp_path / "hidden" / item["kernel"]))


def test_inputs_are_degrade_of_the_ground_truth_with_the_documented_image_seed(starter, tmp_path):
    spec = {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.25}}
    hidden = generate_track_data(starter, spec, 3, tmp_path / "public", tmp_path / "hidden")
    for item in hidden["items"]:
        clean = read_image(starter / item["source"])
        assert item["image_seed"] == image_seed(3, item["id"])
        expected = degrade(clean, spec, item["image_seed"])
        assert np.array_equal(load_public_input(tmp_path / "public", item), expected.image)
        assert np.array_equal(read_mask(tmp_path / "public" / item["mask"]), expected.mask)
        assert np.array_equal(read_image(tmp_path / "hidden" / item["ground_truth"]), clean)


def test_sr_ground_truth_is_modcropped_and_unquantised_inputs_are_float_npy(starter, tmp_path):
    files = store_manifest(starter).split("val")[:2]
    spec = {"task": "sr", "scale": 3, "sigma": 5, "clip": False, "quantize": False}
    hidden = generate_track_data(starter, spec, 1, tmp_path / "public", tmp_path / "hidden", files=files)
    for item in hidden["items"]:
        assert item["input"].endswith(".npy") and item["input_shape"][:2] == [64, 64]
        assert read_image(tmp_path / "hidden" / item["ground_truth"]).shape[:2] == (192, 192)
        value = np.load(tmp_path / "public" / item["input"])
        assert value.dtype == np.float32
        expected = degrade(read_image(starter / item["source"]), spec, item["image_seed"]).image
        assert np.allclose(value, expected, atol=1e-6)


def test_blind_tracks_keep_kernels_hidden(starter, tmp_path):
    spec = {"task": "deblur", "kernel": {"type": "gaussian", "size": 7, "sigma": 1.5}}
    generate_track_data(starter, spec, 0, tmp_path / "public", tmp_path / "hidden", disclose_kernel=False)
    assert not (tmp_path / "public" / "kernels").exists()
    assert len(list((tmp_path / "hidden" / "kernels").glob("*.npy"))) == len(
        store_manifest(starter).split("test")
    )


def test_a_tampered_ground_truth_source_stops_generation(starter, tmp_path):
    copy = tmp_path / "data"
    copy.mkdir()
    for path in starter.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    target = copy / store_manifest(copy).split("test")[0]
    data = bytearray(target.read_bytes())
    data[200] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(TrackDataError, match=f"{target.name}: differs from the dataset manifest"):
        generate_track_data(copy, {"task": "denoise", "sigma": 5}, 0, tmp_path / "p", tmp_path / "h")
    assert not (tmp_path / "p").exists() and not (tmp_path / "h").exists()


def test_bad_selections_and_folders_are_refused(starter, tmp_path):
    spec = {"task": "denoise", "sigma": 5}
    with pytest.raises(TrackDataError, match="no split 'holdout'"):
        generate_track_data(starter, spec, 0, tmp_path / "p", tmp_path / "h", split="holdout")
    with pytest.raises(TrackDataError, match="files not in the dataset manifest: nope.png"):
        generate_track_data(starter, spec, 0, tmp_path / "p", tmp_path / "h", files=["nope.png"])
    with pytest.raises(TrackDataError, match="must be separate"):
        generate_track_data(starter, spec, 0, tmp_path / "p", tmp_path / "p" / "hidden")
    with pytest.raises(TrackDataError, match="no manifest.json"):
        generate_track_data(tmp_path, spec, 0, tmp_path / "p", tmp_path / "h")


def test_verify_track_folder_names_altered_missing_and_extra_files(starter, tmp_path):
    generate_track_data(starter, {"task": "denoise", "sigma": 5, "clip": True, "quantize": True}, 0,
                        tmp_path / "public", tmp_path / "hidden")  # fmt: skip
    inputs = sorted((tmp_path / "public" / "inputs").iterdir())
    inputs[0].write_bytes(inputs[0].read_bytes() + b"\0")
    inputs[1].unlink()
    (tmp_path / "public" / "inputs" / "stray.png").write_bytes(b"x")
    problems = verify_track_folder(tmp_path / "public")
    assert f"altered: inputs/{inputs[0].name}" in problems
    assert f"missing: inputs/{inputs[1].name}" in problems
    assert "extra: inputs/stray.png" in problems


def test_a_burst_sample_is_a_folder_of_frames_read_back_as_a_stack(starter, tmp_path):
    spec = {"task": "burst_sr", "frames": 4, "scale": 4, "sigma": 2}
    hidden = generate_track_data(starter, spec, 5, tmp_path / "public", tmp_path / "hidden", split="val")
    public = json.loads((tmp_path / "public" / "manifest.json").read_text())
    item, secret = public["items"][0], hidden["items"][0]
    assert item["frames"] == [f"inputs/{item['id']}/{k:02d}.png" for k in range(4)]
    frames = load_public_input(tmp_path / "public", item)
    store = store_manifest(starter)
    clean = read_image(starter / secret["source"])
    expected = degrade(clean, spec, image_seed(5, item["id"]))
    assert frames.shape == expected.image.shape == tuple(item["input_shape"])
    assert np.array_equal(frames, expected.image)
    assert item["output_shape"] == [4 * frames.shape[1], 4 * frames.shape[2], *frames.shape[3:]]
    assert store.files[secret["source"]].sha256 == secret["source_sha256"]


def test_a_jpeg_track_records_its_encoder(starter, tmp_path):
    hidden = generate_track_data(starter, {"task": "jpeg", "quality": 30}, 5, tmp_path / "p", tmp_path / "h")
    assert {"pillow", "libjpeg", "libjpeg_turbo"} <= set(hidden["generator"])
