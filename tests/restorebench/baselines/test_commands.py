"""`manage.py methods` and `manage.py restore` are thin faces of `reference_methods.cli`."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from benchdata.image_files import read_image, write_image
from reference_methods.registry import RestorationContext, list_methods, restore


@pytest.fixture
def noisy_folder(tmp_path):
    rng = np.random.default_rng(0)
    clean = np.kron(rng.random((6, 6)), np.ones((8, 8)))
    folder = tmp_path / "in"
    write_image(folder / "a.png", np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0, 1))
    return folder


def test_methods_lists_the_registry():
    out = StringIO()
    call_command("methods", stdout=out)
    names = {line.split()[0] for line in out.getvalue().splitlines()[1:]}
    assert names == {m.name for m in list_methods()}


def test_methods_filters_by_task():
    out = StringIO()
    call_command("methods", "--task", "inpaint", stdout=out)
    names = {line.split()[0] for line in out.getvalue().splitlines()[1:]}
    assert names == {m.name for m in list_methods("inpaint")}


@pytest.mark.parametrize(
    ("task", "methods"),
    [("jpeg", {"identity", "tv_deblock"}), ("burst_sr", {"burst_bicubic", "shift_and_add"})],
)
def test_methods_lists_the_new_tasks_baselines(task, methods):
    out = StringIO()
    call_command("methods", "--task", task, stdout=out)
    names = {line.split()[0] for line in out.getvalue().splitlines()[1:]}
    assert methods <= names
    assert names == {m.name for m in list_methods(task)}


def test_restore_runs_a_burst_method_on_a_folder_of_frame_folders(tmp_path):
    from benchdata.degradations import DegradationSpec, degrade
    from benchdata.observations import write_observation

    spec = DegradationSpec.from_dict({"task": "burst_sr", "frames": 3, "scale": 2, "sigma": 1})
    rng = np.random.default_rng(1)
    burst = degrade(rng.random((16, 20)), spec, 0).image
    write_observation(tmp_path / "in" / "b1", burst, spec)
    call_command("restore", "--method", "burst_bicubic", "--task", "burst_sr", "--scale", "2",
                 "--no-progress", str(tmp_path / "in"), str(tmp_path / "out"), stdout=StringIO())  # fmt: skip
    expected = restore("burst_bicubic", burst, RestorationContext(task="burst_sr", scale=2))
    assert np.array_equal(read_image(tmp_path / "out" / "b1.png"), np.floor(expected * 255 + 0.5) / 255)


def test_restore_refuses_a_kernel_method_without_a_kernel_only_when_it_needs_one(noisy_folder, tmp_path):
    call_command("restore", "--method", "identity", "--task", "deblur", "--sigma", "2", "--no-progress",
                 str(noisy_folder), str(tmp_path / "out"), stdout=StringIO())  # fmt: skip
    assert np.array_equal(read_image(tmp_path / "out" / "a.png"), read_image(noisy_folder / "a.png"))
    with pytest.raises(CommandError, match=r"FAILED a.png: no kernel \(use --kernel\) for 'a'"):
        call_command("restore", "--method", "wiener", "--task", "deblur", "--sigma", "2", "--no-progress",
                     str(noisy_folder), str(tmp_path / "out2"), stdout=StringIO())  # fmt: skip


def test_restore_writes_the_methods_output(noisy_folder, tmp_path):
    out = StringIO()
    call_command(
        "restore",
        "--method",
        "bilateral",
        "--task",
        "denoise",
        "--sigma",
        "25",
        "--no-progress",
        str(noisy_folder),
        str(tmp_path / "out"),
        stdout=out,
    )
    assert "restored 1 image(s)" in out.getvalue()
    expected = restore(
        "bilateral", read_image(noisy_folder / "a.png"), RestorationContext("denoise", sigma=25)
    )
    assert np.array_equal(read_image(tmp_path / "out" / "a.png"), np.floor(expected * 255 + 0.5) / 255)


def test_restore_fails_with_the_names_of_failed_images(noisy_folder, tmp_path):
    (noisy_folder / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(CommandError, match="FAILED bad.png"):
        call_command(
            "restore",
            "--method",
            "gaussian",
            "--task",
            "denoise",
            "--sigma",
            "25",
            "--no-progress",
            str(noisy_folder),
            str(tmp_path / "out"),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert (tmp_path / "out" / "a.png").exists()


def test_restore_rejects_a_method_that_does_not_serve_the_task(noisy_folder, tmp_path):
    with pytest.raises(CommandError, match="does not serve task 'sr'"):
        call_command(
            "restore", "--method", "nlm", "--task", "sr", "--scale", "2", str(noisy_folder), str(tmp_path)
        )
