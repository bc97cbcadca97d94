"""`python -m reference_methods`: the registry table and restoring a folder, failures named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchdata.degradations import degrade
from benchdata.degradations.kernels import save_kernel
from benchdata.image_files import read_image, write_image, write_mask
from reference_methods.cli import list_inputs, main, methods_table, parse_param, restore_folder
from reference_methods.registry import MethodError, RestorationContext, list_methods, restore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def noisy_folder(tmp_path, gray):
    """Two noisy observations: one .npy (unquantised, as benchdata writes them) and one PNG."""
    folder = tmp_path / "in"
    folder.mkdir()
    for index, suffix in enumerate([".npy", ".png"]):
        y = degrade(gray, {"task": "denoise", "sigma": 25}, index).image
        if suffix == ".npy":
            np.save(folder / f"im{index}.npy", y.astype(np.float32))
        else:
            write_image(folder / f"im{index}.png", y)
    return folder


def test_methods_table_lists_every_method_with_family_tasks_and_citation():
    table = methods_table()
    for info in list_methods():
        line = next(row for row in table.splitlines() if row.split()[0] == info.name)
        assert info.family in line and ",".join(info.tasks) in line and info.citation in line
    assert all(row.split()[0] in {"name", "bicubic"} for row in methods_table("sr").splitlines()[:2])


def test_restore_folder_writes_what_restore_gives(noisy_folder, tmp_path):
    out = tmp_path / "out"
    report = restore_folder("gaussian", "denoise", noisy_folder, out, sigma=25, progress=False)
    assert report.ok and sorted(p.name for p in report.written) == ["im0.png", "im1.png"]
    degraded = np.load(noisy_folder / "im0.npy").astype(np.float64)
    expected = restore("gaussian", degraded, RestorationContext("denoise", sigma=25))
    assert np.array_equal(read_image(out / "im0.png"), np.floor(expected * 255 + 0.5) / 255)


def test_parameters_reach_the_method(noisy_folder, tmp_path):
    restore_folder(
        "gaussian", "denoise", noisy_folder, tmp_path / "a", sigma=25, params={"std": 0.0}, progress=False
    )
    # std = 0 is no filtering: the PNG input comes back as it is.
    assert np.array_equal(read_image(tmp_path / "a" / "im1.png"), read_image(noisy_folder / "im1.png"))


def test_a_bad_image_is_reported_by_name_and_the_others_go_on(noisy_folder, tmp_path, capsys):
    (noisy_folder / "broken.png").write_bytes(b"not a png")
    status = main(
        [
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
        ]
    )
    assert status == 1
    assert "FAILED broken.png" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["im0.png", "im1.png"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--method", "nope", "--task", "denoise", "--sigma", "5"], "unknown method 'nope'"),
        (["--method", "bicubic", "--task", "denoise", "--sigma", "5"], "does not serve task 'denoise'"),
        (["--method", "gaussian", "--task", "denoise"], "pass --sigma"),
        (["--method", "gaussian", "--task", "denoise", "--sigma", "5", "--param", "sdt=1"], "sdt"),
        (
            ["--method", "gaussian", "--task", "denoise", "--sigma", "5", "--param", "std=big"],
            "must be a number",
        ),
    ],
)
def test_whole_run_problems_stop_before_any_image(noisy_folder, tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["restore", *argv, "--no-progress", str(noisy_folder), str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_inpainting_reads_masks_beside_the_inputs_or_from_a_folder(tmp_path, gray):
    folder, masks = tmp_path / "in", tmp_path / "masks"
    degraded = degrade(gray, {"task": "inpaint", "mask": {"type": "pixels", "coverage": 0.3}}, 1)
    write_image(folder / "a.png", degraded.image)
    write_mask(folder / "a_mask.png", degraded.mask)
    write_mask(masks / "a.png", degraded.mask)
    assert [p.name for p in list_inputs(folder)] == ["a.png"]  # the mask is not an input
    beside = restore_folder("harmonic_inpaint", "inpaint", folder, tmp_path / "o1", progress=False)
    given = restore_folder(
        "harmonic_inpaint", "inpaint", folder, tmp_path / "o2", mask_dir=str(masks), progress=False
    )
    assert beside.ok and given.ok
    assert np.array_equal(read_image(tmp_path / "o1" / "a.png"), read_image(tmp_path / "o2" / "a.png"))
    (folder / "a_mask.png").unlink()
    missing = restore_folder("harmonic_inpaint", "inpaint", folder, tmp_path / "o3", progress=False)
    assert "no mask (use --mask-dir) for 'a'" in missing.failed["a.png"]


def test_deblurring_takes_one_kernel_file_or_a_folder_of_them(tmp_path, gray):
    folder, kernels = tmp_path / "in", tmp_path / "kernels"
    degraded = degrade(gray, {"task": "deblur", "sigma": 1, "kernel": {"type": "motion", "size": 9}}, 3)
    np.save(folder.mkdir() or folder / "b.npy", degraded.image.astype(np.float32))
    save_kernel(kernels / "b.npy", degraded.kernel)
    one = restore_folder(
        "wiener", "deblur", folder, tmp_path / "o1", kernel=str(kernels / "b.npy"), progress=False
    )
    per_image = restore_folder(
        "wiener", "deblur", folder, tmp_path / "o2", kernel=str(kernels), progress=False
    )
    assert one.ok and per_image.ok
    assert np.array_equal(read_image(tmp_path / "o1" / "b.png"), read_image(tmp_path / "o2" / "b.png"))
    without = restore_folder("wiener", "deblur", folder, tmp_path / "o3", progress=False)
    assert "no kernel (use --kernel) for 'b'" in without.failed["b.npy"]


def test_parse_param_reads_json_values_and_falls_back_to_strings():
    assert parse_param("h=0.05") == ("h", 0.05)
    assert parse_param("iterations=3") == ("iterations", 3)
    assert parse_param("wavelet=db4") == ("wavelet", "db4")
    assert parse_param("radius=null") == ("radius", None)


def test_module_entry_point_runs_without_django(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import sys, reference_methods.cli as c; sys.exit(c.main(['methods'])); "],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "bicubic" in result.stdout
    probe = "import sys, reference_methods.cli; print('django' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        == "False"
    )


def test_restore_folder_refuses_to_write_into_its_input(noisy_folder):
    with pytest.raises(ValueError, match="must differ"):
        restore_folder("gaussian", "denoise", noisy_folder, noisy_folder, sigma=5, progress=False)
    with pytest.raises(MethodError, match="--scale"):
        restore_folder("bicubic", "sr", noisy_folder, noisy_folder.parent / "x", progress=False)
