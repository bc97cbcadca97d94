"""The data of a phase without ground truth: the organizer's inputs alone, checked like pairs (every
problem named) and installed as the public folder only, with a manifest that says so."""

import hashlib
import json

import numpy as np
import pytest

from benchdata.example_pairs import REALWORLD_SCALE, write_realworld_sr_inputs
from benchdata.image_files import read_image, write_image
from benchdata.pair_inputs import check_inputs
from benchdata.pairs import PairDataError, install_pairs
from benchdata.resize import imresize


def _inputs(folder, names=("a", "b"), size=(8, 10)):
    for i, name in enumerate(names):
        write_image(folder / f"{name}.png", np.random.default_rng(i).random((*size, 3)))
    return folder


def test_inputs_alone_are_accepted_and_each_output_is_the_input_times_the_scale(tmp_path):
    inputs = check_inputs(_inputs(tmp_path / "in"), task="sr", scale=3)
    assert inputs.ground_truth_dir is None and inputs.expected_names == ["a.png", "b.png"]
    assert [(i.id, i.input_shape, i.output_shape) for i in inputs.items] == [
        ("a", [8, 10, 3], [24, 30, 3]),
        ("b", [8, 10, 3], [24, 30, 3]),
    ]


def test_every_bad_input_is_named_and_npy_inputs_and_bursts_are_refused(tmp_path):
    folder = _inputs(tmp_path / "in", names=("a", "A"))
    np.save(folder / "c.npy", np.zeros((4, 4)))
    (folder / "d.png").write_bytes(b"not a png")
    with pytest.raises(PairDataError) as caught:
        check_inputs(folder, task="denoise", label="real/in")
    problems = "\n".join(caught.value.problems)
    assert "real/in/A.png, real/in/a.png: names differ only in case" in problems
    assert "real/in/c.npy: not an accepted file (.png)" in problems
    assert "real/in/d.png: not a PNG file" in problems
    with pytest.raises(PairDataError, match="burst_sr phase needs ground truth"):
        check_inputs(_inputs(tmp_path / "b"), task="burst_sr", scale=2)


def test_installed_inputs_have_a_public_manifest_and_no_hidden_folder(tmp_path):
    source = _inputs(tmp_path / "in")
    manifest = install_pairs(
        check_inputs(source, task="enhance"), tmp_path / "public", tmp_path / "hidden", track="c/t/p"
    )
    assert not (tmp_path / "hidden").exists()
    written = json.loads((tmp_path / "public" / "manifest.json").read_text())
    assert written == manifest and written["ground_truth"] is False
    assert [item["input"] for item in written["items"]] == ["inputs/a.png", "inputs/b.png"]
    for record in written["files"]:
        data = (tmp_path / "public" / record["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"]
        assert data == (source / record["name"].removeprefix("inputs/")).read_bytes()


def test_the_real_world_example_inputs_are_the_photos_downscaled_with_a_little_noise(tmp_path):
    out = write_realworld_sr_inputs(tmp_path / "realworld")
    for phase in ("dev", "test"):
        assert len(check_inputs(out / phase / "input", task="sr", scale=REALWORLD_SCALE).items) == 3
    from benchdata.manifests import load_manifest
    from benchdata.starter import load_recipe_crop

    entry = next(e for e in load_manifest("starter").data["recipe"] if e["name"] == "rocket")
    clean = imresize(load_recipe_crop(entry).astype(np.float64) / 255, 1 / REALWORLD_SCALE)
    noisy = read_image(out / "dev" / "input" / "rocket.png")
    assert noisy.shape == clean.shape
    assert 1.0 < np.std(noisy - clean) * 255 < 3.0  # sigma 2 (plus rounding), not a copy
