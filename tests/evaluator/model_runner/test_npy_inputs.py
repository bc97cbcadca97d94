"""Float `.npy` inputs (unclipped, as classic denoising tracks give them) run like PNGs: the model sees
the values outside [0, 1], outputs are 8-bit PNGs named `<id>.png`, and a malformed array is refused
before any model starts, naming the file."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluator.model_runner import InputFileError, run_model_job, run_model_submission
from evaluator.model_runner.inputs import NPY_VALUE_LIMITS, check_input, list_inputs
from evaluator.spec import ScoringSpec

DENOISE_GRAY = {"task": "denoise", "color": "gray"}


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _uint8(x: np.ndarray) -> np.ndarray:
    """Independent of the runner: clip, then round half away from zero (non-negative values)."""
    return np.floor(np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def _affine32(x: np.ndarray, a: float, b: float, scale: float = 1.0) -> np.ndarray:
    """What the network computes, in float32 as onnxruntime does: input `scale`·x cast to float32, then
    a·x + b (a a power of two: no rounding in the product), back on the [0, 1] scale."""
    x32 = (scale * np.asarray(x, dtype=np.float64)).astype(np.float32)
    return (x32 * np.float32(a) + np.float32(b)).astype(np.float64) / scale


@pytest.fixture
def npy_inputs(tmp_path: Path) -> dict[str, np.ndarray]:
    """A DnCNN-style folder: clean + σ·N(0, 1), not clipped, float32 (H, W), one larger than a tile."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    rng = np.random.default_rng(3)
    arrays = {}
    for stem, shape in (("0001", (16, 16)), ("0002", (30, 21))):
        # Within [-0.9, 1.8], so that the test model's outputs stay inside the range tolerance.
        noisy = np.clip(rng.random(shape) + 0.4 * rng.standard_normal(shape), -0.9, 1.8)
        noisy[0, 0], noisy[0, 1] = -0.9, 1.8  # surely outside [0, 1]
        arrays[stem] = noisy.astype(np.float32)
        np.save(folder / f"{stem}.npy", arrays[stem], allow_pickle=False)
    return arrays


def test_unclipped_float_inputs_reach_the_model_and_come_back_as_pngs_named_like_the_ground_truth(
    tmp_path, models, npy_inputs
):
    out = tmp_path / "out"
    # y = 0.5·x + 0.25 keeps [-0.9, 1.8] inside the output range's tolerance; clipping the input
    # first would give 0.25 and 0.75 at the two marked pixels instead of 0 and 1.
    report = run_model_submission(models.affine(0.5, 0.25), DENOISE_GRAY, tmp_path / "inputs", out)
    assert report.ok, report.error
    assert [i.name for i in report.images] == ["0001.png", "0002.png"]
    assert sorted(p.name for p in out.iterdir()) == ["0001.png", "0002.png"]
    for stem, x in npy_inputs.items():
        got = _png(out / f"{stem}.png")
        assert got.dtype == np.uint8 and got.shape == x.shape
        np.testing.assert_array_equal(got, _uint8(_affine32(x, 0.5, 0.25)))
        assert got[0, 0] == 0 and got[0, 1] == 255


def test_tiled_rgb_float64_and_uint8_arrays_in_a_track_folder_beside_pngs(tmp_path, models):
    public = tmp_path / "public"
    (public / "inputs").mkdir(parents=True)
    rng = np.random.default_rng(5)
    f64 = rng.random((13, 19, 3)) * 1.4 - 0.2
    u8 = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    png = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    np.save(public / "inputs" / "a.npy", f64)
    np.save(public / "inputs" / "b.npy", u8)
    Image.fromarray(png).save(public / "inputs" / "c.png")
    manifest = {
        "task": "denoise",
        "color": "rgb",
        "input_range": [0, 255],
        "output_range": [0, 255],
        "tile_size": 8,
        "tile_overlap": 2,
    }
    out = tmp_path / "out"
    report = run_model_submission(models.affine(1.0, 10.0, channels=3), manifest, public, out)
    assert report.ok, report.error
    assert [i.name for i in report.images] == ["a.png", "b.png", "c.png"]
    np.testing.assert_array_equal(_png(out / "a.png"), _uint8(_affine32(f64, 1.0, 10.0, 255.0)))
    # A gray array runs as RGB (replicated) and comes back gray (averaged), like a gray PNG.
    np.testing.assert_array_equal(_png(out / "b.png"), _uint8((u8 + 10.0) / 255))
    np.testing.assert_array_equal(_png(out / "c.png"), _uint8((png + 10.0) / 255))


def test_a_mask_model_gets_the_mask_of_an_npy_input_by_its_id(tmp_path, models):
    public = tmp_path / "public"
    for sub in ("inputs", "masks"):
        (public / sub).mkdir(parents=True)
    rng = np.random.default_rng(9)
    x = (rng.random((10, 14)) * 1.2 - 0.1).astype(np.float32)
    mask = rng.random((10, 14)) < 0.3
    np.save(public / "inputs" / "p.npy", x)
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(public / "masks" / "p.png")
    manifest = {"task": "inpaint", "color": "gray", "mask_input": True}
    out = tmp_path / "out"
    report = run_model_submission(models.masked_fill(1, 0.5), manifest, public, out)
    assert report.ok, report.error
    np.testing.assert_array_equal(_png(out / "p.png"), _uint8(np.where(mask, 0.5, x.astype(np.float64))))


