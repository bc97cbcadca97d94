"""The manifest is validated before anything touches the model, and every problem is named."""

import pytest

from evaluator.model_runner.manifest import Manifest, ManifestError, parse_manifest


def test_minimal_manifest_gets_documented_defaults():
    m = parse_manifest({"task": "denoise"})
    assert m == Manifest(
        task="denoise", scale=1, color="rgb", input_range=(0.0, 1.0), output_range=(0.0, 1.0)
    )
    assert m.channels == 3


def test_sr_manifest_keeps_scale_tiles_and_ranges():
    m = parse_manifest(
        {
            "task": "sr",
            "scale": 3,
            "color": "y",
            "input_range": [0, 255],
            "output_range": [-1, 1],
            "tile_size": 64,
            "tile_overlap": 8,
        }
    )
    assert (m.scale, m.color, m.channels, m.input_range, m.output_range) == (
        3,
        "y",
        1,
        (0.0, 255.0),
        (-1.0, 1.0),
    )
    assert (m.tile_size, m.tile_overlap) == (64, 8)


def test_every_problem_is_listed_in_one_error():
    with pytest.raises(ManifestError) as info:
        parse_manifest({"task": "sharpen", "color": "cmyk", "input_range": [1, 0], "speed": "fast"})
    text = str(info.value)
    for fragment in ("task must be one of", "color must be one of", "input_range", "unknown field(s) speed"):
        assert fragment in text


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"task": "sr"}, "scale must be an integer from 2 to 8"),
        ({"task": "denoise", "scale": 2}, "scale must be 1"),
        ({"task": "denoise", "tile_size": 32, "tile_overlap": 16}, "less than half of tile_size"),
        ({"task": "denoise", "tile_overlap": 3}, "non-negative even integer"),
        ({"task": "denoise", "tile_size": 4}, "tile_size must be null or an integer from 8"),
        ({"task": "denoise", "format": "safetensors"}, "needs 'architecture'"),
        ({"task": "denoise", "format": "onnx", "architecture": "srcnn"}, "safetensors weights only"),
        ({"task": "denoise", "output_range": [0, float("nan")]}, "output_range must be [low, high]"),
        ({"task": "denoise", "architecture_params": {"depth": [1, 2]}}, "architecture_params"),
    ],
)
def test_invalid_field_is_named(data, fragment):
    with pytest.raises(ManifestError, match=None) as info:
        parse_manifest(data)
    assert fragment in str(info.value)


def test_non_object_manifest_is_refused():
    with pytest.raises(ManifestError, match="JSON object"):
        parse_manifest(["task", "denoise"])


def test_a_model_can_restore_every_task_of_the_table():
    from benchdata.tasks import list_tasks

    for info in list_tasks():
        data = {"task": info.name, "scale": 4} if info.scaled else {"task": info.name}
        if info.multi_frame:
            data["frames"] = 8
        assert parse_manifest(data).task == info.name
    with pytest.raises(ManifestError, match="scale must be an integer from 2 to 8 for task 'sr'"):
        parse_manifest({"task": "sr"})
    with pytest.raises(ManifestError, match="scale must be 1 .* for task 'jpeg'"):
        parse_manifest({"task": "jpeg", "scale": 2})


def test_a_burst_manifest_needs_its_frames_and_refuses_y():
    parsed = parse_manifest({"task": "burst_sr", "scale": 4, "frames": 14})
    assert (parsed.frames, parsed.input_channels) == (14, 42)
    with pytest.raises(ManifestError) as error:
        parse_manifest({"task": "burst_sr", "scale": 4, "color": "y"})
    assert "needs frames" in str(error.value) and "color 'y' is not available" in str(error.value)
    with pytest.raises(ManifestError, match="frames applies to task"):
        parse_manifest({"task": "denoise", "frames": 3})
