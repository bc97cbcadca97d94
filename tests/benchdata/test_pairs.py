"""Organizer pair sets: every problem found at once with its file named; a good set installed with
SHA-256 manifests; nothing written on failure."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from benchdata.image_files import read_image, write_image
from benchdata.pairs import PairDataError, PairLimits, check_pairs, install_pairs
from benchdata.tasks import list_tasks


def _image(h, w, seed=0):
    return np.random.default_rng(seed).random((h, w, 3))


def _pairs(root, names=("a", "b"), size=(8, 10), scale=1):
    inputs, gt = root / "input", root / "gt"
    for i, name in enumerate(names):
        write_image(inputs / f"{name}.png", _image(*size, seed=i))
        write_image(gt / f"{name}.png", _image(size[0] * scale, size[1] * scale, seed=10 + i))
    return inputs, gt


def _problems(*args, **kwargs) -> list[str]:
    with pytest.raises(PairDataError) as caught:
        check_pairs(*args, **kwargs)
    return caught.value.problems


def test_a_matching_set_is_accepted_with_its_shapes_and_checksums(tmp_path):
    inputs, gt = _pairs(tmp_path)
    pairs = check_pairs(inputs, gt, task="enhance")
    assert [(i.id, i.input, i.ground_truth, i.input_shape) for i in pairs.items] == [
        ("a", "a.png", "a.png", [8, 10, 3]),
        ("b", "b.png", "b.png", [8, 10, 3]),
    ]
    digest = hashlib.sha256((gt / "b.png").read_bytes()).hexdigest()
    assert [(f.name, f.sha256) for f in pairs.ground_truth_files][1] == ("b.png", digest)


def test_every_problem_is_reported_at_once_each_naming_its_file(tmp_path):
    inputs, gt = _pairs(tmp_path, names=("a", "b", "c", "d"))
    (gt / "a.png").unlink()  # input without ground truth
    write_image(gt / "orphan.png", _image(8, 10))  # ground truth without input
    (inputs / "b.png").write_bytes(b"not a png at all")  # does not decode
    write_image(gt / "c.png", _image(9, 10))  # wrong size
    write_image(inputs / "D.png", _image(8, 10))  # differs from d.png only in case
    problems = _problems(inputs, gt, task="denoise", labels=("dev/input", "dev/gt"))
    text = "\n".join(problems)
    assert "dev/input/a.png: no ground truth named a.png in dev/gt" in text
    assert "dev/gt/orphan.png: no input named orphan in dev/input" in text
    assert any(p.startswith("dev/input/b.png:") and "PNG" in p for p in problems)
    assert "dev/input/c.png is 10x8 but dev/gt/c.png is 10x9" in text
    assert "dev/input/D.png, dev/input/d.png: names differ only in case or extension" in text
    assert len(problems) == 5
    assert str(tmp_path) not in text  # labels only, never a server path


def test_a_name_repeated_with_another_extension_is_refused(tmp_path):
    inputs, gt = _pairs(tmp_path, names=("a",))
    np.save(inputs / "a.npy", np.zeros((8, 10, 3), np.float32))
    assert _problems(inputs, gt, task="enhance") == [
        "input/a.npy, input/a.png: names differ only in case or extension; keep exactly one"
    ]


def test_sr_ground_truth_must_be_the_input_times_the_scale(tmp_path):
    inputs, gt = _pairs(tmp_path, names=("a",), size=(6, 5), scale=4)
    assert check_pairs(inputs, gt, task="sr", scale=4).items[0].output_shape == [24, 20, 3]
    write_image(gt / "a.png", _image(24, 24))
    assert _problems(inputs, gt, task="sr", scale=4) == [
        "gt/a.png is 24x24, the input input/a.png is 5x6: ground truth must be x4 the input (20x24)"
    ]
    assert "positive integer scale" in _problems(inputs, gt, task="sr")[0]


def test_burst_inputs_are_folders_of_equal_frames(tmp_path):
    inputs, gt = tmp_path / "input", tmp_path / "gt"
    for k in range(3):
        write_image(inputs / "s1" / f"{k:02d}.png", _image(4, 5, seed=k))
    write_image(gt / "s1.png", _image(8, 10))
    pairs = check_pairs(inputs, gt, task="burst_sr", scale=2)
    assert pairs.items[0].frames == ["00.png", "01.png", "02.png"]
    write_image(inputs / "s1" / "03.png", _image(4, 6))
    write_image(inputs / "lonely.png", _image(4, 5))
    write_image(gt / "lonely.png", _image(8, 10))
    problems = _problems(inputs, gt, task="burst_sr", scale=2)
    assert problems[0] == "input/lonely.png: for burst_sr an input is a folder of frames"
    assert problems[1].startswith("input/s1: frames of different sizes (00.png 5x4,")
    assert len(problems) == 2


def test_a_plain_task_refuses_folders_and_symlinks(tmp_path):
    inputs, gt = _pairs(tmp_path, names=("a",))
    (inputs / "sub").mkdir()
    (gt / "b.png").symlink_to(gt / "a.png")
    problems = _problems(inputs, gt, task="enhance")
    assert "input/sub: a folder; put the files directly in input" in problems
    assert "gt/b.png: symbolic links are not accepted; copy the file itself" in problems


def test_limits_on_count_pixels_and_frames(tmp_path):
    inputs, gt = _pairs(tmp_path, names=("a", "b", "c"))
    assert "input: 3 entries, over the limit of 2" in _problems(
        inputs, gt, task="enhance", limits=PairLimits(max_items=2)
    )
    problems = _problems(inputs, gt, task="enhance", limits=PairLimits(max_pixels=50))
    assert "input/a.png: 10x8 pixels exceeds the limit of 50 per image" in problems
    assert len(problems) == 6


def test_npy_inputs_are_checked_from_their_header(tmp_path):
    inputs, gt = _pairs(tmp_path, names=("a", "b", "c"))
    for name in ("a", "b", "c"):
        (inputs / f"{name}.png").unlink()
    np.save(inputs / "a.npy", np.zeros((8, 10, 3), np.float32))
    np.save(inputs / "b.npy", np.zeros((8, 10, 3), np.int64))
    np.save(inputs / "c.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    problems = _problems(inputs, gt, task="denoise")
    assert problems == [
        "input/b.npy: a .npy input must be float32 or float64, got int64",
        "input/c.npy: a .npy input must be float32 or float64, got object",
    ]


def test_install_copies_inputs_and_hidden_ground_truth_with_manifests(tmp_path):
    inputs, gt = _pairs(tmp_path / "src")
    pairs = check_pairs(inputs, gt, task="enhance")
    hidden = install_pairs(pairs, tmp_path / "public", tmp_path / "hidden", track="c/t/p")
    assert sorted(p.name for p in (tmp_path / "public" / "inputs").iterdir()) == ["a.png", "b.png"]
    assert (tmp_path / "hidden" / "gt" / "a.png").read_bytes() == (gt / "a.png").read_bytes()
    public = json.loads((tmp_path / "public" / "manifest.json").read_text())
    assert {f["name"]: f["sha256"] for f in public["files"]}["inputs/a.png"] == hashlib.sha256(
        (inputs / "a.png").read_bytes()
    ).hexdigest()
    assert not any("gt" in f["name"] for f in public["files"])
    assert (
        hidden["public_manifest_sha256"]
        == hashlib.sha256((tmp_path / "public" / "manifest.json").read_bytes()).hexdigest()
    )
    assert [i["ground_truth"] for i in hidden["items"]] == ["gt/a.png", "gt/b.png"]
    assert np.array_equal(read_image(tmp_path / "hidden" / "gt" / "b.png"), read_image(gt / "b.png"))


def test_a_file_changed_after_the_check_is_refused_and_nothing_is_left(tmp_path):
    inputs, gt = _pairs(tmp_path / "src")
    pairs = check_pairs(inputs, gt, task="enhance")
    write_image(gt / "b.png", _image(8, 10, seed=99))
    with pytest.raises(PairDataError, match="ground truth/b.png: changed since it was checked"):
        install_pairs(pairs, tmp_path / "out" / "public", tmp_path / "out" / "hidden")
    assert list((tmp_path / "out").iterdir()) == []


def test_the_checker_imports_without_django_or_torch():
    code = "import sys, benchdata.pairs; print('django' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("info", list_tasks(), ids=lambda info: info.name)
def test_every_task_accepts_pairs_of_its_geometry_and_refuses_others(tmp_path, info):
    inputs, gt = tmp_path / "input", tmp_path / "gt"
    scale = 2 if info.scaled else None
    out_h, out_w = info.output_size(6, 5, scale)
    if info.multi_frame:
        for k in range(2):
            write_image(inputs / "s" / f"{k}.png", _image(6, 5, seed=k))
    else:
        write_image(inputs / "s.png", _image(6, 5))
    write_image(gt / "s.png", _image(out_h, out_w))
    pairs = check_pairs(inputs, gt, task=info.name, scale=scale)
    assert pairs.items[0].output_shape[:2] == [out_h, out_w]
    write_image(gt / "s.png", _image(out_h + (scale or 1), out_w))
    assert len(_problems(inputs, gt, task=info.name, scale=scale)) == 1


def test_a_task_is_named_as_the_task_table_spells_it(tmp_path):
    inputs, gt = _pairs(tmp_path, names=("a",), size=(4, 4), scale=4)
    assert _problems(inputs, gt, task="super_resolution") == ["task 'super_resolution' is now spelled 'sr'"]
    assert "unknown task 'dehaze'" in _problems(inputs, gt, task="dehaze")[0]