def test_a_model_job_on_npy_inputs_is_scored_against_png_ground_truth(tmp_path, models, npy_inputs):
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    rng = np.random.default_rng(11)
    gts = {stem: rng.integers(0, 256, x.shape, dtype=np.uint8) for stem, x in npy_inputs.items()}
    for stem, gt in gts.items():
        Image.fromarray(gt).save(gt_dir / f"{stem}.png")
    result = run_model_job(
        str(models.affine(0.5, 0.25)),
        DENOISE_GRAY,
        str(tmp_path / "inputs"),
        str(gt_dir),
        ScoringSpec.for_task("denoise").to_dict(),
        str(tmp_path / "work"),
    )
    assert result["run"]["ok"], result["run"]["error"]
    psnrs = []
    for stem, x in npy_inputs.items():
        y = _uint8(_affine32(x, 0.5, 0.25)).astype(np.float64)
        psnrs.append(10 * np.log10(255**2 / np.mean((y - gts[stem]) ** 2)))
    assert result["score"]["aggregates"]["psnr"] == pytest.approx(np.mean(psnrs), abs=1e-9)


def test_an_id_given_both_as_png_and_npy_is_refused(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    np.save(folder / "a.npy", np.zeros((4, 4), np.float32))
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "a.png")
    with pytest.raises(ValueError, match=r"a.npy and a.png would both be restored as a.png"):
        list_inputs(folder)


def _object_array(path: Path) -> None:
    array = np.empty((4, 4), dtype=object)
    array[:] = 0.5
    np.save(path, array, allow_pickle=True)


def _truncated(path: Path) -> None:
    np.save(path, np.zeros((8, 8), np.float32))
    path.write_bytes(path.read_bytes()[:-10])


def _with_nan(path: Path) -> None:
    array = np.full((6, 6), 0.5, np.float32)
    array[2, 3] = np.nan
    np.save(path, array)


MALFORMED = {
    "pickled objects": (_object_array, "holds Python objects"),
    "nan": (_with_nan, "holds 1 NaN or infinite value(s)"),
    "infinite": (lambda p: np.save(p, np.full((3, 3), np.inf, np.float32)), "9 NaN or infinite"),
    "1-D": (lambda p: np.save(p, np.zeros(16, np.float32)), "has shape (16,); an input image is (H, W)"),
    "4 channels": (lambda p: np.save(p, np.zeros((4, 4, 4), np.float32)), "has shape (4, 4, 4)"),
    "too big": (lambda p: np.save(p, np.zeros((40, 30), np.float32)), "1,200 pixels; the limit is 1,000"),
    "0-255 scale": (
        lambda p: np.save(p, np.full((4, 4), 200.0, np.float32)),
        f"values in [200, 200]; float inputs are on the [0, 1] scale (noise may take them outside, up to "
        f"[{NPY_VALUE_LIMITS[0]:g}, {NPY_VALUE_LIMITS[1]:g}])",
    ),
    "int64": (lambda p: np.save(p, np.zeros((4, 4), np.int64)), "dtype int64; inputs are float32"),
    "fortran": (lambda p: np.save(p, np.asfortranarray(np.zeros((4, 5), np.float32))), "Fortran order"),
    "truncated": (_truncated, "bytes but its header describes"),
    "not npy": (lambda p: p.write_bytes(pickle.dumps([[0.5]])), "is not a readable .npy array"),
    "empty": (lambda p: np.save(p, np.zeros((0, 4), np.float32)), "is empty"),
}


@pytest.mark.parametrize("what", MALFORMED)
def test_a_malformed_npy_input_is_refused_naming_the_file_before_the_model_starts(
    what, tmp_path, models, monkeypatch
):
    folder = tmp_path / "inputs"
    folder.mkdir()
    np.save(folder / "0001.npy", np.zeros((4, 4), np.float32))  # a good one first
    write, fragment = MALFORMED[what]
    write(folder / "0002.npy")
    started = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: started.append(a))
    with pytest.raises(InputFileError) as caught:
        run_model_submission(
            models.affine(1.0, 0.0), DENOISE_GRAY, folder, tmp_path / "out", {"max_input_pixels": 1000}
        )
    assert caught.value.name == "0002.npy"
    assert str(caught.value).startswith("input 0002.npy: ") and fragment in str(caught.value)
    assert started == [] and not any((tmp_path / "out").iterdir())


def test_check_input_reads_only_the_header_of_an_oversized_array(tmp_path):
    # A header claiming 10⁵ × 10⁵ float64 (80 GB) with no data: refused on size, nothing allocated.
    path = tmp_path / "huge.npy"
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": (100_000, 100_000)}
        )
    with pytest.raises(InputFileError, match=r"input huge.npy: is 100000×100000 = 10,000,000,000 pixels"):
        check_input(path, 40_000_000)
