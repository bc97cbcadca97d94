"""End-to-end `score()`: values equal independent computations; inputs, policies, SR sizes, progress."""

import json
import math
import zipfile

import numpy as np
import pytest
from skimage.metrics import structural_similarity

import evaluator.scoring as scoring
from evaluator import ScoringSpec, score
from evaluator.errors import EvaluatorError, SubmissionRejected, UnreadableSubmission


def _psnr255(pred: np.ndarray, gt: np.ndarray) -> float:
    return 10 * math.log10(255**2 / np.mean((pred.astype(np.float64) - gt.astype(np.float64)) ** 2))


def _ssim255(pred: np.ndarray, gt: np.ndarray) -> float:
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    if gt.ndim == 2:
        return structural_similarity(pred.astype(float), gt.astype(float), **kw)
    return float(
        np.mean(
            [
                structural_similarity(pred[..., c].astype(float), gt[..., c].astype(float), **kw)
                for c in range(3)
            ]
        )
    )


def test_scores_equal_independent_psnr_and_ssim(make_pairs):
    pred, gt, arrays = make_pairs(3)
    result = score(pred, gt, ScoringSpec(metrics=("psnr", "ssim")))
    assert [r.name for r in result.rows] == sorted(arrays)
    for row in result.rows:
        g, p = arrays[row.name]
        assert row.scores["psnr"] == pytest.approx(_psnr255(p, g), abs=1e-10)
        assert row.scores["ssim"] == pytest.approx(_ssim255(p, g), abs=1e-12)
        assert (row.width, row.height) == (48, 40)
    assert result.aggregates["psnr"] == pytest.approx(
        np.mean([r.scores["psnr"] for r in result.rows]), abs=1e-12
    )
    assert result.complete and result.problems == []


