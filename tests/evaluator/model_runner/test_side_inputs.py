"""Non-blind models get each image's mask (inpainting) or kernel (deblurring) from the phase's folder."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save_file
from scipy import ndimage

from evaluator.model_runner import ManifestError, ModelFormatError, parse_manifest, run_model_job
from evaluator.model_runner import run_model_submission as run
from evaluator.model_runner.colorspace import rgb_to_ycbcr, ycbcr_to_rgb
from evaluator.model_runner.formats import inspect_onnx
from evaluator.spec import ScoringSpec

INPAINT = {"task": "inpaint", "color": "rgb", "mask_input": True}
DEBLUR = {"task": "deblur", "color": "gray", "kernel_input": True}
SIZES = {"x": (12, 10), "y": (9, 17)}  # (H, W); both larger than an 8-pixel tile


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float64)


def _uint8(x: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(x, 0, 1) * 255 + 0.5)


def _gaussian(size: int, sigma: float) -> np.ndarray:
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


@pytest.fixture
def track(tmp_path: Path) -> Path:
    """A track's public folder: RGB inputs/<id>.png, masks/<id>.png (255 = missing), kernels/<id>.npy."""
    public = tmp_path / "public"
    for sub in ("inputs", "masks", "kernels"):
        (public / sub).mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i, (stem, (h, w)) in enumerate(SIZES.items()):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            public / "inputs" / f"{stem}.png"
        )
        mask = rng.random((h, w)) < 0.3
        Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(public / "masks" / f"{stem}.png")
        np.save(public / "kernels" / f"{stem}.npy", _gaussian(5, 0.8 + i))
    return public


def _mask(track: Path, stem: str) -> np.ndarray:
    return _png(track / "masks" / f"{stem}.png")[:, :, None] == 255


def _refused_before_running(report, kind: str, image: str, fragment: str, out: Path) -> None:
    assert report.ok is False and report.error_kind == kind, report.error
    assert report.failed_image == image and fragment in report.error, report.error
    assert report.provider is None and report.images == []  # the model never started
    assert not any(out.iterdir())


# --- masks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("color", ["rgb", "gray", "y"])
@pytest.mark.parametrize("tile", [None, 8])
def test_inpainting_net_gets_the_mask_as_its_last_channel(tmp_path, models, track, color, tile):
    # Ranges [0, 255] on both sides: the mask channel stays 1.0 / 0.0, so y = x·(1 − m) + 127.5·m
    # keeps known pixels and sets missing ones to 127.5 / 255; a mask scaled to the range would not.
    channels = 3 if color == "rgb" else 1
    manifest = {**INPAINT, "color": color, "input_range": [0, 255], "output_range": [0, 255]}
    manifest.update({"tile_size": tile, "tile_overlap": 2} if tile else {})
    out = tmp_path / "out"
    # Gray on RGB images runs as a batch of 3 items: each must get the mask. The platform passes the
    # track's inputs/ folder; the masks are found beside it.
    report = run(models.masked_fill(channels, 127.5), manifest, track / "inputs", out)
    assert report.ok, report.error
    for stem in SIZES:
        x = _png(track / "inputs" / f"{stem}.png") / 255.0
        m = _mask(track, stem)
        if color == "y":
            ycc = rgb_to_ycbcr(x)
            ycc[:, :, :1] = np.where(m, 0.5, ycc[:, :, :1])
            expected = _uint8(ycbcr_to_rgb(ycc))
            assert np.abs(_png(out / f"{stem}.png") - expected).max() <= 1
        else:
            np.testing.assert_array_equal(_png(out / f"{stem}.png"), _uint8(np.where(m, 0.5, x)))


def test_fixed_size_inpainting_net_gets_padded_tiles_of_image_and_mask(tmp_path, models, track):
    manifest = {**INPAINT, "tile_size": 8, "tile_overlap": 2}
    report = run(models.masked_fill(3, 0.25, fixed_hw=(8, 8)), manifest, track, tmp_path / "out")
    assert report.ok, report.error
    for stem in SIZES:
        x = _png(track / "inputs" / f"{stem}.png") / 255.0
        expected = _uint8(np.where(_mask(track, stem), 0.25, x))
        np.testing.assert_array_equal(_png(tmp_path / "out" / f"{stem}.png"), expected)


