"""run_model_job: sandboxed inference, then the evaluator's scoring, JSON in and out."""

import json

import numpy as np
from PIL import Image

from evaluator.model_runner import run_model_job
from evaluator.spec import ScoringSpec

DENOISE_GRAY = {"task": "denoise", "color": "gray"}


def test_model_job_scores_outputs_against_ground_truth(tmp_path, models, gray_inputs):
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    for src in gray_inputs.iterdir():  # ground truth: the inputs themselves
        Image.open(src).save(gt_dir / src.name)
    stages = []
    result = run_model_job(
        str(models.affine(0.5, 0.25)),
        DENOISE_GRAY,
        str(gray_inputs),
        str(gt_dir),
        ScoringSpec.for_task("denoise").to_dict(),
        str(tmp_path / "work"),
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    json.dumps(result)  # JSON out
    assert result["run"]["ok"] and result["run"]["parameters"] == 2
    assert ("inference", 3, 3) in stages and stages[-1][0] == "scoring"
    psnrs = []
    for src in sorted(gray_inputs.iterdir()):
        x = np.asarray(Image.open(src), dtype=np.float64)
        y = np.floor(0.5 * x + 0.25 * 255 + 0.5)
        psnrs.append(10 * np.log10(255**2 / np.mean((y - x) ** 2)))
    assert abs(result["score"]["aggregates"]["psnr"] - np.mean(psnrs)) < 1e-6


def test_failed_model_job_has_no_score(tmp_path, models, gray_inputs):
    result = run_model_job(
        str(models.nan_model()),
        DENOISE_GRAY,
        str(gray_inputs),
        str(gray_inputs),
        ScoringSpec.for_task("denoise").to_dict(),
        str(tmp_path / "work"),
    )
    assert result["score"] is None
    assert result["run"]["ok"] is False and result["run"]["error_kind"] == "nan"