def test_shave_and_y_follow_the_sr_convention(make_pairs):
    pred, gt, arrays = make_pairs(1, h=44, w=48)
    result = score(pred, gt, ScoringSpec(metrics=("psnr", "ssim"), color_space="y", shave=4))
    g, p = arrays["img00.png"]

    def luma(a):
        a = a.astype(np.float64) / 255
        return (16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2])[4:-4, 4:-4]

    expected = 10 * math.log10(255**2 / np.mean((luma(p) - luma(g)) ** 2))
    assert result.rows[0].scores["psnr"] == pytest.approx(expected, abs=1e-10)
    exp_ssim = structural_similarity(
        luma(p), luma(g), gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert result.rows[0].scores["ssim"] == pytest.approx(exp_ssim, abs=1e-12)


def test_zip_submission_scores_like_the_folder(make_pairs, tmp_path):
    pred, gt, _ = make_pairs(3)
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(pred.iterdir()):
            zf.write(f, f"results/{f.name}")  # a top-level folder inside the zip is fine
        zf.writestr("__MACOSX/._img00.png", b"junk")
        zf.writestr(".DS_Store", b"junk")
    from_zip = score(archive, gt)
    from_dir = score(pred, gt)
    assert [r.scores for r in from_zip.rows] == [r.scores for r in from_dir.rows]
    assert from_zip.problems == []


def test_workers_do_not_change_results(make_pairs):
    pred, gt, _ = make_pairs(4)
    one = score(pred, gt, ScoringSpec(workers=1))
    two = score(pred, gt, ScoringSpec(workers=2))
    assert [r.scores for r in one.rows] == [r.scores for r in two.rows]


def test_progress_reports_every_image(make_pairs):
    pred, gt, _ = make_pairs(5)
    calls = []
    score(pred, gt, ScoringSpec(workers=2), progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 5) and calls[-1] == (5, 5)
    done = [d for d, _ in calls]
    assert done == sorted(done) and set(range(6)) <= set(done)


def test_only_a_bounded_window_of_pairs_is_in_flight(make_pairs, monkeypatch):
    pred, gt, _ = make_pairs(12, h=16, w=16)
    started = []
    real = scoring.prepare_pair
    monkeypatch.setattr(
        scoring, "prepare_pair", lambda pair, spec: (started.append(pair.name), real(pair, spec))[1]
    )
    seen = []
    score(pred, gt, ScoringSpec(workers=2), progress=lambda d, t: seen.append((d, len(started))))
    assert all(n_started <= done + 2 * 2 for done, n_started in seen)


def test_reject_policy_names_every_bad_file(make_pairs, save_image, noisy_pair):
    pred, gt, _ = make_pairs(3)
    save_image(noisy_pair(40, 47)[1], pred / "img01.png")  # wrong width
    (pred / "img02.png").write_bytes(b"")  # zero bytes
    with pytest.raises(SubmissionRejected) as info:
        score(pred, gt)
    codes = {(p.name, p.code) for p in info.value.problems}
    assert codes == {("img01.png", "wrong_size"), ("img02.png", "empty_file")}
    assert "img01.png: is 47×40 (W×H), expected 48×40" in str(info.value)


def test_partial_policy_scores_the_rest(make_pairs, save_image, noisy_pair):
    pred, gt, arrays = make_pairs(3)
    data = (pred / "img01.png").read_bytes()
    (pred / "img01.png").write_bytes(data[: len(data) // 2])  # truncated
    result = score(pred, gt, ScoringSpec(policy="partial"))
    assert [r.name for r in result.rows] == ["img00.png", "img02.png"]
    assert [(p.name, p.code) for p in result.problems] == [("img01.png", "unreadable")]
    assert result.n_expected == 3 and result.n_scored == 2 and not result.complete
    g, p = arrays["img02.png"]
    assert result.rows[1].scores["psnr"] == pytest.approx(_psnr255(p, g), abs=1e-10)


def test_name_mismatch_is_missing_plus_extra(make_pairs):
    pred, gt, _ = make_pairs(2)
    (pred / "img01.png").rename(pred / "IMG01.png")
    with pytest.raises(SubmissionRejected) as info:
        score(pred, gt)
    problems = {p.code: p for p in info.value.problems}
    assert (
        problems["missing"].name == "img01.png" and "names are case-sensitive" in problems["missing"].message
    )
    assert problems["extra"].severity == "warning"


def test_extra_files_are_warnings_not_rejections(make_pairs):
    pred, gt, _ = make_pairs(2)
    (pred / "notes.txt").write_text("method: magic")
    result = score(pred, gt)
    assert result.n_scored == 2 and [(p.name, p.code, p.severity) for p in result.problems] == [
        ("notes.txt", "extra", "warning")
    ]


def test_names_differing_only_in_case_are_duplicates(make_pairs, tmp_path):
    pred, gt, _ = make_pairs(2)
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(pred / "img00.png", "img00.png")
        zf.write(pred / "img01.png", "img01.png")
        zf.write(pred / "img01.png", "IMG01.png")
    with pytest.raises(SubmissionRejected) as info:
        score(archive, gt)
    assert sorted((p.name, p.code) for p in info.value.problems) == [
        ("IMG01.png", "duplicate_name"),
        ("img01.png", "duplicate_name"),
    ]
    partial = score(archive, gt, ScoringSpec(policy="partial"))
    assert [r.name for r in partial.rows] == ["img00.png"]


def test_non_image_with_a_ground_truth_name_is_reported(make_pairs):
    pred, gt, _ = make_pairs(2)
    (pred / "img00.png").write_text("<html>oops</html>")
    result = score(pred, gt, ScoringSpec(policy="partial"))
    assert [(p.name, p.code) for p in result.problems] == [("img00.png", "not_an_image")]


def test_one_pixel_image_is_a_wrong_size(make_pairs, save_image):
    pred, gt, _ = make_pairs(1)
    save_image(np.zeros((1, 1, 3), np.uint8), pred / "img00.png")
    with pytest.raises(SubmissionRejected, match="is 1×1 .* expected 48×40"):
        score(pred, gt)


def test_gray_prediction_for_rgb_ground_truth_is_a_wrong_mode(make_pairs, save_image):
    pred, gt, arrays = make_pairs(1)
    save_image(arrays["img00.png"][1][..., 0], pred / "img00.png")
    with pytest.raises(SubmissionRejected) as info:
        score(pred, gt)
    assert info.value.problems[0].code == "wrong_mode" and "grayscale but the ground truth is RGB" in str(
        info.value
    )


def test_rgb_with_equal_channels_is_accepted_for_gray_ground_truth(tmp_path, save_image, noisy_pair):
    g, p = noisy_pair(30, 30, channels=1)
    save_image(g, tmp_path / "gt" / "a.png")
    save_image(np.dstack([p, p, p]), tmp_path / "pred" / "a.png")
    result = score(tmp_path / "pred", tmp_path / "gt")
    assert result.rows[0].scores["psnr"] == pytest.approx(_psnr255(p, g), abs=1e-10)
    save_image(np.dstack([p, p, 255 - p]), tmp_path / "pred" / "a.png")
    with pytest.raises(SubmissionRejected, match="colour but the ground truth is grayscale"):
        score(tmp_path / "pred", tmp_path / "gt")


def test_16_bit_prediction_is_rounded_to_the_ground_truths_8_bits(tmp_path, save_image, noisy_pair):
    g, _ = noisy_pair(24, 24, channels=1)
    p16 = np.random.default_rng(3).integers(0, 65536, g.shape, dtype=np.uint16)
    save_image(g, tmp_path / "gt" / "a.png")
    save_image(p16, tmp_path / "pred" / "a.png")
    p8 = np.floor(p16.astype(np.float64) * 255 / 65535 + 0.5)
    result = score(tmp_path / "pred", tmp_path / "gt")
    assert result.rows[0].scores["psnr"] == pytest.approx(_psnr255(p8, g), abs=1e-10)


def test_rgba_prediction_with_opaque_alpha_is_scored_as_rgb(make_pairs, save_image):
    pred, gt, arrays = make_pairs(1)
    g, p = arrays["img00.png"]
    save_image(np.dstack([p, np.full(p.shape[:2], 255, np.uint8)]), pred / "img00.png")
    assert score(pred, gt).rows[0].scores["psnr"] == pytest.approx(_psnr255(p, g), abs=1e-10)


def test_palette_prediction_is_scored_on_its_colours(make_pairs):
    from PIL import Image

    pred, gt, arrays = make_pairs(1)
    quantised = Image.open(pred / "img00.png").quantize(colors=64)
    quantised.save(pred / "img00.png")
    g = arrays["img00.png"][0]
    expected = _psnr255(np.asarray(quantised.convert("RGB")), g)
    assert score(pred, gt).rows[0].scores["psnr"] == pytest.approx(expected, abs=1e-10)


def test_sr_ground_truth_is_modcropped_and_sizes_explained(tmp_path, save_image, noisy_pair):
    g, p = noisy_pair(50, 66)  # not multiples of 4: modcrop to 48×64
    save_image(g, tmp_path / "gt" / "a.png")
    save_image(p[:48, :64], tmp_path / "pred" / "a.png")
    spec = ScoringSpec.for_task("sr", scale=4, metrics=("psnr",), ranking_metric="psnr")
    result = score(tmp_path / "pred", tmp_path / "gt", spec)
    assert (result.rows[0].width, result.rows[0].height) == (64, 48)
    save_image(p[:48, :60], tmp_path / "pred" / "a.png")
    with pytest.raises(
        SubmissionRejected, match=r"expected 64×48, .* \(= 4 × the 16×12 low-resolution input\)"
    ):
        score(tmp_path / "pred", tmp_path / "gt", spec)


def test_identical_images_give_infinite_psnr_serialised_as_a_string(make_pairs):
    pred, gt, _ = make_pairs(1)
    (pred / "img00.png").write_bytes((gt / "img00.png").read_bytes())
    result = score(pred, gt)
    assert math.isinf(result.aggregates["psnr"])
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["aggregates"]["psnr"] == "inf" and data["rows"][0]["scores"]["ssim"] == 1.0


def test_record_says_how_every_number_was_made(make_pairs):
    pred, gt, _ = make_pairs(1)
    spec = ScoringSpec(metrics=("psnr", "ssim", "lpips"), device="cpu")
    record = score(pred, gt, spec).record
    assert record["spec"] == spec.to_dict()
    assert "ssim_index" in record["metrics"]["ssim"]["implementation"]
    assert record["metrics"]["psnr"]["options"] == {"data_range": 1.0, "color_space": "rgb"}
    ((weights_name, digest),) = record["metrics"]["lpips"]["weights"].items()
    assert weights_name.endswith(".safetensors") and len(digest) == 64
    assert record["libraries"]["torch"] and record["ground_truth"]["files"] == 1


def test_recorded_library_versions_are_the_installed_ones_and_each_record_owns_its_copy(make_pairs):
    from importlib import metadata

    pred, gt, _ = make_pairs(1)
    spec = ScoringSpec(metrics=("psnr",))
    first = score(pred, gt, spec).record["libraries"]
    for name, version in first.items():
        try:
            assert version == metadata.version(name), name
        except metadata.PackageNotFoundError:
            assert version == "not installed", name
    first["numpy"] = "changed by a caller"
    assert score(pred, gt, spec).record["libraries"]["numpy"] == metadata.version("numpy")


def test_oversized_files_are_refused_without_reading_them(make_pairs):
    pred, gt, _ = make_pairs(1)
    size = (pred / "img00.png").stat().st_size
    spec = ScoringSpec(max_file_bytes=size - 1, policy="partial", metrics=("psnr",))
    with pytest.raises(EvaluatorError):  # the ground truth is over the limit too: a platform problem
        score(pred, gt, spec)
    spec = ScoringSpec(max_file_bytes=(gt / "img00.png").stat().st_size, metrics=("psnr",))
    (pred / "img00.png").write_bytes((pred / "img00.png").read_bytes() + b"\0" * size)
    with pytest.raises(SubmissionRejected) as info:
        score(pred, gt, spec)
    assert info.value.problems[0].code == "too_large"


def test_a_zip_that_inflates_past_the_limit_is_refused(make_pairs, tmp_path):
    pred, gt, _ = make_pairs(1)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("img00.png", b"\0" * 5_000_000)
    with pytest.raises(UnreadableSubmission, match="inflates to 5,000,000 bytes"):
        score(archive, gt, ScoringSpec(max_total_bytes=1_000_000))


def test_a_file_that_is_not_a_zip_is_refused(make_pairs, tmp_path):
    _, gt, _ = make_pairs(1)
    (tmp_path / "sub.zip").write_text("not a zip")
    with pytest.raises(UnreadableSubmission, match="not a readable zip archive"):
        score(tmp_path / "sub.zip", gt)


def test_ground_truth_too_small_for_ssim_is_a_platform_error(tmp_path, save_image, noisy_pair):
    g, p = noisy_pair(16, 16)
    save_image(g, tmp_path / "gt" / "a.png")
    save_image(p, tmp_path / "pred" / "a.png")
    with pytest.raises(EvaluatorError, match="smaller than ssim needs") as info:
        score(tmp_path / "pred", tmp_path / "gt", ScoringSpec(shave=4))
    assert not isinstance(info.value, SubmissionRejected)


def test_batched_path_used_on_gpus_gives_the_same_scores(make_pairs, save_image, noisy_pair, monkeypatch):
    pred, gt, _ = make_pairs(5, h=32, w=40)
    g, p = noisy_pair(36, 40, seed=9)  # a different size splits the batches
    save_image(g, gt / "img99.png")
    save_image(p, pred / "img99.png")
    spec = ScoringSpec(metrics=("psnr", "ssim", "lpips"), batch_size=2, device="cpu")
    per_pair = score(pred, gt, spec)
    monkeypatch.setattr(scoring, "score_in_workers", lambda device: False)
    calls = []
    batched = score(pred, gt, spec, progress=lambda d, t: calls.append(d))
    assert [r.name for r in batched.rows] == [r.name for r in per_pair.rows]
    for a, b in zip(batched.rows, per_pair.rows, strict=True):
        assert a.scores["psnr"] == pytest.approx(b.scores["psnr"], abs=1e-12)
        assert a.scores["ssim"] == pytest.approx(b.scores["ssim"], abs=1e-12)
        assert a.scores["lpips"] == pytest.approx(b.scores["lpips"], rel=1e-5, abs=1e-7)
        assert (a.width, a.height) == (b.width, b.height)
    assert calls[-1] == 6 and calls == sorted(calls)


def test_symlinks_are_refused_in_submissions_but_allowed_in_ground_truth(make_pairs, tmp_path):
    pred, gt, _ = make_pairs(1)
    linked_gt = tmp_path / "gt_links"
    linked_gt.mkdir()
    (linked_gt / "img00.png").symlink_to(gt / "img00.png")
    assert score(pred, linked_gt).n_scored == 1
    (pred / "img00.png").unlink()
    (pred / "img00.png").symlink_to(gt / "img00.png")
    with pytest.raises(UnreadableSubmission, match="symbolic links are not accepted"):
        score(pred, gt)


@pytest.mark.parametrize("options", [{}, {"color_space": "y", "shave": 4}, {"data_range": 0.5}])
def test_cpu_pixel_path_gives_the_tensor_paths_scores(make_pairs, monkeypatch, options):
    # On the CPU PSNR and SSIM read the integer arrays through compiled kernels; forcing the float64
    # tensor path (what CUDA runs) must not change a score.
    pred, gt, _ = make_pairs(3, h=36, w=44)
    spec = ScoringSpec(metrics=("psnr", "ssim"), device="cpu", **options)
    used = []
    real = scoring._scores_pixels
    monkeypatch.setattr(scoring, "_scores_pixels", lambda *a: used.append(real(*a)) or used[-1])
    on_pixels = score(pred, gt, spec)
    assert used and all(used)
    monkeypatch.setattr(scoring, "_scores_pixels", lambda *a: False)
    on_tensors = score(pred, gt, spec)
    for a, b in zip(on_pixels.rows, on_tensors.rows, strict=True):
        assert a.scores["psnr"] == pytest.approx(b.scores["psnr"], abs=1e-11)
        assert a.scores["ssim"] == pytest.approx(b.scores["ssim"], abs=1e-13)


def test_8_bit_prediction_for_16_bit_ground_truth_is_compared_on_one_scale(tmp_path, save_image):
    rng = np.random.default_rng(21)
    g16 = rng.integers(0, 65536, (24, 28), dtype=np.uint16)
    p8 = np.clip(np.floor(g16 / 257.0 + 0.5) + rng.integers(-3, 4, g16.shape), 0, 255).astype(np.uint8)
    save_image(g16, tmp_path / "gt" / "a.png")
    save_image(p8, tmp_path / "pred" / "a.png")
    result = score(tmp_path / "pred", tmp_path / "gt", ScoringSpec(metrics=("psnr", "ssim")))
    p, g = p8 / 255.0, g16 / 65535.0
    assert result.rows[0].scores["psnr"] == pytest.approx(
        10 * math.log10(1 / np.mean((p - g) ** 2)), abs=1e-10
    )
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert result.rows[0].scores["ssim"] == pytest.approx(structural_similarity(p, g, **kw), abs=1e-12)
