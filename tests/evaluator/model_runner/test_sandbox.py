"""Submitted models run in a confined child process; good ones round-trip, bad ones fail clearly."""

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from evaluator.model_runner import RunLimits, run_model_submission
from evaluator.model_runner.sandbox import CHILD

DENOISE_GRAY = {"task": "denoise", "color": "gray"}


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _uint8(x: np.ndarray) -> np.ndarray:
    """Independent of the runner: clip, then round half away from zero (non-negative values)."""
    return np.floor(np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def _our_children() -> list[int]:
    """Live processes whose parent is this test process and that run the model child."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and str(CHILD).encode() in cmdline and " Z " not in stat:
            found.append(int(entry))
    return found


def test_good_gray_model_round_trips_and_is_measured(tmp_path, models, gray_inputs):
    out = tmp_path / "out"
    report = run_model_submission(models.affine(0.5, 0.25), DENOISE_GRAY, gray_inputs, out)
    assert report.ok, report.error
    assert [i.name for i in report.images] == ["a.png", "b.png", "c.png"]
    for src in sorted(gray_inputs.iterdir()):
        expected = _uint8(0.5 * _png(src) / 255.0 + 0.25)
        np.testing.assert_array_equal(_png(out / src.name), expected)
    assert report.parameters == 2 and report.format == "onnx"
    assert report.provider == "CPUExecutionProvider" and report.runtime_clock == "perf_counter"
    assert report.peak_memory_bytes > 10 * 2**20  # the interpreter plus onnxruntime, at least
    assert report.seconds_per_image > 0 and report.wall_seconds >= sum(i.seconds for i in report.images)
    assert report.exit_status == "exit 0"
    assert report.sandbox["limits"]["open_files"] == 128
    assert "network" in report.sandbox and "user" in report.sandbox


def test_peak_memory_is_the_childs_own_not_the_parents(tmp_path, models, gray_inputs):
    ballast = np.ones(600 * 2**20 // 8)  # 600 MiB resident in the parent while it forks the child
    report = run_model_submission(models.affine(1.0, 0.0), DENOISE_GRAY, gray_inputs, tmp_path / "out")
    assert report.ok, report.error
    assert 20 * 2**20 < report.peak_memory_bytes < 400 * 2**20
    assert ballast.sum() == ballast.size


def test_rgb_network_receives_rgb_and_input_ranges_are_applied(tmp_path, models, rgb_inputs):
    # The network sees x in [0, 255] and answers on [0, 255]: y = 255 - x (an inversion).
    manifest = {"task": "denoise", "color": "rgb", "input_range": [0, 255], "output_range": [0, 255]}
    report = run_model_submission(
        models.affine(-1.0, 255.0, channels=3), manifest, rgb_inputs, tmp_path / "out"
    )
    assert report.ok, report.error
    for src in rgb_inputs.iterdir():
        np.testing.assert_array_equal(_png(tmp_path / "out" / src.name), 255 - _png(src))


def test_gray_network_runs_on_each_rgb_channel(tmp_path, models, rgb_inputs):
    report = run_model_submission(models.box_blur(), DENOISE_GRAY, rgb_inputs, tmp_path / "out")
    assert report.ok, report.error
    for src in rgb_inputs.iterdir():
        x = _png(src) / 255.0
        expected = np.stack(
            [ndimage.correlate(x[:, :, c], np.full((3, 3), 1 / 9), mode="constant") for c in range(3)], 2
        )
        got = _png(tmp_path / "out" / src.name).astype(int)
        assert got.shape == x.shape
        assert np.abs(got - _uint8(expected)).max() <= 1  # float32 network vs float64 reference


def test_sr_network_output_is_placed_at_scale(tmp_path, models, rgb_inputs):
    report = run_model_submission(
        models.nearest_upscale(3), {"task": "sr", "scale": 3}, rgb_inputs, tmp_path / "o"
    )
    assert report.ok, report.error
    for src in rgb_inputs.iterdir():
        np.testing.assert_array_equal(_png(tmp_path / "o" / src.name), _png(src).repeat(3, 0).repeat(3, 1))


def test_y_mode_identity_network_returns_the_input(tmp_path, models, rgb_inputs):
    report = run_model_submission(
        models.affine(1.0, 0.0), {"task": "denoise", "color": "y"}, rgb_inputs, tmp_path / "o"
    )
    assert report.ok, report.error
    for src in rgb_inputs.iterdir():
        diff = np.abs(_png(tmp_path / "o" / src.name).astype(int) - _png(src).astype(int))
        assert diff.max() <= 1  # only float32 rounding in the YCbCr round trip


def test_large_images_are_tiled_and_match_whole_image_inference(tmp_path, models, gray_inputs):
    manifest = {**DENOISE_GRAY, "tile_size": 32, "tile_overlap": 8}
    report = run_model_submission(models.box_blur(), manifest, gray_inputs, tmp_path / "out")
    assert report.ok, report.error
    x = _png(gray_inputs / "c.png") / 255.0  # 70×50: 3×2 tiles
    expected = _uint8(ndimage.correlate(x, np.full((3, 3), 1 / 9), mode="constant"))
    assert np.abs(_png(tmp_path / "out" / "c.png").astype(int) - expected).max() <= 1


def test_fixed_size_model_is_run_on_padded_tiles(tmp_path, models, gray_inputs):
    manifest = {**DENOISE_GRAY, "tile_size": 32, "tile_overlap": 8}
    report = run_model_submission(models.box_blur(fixed_hw=(32, 32)), manifest, gray_inputs, tmp_path / "out")
    assert report.ok, report.error
    assert _png(tmp_path / "out" / "a.png").shape == (16, 16)
    x = _png(gray_inputs / "c.png") / 255.0
    interior = ndimage.correlate(x, np.full((3, 3), 1 / 9), mode="constant")[1:-1, 1:-1]
    assert np.abs(_png(tmp_path / "out" / "c.png")[1:-1, 1:-1].astype(int) - _uint8(interior)).max() <= 1


def test_fixed_size_model_with_other_tile_size_is_a_manifest_error(tmp_path, models, gray_inputs):
    report = run_model_submission(
        models.box_blur(fixed_hw=(32, 32)), {**DENOISE_GRAY, "tile_size": 64}, gray_inputs, tmp_path / "out"
    )
    assert report.error_kind == "manifest" and "fixed size 32x32" in report.error


def test_wrong_output_shape_is_refused_naming_the_image(tmp_path, models, gray_inputs):
    report = run_model_submission(models.half_size(), DENOISE_GRAY, gray_inputs, tmp_path / "out")
    assert not report.ok and report.error_kind == "output_shape"
    assert report.failed_image == "a.png"
    assert "(1, 1, 8, 8)" in report.error and "(N=1, C, 16, 16)" in report.error


def test_output_outside_declared_range_is_refused(tmp_path, models, gray_inputs):
    report = run_model_submission(models.affine(255.0, 0.0), DENOISE_GRAY, gray_inputs, tmp_path / "out")
    assert report.error_kind == "output_range"
    assert (
        "output_range [0, 1]" in report.error and "a.png" in report.error and "tolerance 25%" in report.error
    )
    assert not (tmp_path / "out" / "a.png").exists()


def test_small_overshoot_within_tolerance_is_clipped(tmp_path, models, gray_inputs):
    report = run_model_submission(models.affine(1.0, 0.2), DENOISE_GRAY, gray_inputs, tmp_path / "out")
    assert report.ok, report.error
    for src in gray_inputs.iterdir():
        np.testing.assert_array_equal(_png(tmp_path / "out" / src.name), _uint8(_png(src) / 255.0 + 0.2))


def test_nan_outputs_are_refused(tmp_path, models, gray_inputs):
    report = run_model_submission(models.nan_model(), DENOISE_GRAY, gray_inputs, tmp_path / "out")
    assert report.error_kind == "nan" and "256 NaN" in report.error  # a.png is 16×16


def test_too_slow_model_is_killed_at_the_wall_time_limit(tmp_path, models, gray_inputs):
    limits = RunLimits(wall_seconds=2.0)
    report = run_model_submission(models.loop(10**12), DENOISE_GRAY, gray_inputs, tmp_path / "out", limits)
    assert report.error_kind == "wall_time" and "2 s" in report.error
    assert report.exit_status == "killed by SIGKILL"
    assert 2.0 <= report.wall_seconds < 10
    assert _our_children() == []


def test_cpu_time_limit_stops_a_busy_model(tmp_path, models, gray_inputs):
    limits = RunLimits(wall_seconds=60, cpu_seconds=1, threads=1)
    report = run_model_submission(models.loop(10**12), DENOISE_GRAY, gray_inputs, tmp_path / "out", limits)
    assert report.error_kind == "cpu_time", report.error
    assert report.exit_status == "killed by SIGXCPU"  # the kernel's RLIMIT_CPU signal
    # SIGXCPU comes at 1 s of CPU; the usage the parent reads back is accounted in ticks and, on a
    # loaded machine, has read as low as 0.88 s for the same kill.
    assert report.cpu_seconds >= 0.75


def test_model_needing_too_much_memory_fails_clearly(tmp_path, models, gray_inputs):
    limits = RunLimits(memory_bytes=256 * 2**20)
    report = run_model_submission(
        models.huge_allocation(), DENOISE_GRAY, gray_inputs, tmp_path / "out", limits
    )
    assert report.error_kind == "memory", report.error
    assert report.failed_image == "a.png"


def test_resident_memory_above_the_limit_kills_the_process_group(tmp_path, models, gray_inputs):
    # 40 MiB is below what the interpreter and onnxruntime alone keep resident (~75 MiB), while the
    # address-space limit (memory + the runtime's reservation) lets the process get there: the
    # parent's VmRSS watchdog is what stops it.
    limits = RunLimits(memory_bytes=40 * 2**20, wall_seconds=60)
    report = run_model_submission(models.loop(10**12), DENOISE_GRAY, gray_inputs, tmp_path / "out", limits)
    assert report.error_kind == "memory", report.error
    assert "resident memory, above the limit of 40 MiB" in report.error
    assert report.exit_status == "killed by SIGKILL"
    assert _our_children() == []


def test_model_failing_mid_run_reports_the_image_and_keeps_earlier_outputs(tmp_path, models, gray_inputs):
    report = run_model_submission(models.fixed_reshape(16), DENOISE_GRAY, gray_inputs, tmp_path / "out")
    assert report.error_kind == "model_error"
    assert report.failed_image == "b.png" and "the model failed on b.png" in report.error
    assert [i.name for i in report.images] == ["a.png"]
    assert (tmp_path / "out" / "a.png").exists() and not (tmp_path / "out" / "b.png").exists()


def test_child_killed_by_a_signal_mid_run_is_reported_as_a_crash(tmp_path, models, gray_inputs):
    def crash_after_first(done: int, total: int) -> None:
        if done == 1:
            for pid in _our_children():
                os.kill(pid, signal.SIGSEGV)

    report = run_model_submission(
        models.loop(600_000),
        DENOISE_GRAY,
        gray_inputs,
        tmp_path / "out",
        RunLimits(wall_seconds=120),
        progress=crash_after_first,
    )
    assert report.error_kind == "crash"
    assert "SIGSEGV" in report.error and "b.png (image 2 of 3)" in report.error
    assert [i.name for i in report.images] == ["a.png"]


def test_missing_inputs_folder_is_the_callers_error(tmp_path, models):
    with pytest.raises(FileNotFoundError, match="inputs folder"):
        run_model_submission(models.box_blur(), DENOISE_GRAY, tmp_path / "nowhere", tmp_path / "out")


def test_unknown_limit_is_named():
    with pytest.raises(ValueError, match="unknown run limit.*gpu_count"):
        RunLimits.from_dict({"gpu_count": 2})


def _bursts(folder: Path, frames: int, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Two multi-frame samples `<id>/00.png ..` as burst_sr track data stores them."""
    rng = np.random.default_rng(5)
    stacks = {}
    for sample in ("s1", "s2"):
        (folder / sample).mkdir(parents=True)
        stacks[sample] = rng.integers(0, 256, (frames, *shape), dtype=np.uint8)
        for k, frame in enumerate(stacks[sample]):
            Image.fromarray(frame).save(folder / sample / f"{k:02d}.png")
    return stacks


@pytest.mark.parametrize(("color", "shape"), [("rgb", (6, 7, 3)), ("gray", (6, 7, 3)), ("gray", (6, 7))])
def test_a_burst_model_gets_the_frames_on_the_channel_axis_and_gives_one_image(tmp_path, color, shape):
    from .conftest import burst_mean_upscale

    stacks = _bursts(tmp_path / "inputs", 3, shape)
    channels = 3 if color == "rgb" else 1
    model = burst_mean_upscale(tmp_path, 3, channels, 4)
    manifest = {"task": "burst_sr", "scale": 4, "frames": 3, "color": color}
    report = run_model_submission(model, manifest, tmp_path / "inputs", tmp_path / "o")
    assert report.ok, report.error
    for sample, stack in stacks.items():
        expected = _uint8((stack.astype(np.float64) / 255).mean(axis=0)).repeat(4, 0).repeat(4, 1)
        got = _png(tmp_path / "o" / f"{sample}.png").astype(int)
        assert got.shape == expected.shape
        assert np.abs(got - expected.astype(int)).max() <= 1  # float32 mean vs float64


def test_a_burst_sample_with_the_wrong_number_of_frames_is_named(tmp_path):
    from evaluator.model_runner.inputs import InputFileError

    from .conftest import burst_mean_upscale

    _bursts(tmp_path / "inputs", 2, (6, 7))
    model = burst_mean_upscale(tmp_path, 3, 1, 4)
    manifest = {"task": "burst_sr", "scale": 4, "frames": 3, "color": "gray"}
    with pytest.raises(InputFileError, match="input s1: holds 2 PNG frame"):
        run_model_submission(model, manifest, tmp_path / "inputs", tmp_path / "o")


def test_a_burst_model_whose_input_is_not_frames_times_channels_is_refused(tmp_path, models):
    _bursts(tmp_path / "inputs", 3, (6, 7, 3))
    manifest = {"task": "burst_sr", "scale": 4, "frames": 3, "color": "rgb"}
    report = run_model_submission(models.nearest_upscale(4), manifest, tmp_path / "inputs", tmp_path / "o")
    assert not report.ok and report.error_kind == "interface"
    assert "3 colour channel(s) × 3 frames" in report.error