def test_model_job_on_the_public_folder_scores_an_inpainting_model(tmp_path, models, track):
    gt = tmp_path / "gt"
    gt.mkdir()
    for stem in SIZES:  # ground truth: the inputs, so only the filled pixels cost PSNR
        Image.open(track / "inputs" / f"{stem}.png").save(gt / f"{stem}.png")
    result = run_model_job(
        str(models.masked_fill(3, 0.5)),
        INPAINT,
        str(track),  # the track's public folder, as it is laid out on disk
        str(gt),
        ScoringSpec.for_task("inpaint", metrics=("psnr",), ranking_metric="psnr").to_dict(),
        str(tmp_path / "work"),
    )
    assert result["run"]["ok"], result["run"]["error"]
    psnrs = []
    for stem in SIZES:
        x = _png(track / "inputs" / f"{stem}.png")
        y = np.where(_mask(track, stem), 128.0, x)
        psnrs.append(10 * np.log10(255**2 / np.mean((y - x) ** 2)))
    assert abs(result["score"]["aggregates"]["psnr"] - np.mean(psnrs)) < 1e-6


def test_missing_masks_folder_fails_before_the_model_runs(tmp_path, models, track):
    for f in (track / "masks").iterdir():
        f.unlink()
    (track / "masks").rmdir()
    out = tmp_path / "out"
    report = run(models.masked_fill(3, 0.5), INPAINT, track, out)
    _refused_before_running(
        report,
        "side_input",
        "x.png",
        "the manifest asks for a mask input but the phase gives no mask masks/x.png",
        out,
    )


@pytest.mark.parametrize(
    ("mask", "fragment"),
    [
        (None, "the phase gives no mask masks/y.png"),
        (np.zeros((17, 9), np.uint8), "the mask masks/y.png is 9x17 (W x H) but the image is 17x9"),
        (np.full((9, 17), 128, np.uint8), "must hold only 0 (known) and 255 (missing), found [128]"),
        (np.zeros((9, 17, 3), np.uint8), "must be a gray PNG (mode L), got mode 'RGB'"),
    ],
)
def test_missing_or_invalid_mask_is_named(tmp_path, models, track, mask, fragment):
    (track / "masks" / "y.png").unlink()
    if mask is not None:
        Image.fromarray(mask).save(track / "masks" / "y.png")
    out = tmp_path / "out"
    report = run(models.masked_fill(3, 0.5), INPAINT, track, out)
    _refused_before_running(report, "side_input", "y.png", fragment, out)


# --- kernels -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tile", [None, 10])
def test_deblurring_net_gets_each_images_kernel(tmp_path, models, track, tile):
    # The net correlates the image with its kernel input (zero padding): compare with scipy. A tile
    # overlap of 4 keeps every kept pixel 2 (the kernel's radius) away from inner tile borders, so
    # tiling changes nothing when every tile gets the same kernel.
    manifest = {**DEBLUR, **({"tile_size": tile, "tile_overlap": 4} if tile else {})}
    out = tmp_path / "out"
    report = run(models.kernel_conv(), manifest, track / "inputs", out)
    assert report.ok, report.error
    for stem in SIZES:
        x = _png(track / "inputs" / f"{stem}.png") / 255.0
        k = np.load(track / "kernels" / f"{stem}.npy")
        for c in range(3):  # gray mode: the three channels as a batch
            expected = _uint8(ndimage.correlate(x[:, :, c], k, mode="constant", cval=0.0))
            assert np.abs(_png(out / f"{stem}.png")[:, :, c] - expected).max() <= 1


def test_every_tile_of_an_rgb_image_gets_the_kernel(tmp_path, models, track):
    np.save(track / "kernels" / "y.npy", np.full((3, 5), 1 / 15))
    manifest = {**DEBLUR, "color": "rgb", "tile_size": 8, "tile_overlap": 2}
    out = tmp_path / "out"
    report = run(models.kernel_peak(3), manifest, track, out)
    assert report.ok, report.error
    for stem in SIZES:
        peak = np.load(track / "kernels" / f"{stem}.npy").max()
        np.testing.assert_array_equal(_png(out / f"{stem}.png"), np.full((*SIZES[stem], 3), _uint8(peak)))


def _pickled(path: Path) -> None:
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(
    ("kernel", "fragment"),
    [
        (None, "the manifest asks for a kernel input but the phase gives no kernel kernels/y.npy"),
        (np.array([[0.5, np.nan], [0.25, 0.25]]), "contains NaN or infinite values"),
        (np.array([[1.5, -0.5]]), "has negative taps"),
        (np.full((3, 3), 2 / 9), "sums to 2, not 1"),
        (np.full((103, 3), 1 / 309), "at most 101x101, got shape (103, 3)"),
        (np.full((1, 3, 3), 1 / 9), "must be 2-D"),
        (np.array([[True]]), "must be a numeric array, got dtype bool"),
        (_pickled, "must be a numeric array, got dtype object"),
        (b"not an array", "is not a readable .npy array"),
    ],
)
def test_missing_or_invalid_kernel_is_named(tmp_path, models, track, kernel, fragment):
    path = track / "kernels" / "y.npy"
    path.unlink()
    if callable(kernel):
        kernel(path)
    elif isinstance(kernel, bytes):
        path.write_bytes(kernel)
    elif kernel is not None:
        np.save(path, kernel)
    out = tmp_path / "out"
    report = run(models.kernel_conv(), DEBLUR, track, out)
    _refused_before_running(report, "side_input", "y.png", fragment, out)


