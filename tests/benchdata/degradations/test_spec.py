"""DegradationSpec validation: bad parameters are refused with errors naming the field."""

import numpy as np
import pytest

from benchdata.degradations import DegradationSpec, SpecError


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"task": "denoise", "sigma": -5}, "sigma must be >= 0"),
        ({"task": "denoise"}, "sigma must be > 0 for a denoise"),
        ({"task": "denoise", "sigma": "25"}, "sigma must be a number"),
        ({"task": "denoise", "sigma": float("nan")}, "sigma must be finite"),
        ({"task": "dehaze", "sigma": 5}, "unknown task .dehaze.; valid tasks: denoise, deblur, sr, inpaint"),
        ({"task": "denoise", "sigma": 5, "colour": True}, "unknown field.*colour"),
        ({"task": "denoise", "sigma": 5, "quantize": True}, "quantize=true needs clip=true"),
        ({"task": "denoise", "sigma": 5, "clip": 1}, "clip must be true or false"),
        ({"task": "deblur"}, "deblur needs a kernel"),
        (
            {"task": "deblur", "kernel": {"type": "gaussian", "size": 8, "sigma": 2}},
            "kernel.size must be an odd",
        ),
        (
            {"task": "deblur", "kernel": {"type": "gaussian", "size": 7, "sigma": 0}},
            "kernel.sigma must be > 0",
        ),
        ({"task": "deblur", "kernel": {"type": "motion", "size": 20}}, "kernel.size must be an odd"),
        ({"task": "deblur", "kernel": {"type": "motion", "intensity": 2}}, "intensity must be in"),
        ({"task": "deblur", "kernel": {"type": "box"}}, "kernel.type must be one of"),
        ({"task": "deblur", "kernel": {"type": "array", "values": [[0.2, 0.2, 0.2]]}}, "sum to 0.6"),
        ({"task": "deblur", "kernel": {"type": "array", "values": [[0.5, 0.5]]}}, "sizes must be odd"),
        ({"task": "deblur", "kernel": {"type": "array", "values": [[-0.5, 2, -0.5]]}}, "negative taps"),
        (
            {"task": "deblur", "kernel": {"type": "gaussian", "size": 7, "sigma": 1}, "boundary": "zero"},
            "boundary",
        ),
        ({"task": "sr", "scale": 8}, r"scale must be one of \(2, 3, 4\)"),
        ({"task": "sr", "scale": 2.5}, "scale must be an integer"),
        ({"task": "sr"}, "sr needs a scale"),
        ({"task": "sr", "scale": 2, "model": "lanczos"}, "model must be one of"),
        ({"task": "sr", "scale": 2, "kernel": {"type": "gaussian", "size": 7, "sigma": 1}}, "only used by"),
        ({"task": "inpaint"}, "inpaint needs a mask"),
        ({"task": "inpaint", "mask": {"type": "boxes", "coverage": 1.0}}, r"coverage must be in \[0, 1\)"),
        ({"task": "inpaint", "mask": {"type": "pixels", "coverage": -0.1}}, r"coverage must be in \[0, 1\)"),
        ({"task": "inpaint", "mask": {"type": "brush"}}, "coverage is required"),
        ({"task": "inpaint", "mask": {"type": "blob", "coverage": 0.2}}, "mask.type must be one of"),
        (
            {"task": "inpaint", "mask": {"type": "boxes", "coverage": 0.2}, "fill": 2},
            r"fill must be in \[0, 1\]",
        ),
        ({"task": "inpaint", "mask": {"type": "file", "path": "/no/such/mask.png"}}, "mask.path must name"),
        ("denoise 25", "must be a dict"),
    ],
)
def test_bad_parameters_are_rejected_with_a_named_error(spec, message):
    with pytest.raises(SpecError, match=message):
        DegradationSpec.from_dict(spec)


def test_kernel_file_not_summing_to_one_is_rejected_unless_normalised(tmp_path):
    path = tmp_path / "k.npy"
    np.save(path, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"k.npy.*sum to 9"):
        DegradationSpec.from_dict({"task": "deblur", "kernel": {"type": "file", "path": str(path)}})
    spec = DegradationSpec.from_dict(
        {"task": "deblur", "kernel": {"type": "file", "path": str(path), "normalize": True}}
    )
    assert np.allclose(spec.kernel.fixed_array(), np.full((3, 3), 1 / 9))


def test_defaults_are_filled_in_per_task():
    assert DegradationSpec.from_dict({"task": "denoise", "sigma": 25}).to_dict() == {
        "task": "denoise",
        "sigma": 25.0,
        "clip": False,
        "quantize": False,
    }
    sr = DegradationSpec.from_dict({"task": "sr", "scale": 4}).to_dict()
    assert sr == {
        "task": "sr",
        "sigma": 0.0,
        "clip": True,
        "quantize": True,
        "boundary": "symmetric",
        "scale": 4,
        "model": "bicubic",
    }
    bd = DegradationSpec.from_dict({"task": "sr", "scale": 3, "model": "blur_decimate"}).to_dict()
    assert bd["kernel"] == {"type": "gaussian", "size": 7, "sigma": 1.6}


@pytest.mark.parametrize(
    "data",
    [
        {"task": "denoise", "sigma": 15, "clip": True, "quantize": True},
        {
            "task": "deblur",
            "sigma": 2,
            "kernel": {"type": "motion", "size": 25, "intensity": 0.3},
            "boundary": "wrap",
        },
        {"task": "deblur", "kernel": {"type": "array", "values": [[0.25, 0.5, 0.25]]}},
        {
            "task": "sr",
            "scale": 2,
            "model": "blur_decimate",
            "kernel": {"type": "gaussian", "size": 9, "sigma": 2},
        },
        {"task": "inpaint", "mask": {"type": "brush", "coverage": 0.3, "max_width": 0.1}, "fill": 0.5},
    ],
)
def test_to_dict_round_trips_to_an_equal_spec(data):
    spec = DegradationSpec.from_dict(data)
    assert DegradationSpec.from_dict(spec.to_dict()) == spec
