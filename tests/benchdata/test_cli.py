"""`python -m benchdata`: commands, option parsing into specs, exit statuses."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchdata.cli import UsageError, main, spec_from_options
from benchdata.degradations import save_kernel
from benchdata.image_files import write_mask

from .conftest import make_images

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"task": "denoise", "sigma": 25.0},
            {"task": "denoise", "sigma": 25.0, "clip": False, "quantize": False},
        ),
        (
            {"task": "sr", "scale": 2, "clip": False},
            {"task": "sr", "scale": 2, "clip": False, "quantize": False},
        ),
        (
            {"task": "deblur", "kernel": "gaussian:9:1.5"},
            {"kernel": {"type": "gaussian", "size": 9, "sigma": 1.5}},
        ),
        (
            {"task": "deblur", "kernel": "motion:21:0.3"},
            {"kernel": {"type": "motion", "size": 21, "intensity": 0.3}},
        ),
        ({"task": "inpaint", "mask": "brush:0.3"}, {"mask": {"type": "brush", "coverage": 0.3}}),
        ({"spec": '{"task": "sr", "scale": 4}'}, {"task": "sr", "scale": 4, "model": "bicubic"}),
    ],
)
def test_options_become_specs(options, expected):
    spec = spec_from_options(options).to_dict()
    assert {key: spec[key] for key in expected} == expected


def test_kernel_and_mask_files_are_accepted(tmp_path):
    kernel_path, _ = save_kernel(tmp_path / "k.npy", np.full((3, 3), 1 / 9))
    write_mask(tmp_path / "m.png", np.eye(4, dtype=bool))
    assert spec_from_options({"task": "deblur", "kernel": str(kernel_path)}).kernel.type == "file"
    assert spec_from_options({"task": "inpaint", "mask": str(tmp_path / "m.png")}).mask.type == "file"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "give --task"),
        ({"task": "deblur", "kernel": "box:3"}, "--kernel must be"),
        ({"task": "deblur", "kernel": "gaussian:9"}, "SIZE:SIGMA"),
        ({"task": "inpaint", "mask": "circles:0.2"}, "--mask must be"),
        ({"task": "inpaint", "mask": "boxes:lots"}, "coverage must be a number"),
        ({"spec": "{not json"}, "not valid JSON"),
    ],
)
def test_bad_options_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        spec_from_options(options)


def test_degrade_command_writes_outputs_and_bad_parameters_exit_2(tmp_path, capsys):
    make_images(tmp_path / "src", count=2)
    assert (
        main(
            [
                "degrade",
                "--task",
                "sr",
                "--scale",
                "2",
                "--seed",
                "1",
                str(tmp_path / "src"),
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "o").glob("*.png")) == ["img0.png", "img1.png"]
    assert (
        main(
            [
                "degrade",
                "--task",
                "denoise",
                "--sigma",
                "-3",
                "--seed",
                "1",
                str(tmp_path / "src"),
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "sigma must be >= 0" in capsys.readouterr().err


def test_import_and_verify_commands_report_by_name(tiny_known, tmp_path, capsys):
    assert main(["verify", "tiny", str(tiny_known), "--root", str(tmp_path / "store")]) == 0
    data = bytearray((tiny_known / "img0.png").read_bytes())
    data[99] ^= 4
    (tiny_known / "img0.png").write_bytes(bytes(data))
    assert main(["import", "tiny", str(tiny_known), "--root", str(tmp_path / "store")]) == 1
    assert "altered (1): img0.png" in capsys.readouterr().err


def test_starter_and_track_commands(tmp_path):
    assert main(["starter", str(tmp_path / "starter"), "--variant", "starter_gray"]) == 0
    args = [
        "track",
        str(tmp_path / "starter"),
        "--public",
        str(tmp_path / "pub"),
        "--hidden",
        str(tmp_path / "hid"),
    ]
    assert main(args + ["--seed", "3", "--task", "denoise", "--sigma", "15", "--clip", "--quantize"]) == 0
    assert len(list((tmp_path / "pub" / "inputs").glob("*.png"))) == 3


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "benchdata", "list"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0 and "cset14" in result.stdout and "checksums unknown" in result.stdout