def test_kernel_of_another_size_than_the_models_fixed_one_is_named(tmp_path, models, track):
    out = tmp_path / "out"
    report = run(models.kernel_conv(kernel_shape=[1, 1, 7, 7]), DEBLUR, track, out)
    _refused_before_running(
        report, "side_input", "x.png", "the kernel kernels/x.npy is 5x5 but the model's 'kernel' input", out
    )


# --- manifest and interface --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"task": "denoise", "mask_input": True}, "mask_input applies to task(s) inpaint only"),
        ({"task": "inpaint", "mask_input": 1}, "mask_input must be true or false"),
        ({"task": "sr", "scale": 2, "kernel_input": True}, "kernel_input applies to task(s) deblur only"),
        ({"task": "deblur", "kernel_input": "yes"}, "kernel_input must be true or false"),
        ({**DEBLUR, "format": "safetensors", "architecture": "dncnn"}, "kernel_input needs an ONNX model"),
        ({**DEBLUR, "architecture": "dncnn"}, "kernel_input needs an ONNX model"),
        ({**INPAINT, "architecture": "dncnn"}, "mask_input needs an ONNX model"),
    ],
)
def test_side_input_fields_are_validated(data, fragment):
    with pytest.raises(ManifestError) as info:
        parse_manifest(data)
    assert fragment in str(info.value)


def test_side_inputs_default_off_and_widen_the_image_input():
    assert not parse_manifest({"task": "inpaint"}).mask_input
    assert not parse_manifest({"task": "deblur"}).kernel_input
    m = parse_manifest({**INPAINT, "color": "gray"})
    assert (m.channels, m.input_channels, m.to_dict()["mask_input"]) == (1, 2, True)


def test_safetensors_weights_with_a_kernel_input_are_refused(tmp_path, track):
    path = tmp_path / "w.safetensors"
    save_file({"w": np.zeros(1, np.float32)}, str(path))
    out = tmp_path / "out"
    report = run(path, DEBLUR, track, out)
    _refused_before_running(report, "manifest", None, "kernel_input needs an ONNX model", out)


@pytest.mark.parametrize(
    ("build", "channels", "flags", "fragment"),
    [
        (lambda m: m.masked_fill(3, 0.5), 3, {}, "has 4 channels but the manifest's color mode needs 3"),
        (
            lambda m: m.affine(1, 0, channels=3),
            3,
            {"mask_input": True},
            "needs 3 colour channel(s) plus the mask channel",
        ),
        (lambda m: m.kernel_conv(), 1, {}, "a second input named 'kernel' needs \"kernel_input\": true"),
        (lambda m: m.affine(1, 0), 1, {"kernel_input": True}, "must have exactly two inputs"),
        (lambda m: m.kernel_conv(kernel_name="k"), 1, {"kernel_input": True}, "('input', 'k')"),
        (
            lambda m: m.kernel_conv(kernel_shape=["kh", "kw"]),
            1,
            {"kernel_input": True},
            "must be float32 with shape (1, 1, kh, kw)",
        ),
        (
            lambda m: m.kernel_conv(kernel_shape=[1, 3, "kh", "kw"]),
            1,
            {"kernel_input": True},
            "must be float32 with shape (1, 1, kh, kw)",
        ),
    ],
)
def test_onnx_interface_must_match_the_side_inputs(models, build, channels, flags, fragment):
    with pytest.raises(ModelFormatError) as info:
        inspect_onnx(build(models), channels, **flags)
    assert info.value.kind == "interface" and fragment in str(info.value), str(info.value)


def test_model_with_the_side_inputs_passes_inspection(models):
    info = inspect_onnx(models.kernel_conv(), 1, kernel_input=True)
    assert (info.input_name, info.kernel_shape) == ("input", (1, 1, "kh", "kw"))
    assert inspect_onnx(models.masked_fill(1, 0.5), 1, mask_input=True).input_shape[1] == 2


def test_a_mismatched_interface_is_reported_by_the_run(tmp_path, models, track):
    out = tmp_path / "out"
    report = run(models.affine(1, 0, channels=3), INPAINT, track, out)
    _refused_before_running(report, "interface", None, "plus the mask channel", out)
