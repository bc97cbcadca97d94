"""A phase whose test set has no ground truth: no-reference metrics score each restored image alone; the
phase's inputs name the expected images and fix their sizes."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from evaluator.errors import SpecError, SubmissionRejected
from evaluator.metrics import create_metric
from evaluator.scoring import score
from evaluator.spec import ScoringSpec


def _save(arr: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _phase(tmp_path: Path, n: int = 2, scale: int = 2) -> tuple[Path, Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    preds = {}
    for i in range(n):
        small = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
        _save(small, tmp_path / "inputs" / f"real{i}.png")
        big = np.kron(small, np.ones((scale, scale, 1), dtype=np.uint8))
        big = np.clip(big.astype(int) + rng.integers(-20, 21, big.shape), 0, 255).astype(np.uint8)
        _save(big, tmp_path / "pred" / f"real{i}.png")
        preds[f"real{i}"] = big
    return tmp_path / "pred", tmp_path / "inputs", preds


def test_a_phase_without_ground_truth_is_scored_by_no_reference_metrics_alone(tmp_path):
    pred_dir, inputs, preds = _phase(tmp_path)
    spec = ScoringSpec(metrics=("piqe", "niqe"), ranking_metric="piqe", scale=2, ground_truth=False)
    result = score(pred_dir, inputs, spec)
    assert result.n_scored == 2 and result.complete and not result.higher_is_better
    for row in result.rows:
        x = torch.from_numpy(preds[Path(row.name).stem].transpose(2, 0, 1)[None].astype(np.float64) / 255)
        assert row.scores["piqe"] == create_metric("piqe")(x, None).item()
        assert row.scores["niqe"] == create_metric("niqe")(x, None).item()
    assert result.record["spec"]["ground_truth"] is False


def test_a_prediction_of_the_wrong_size_is_named_against_the_input(tmp_path):
    pred_dir, inputs, _ = _phase(tmp_path, n=1)
    _save(np.zeros((100, 100, 3), dtype=np.uint8), pred_dir / "real0.png")
    spec = ScoringSpec(metrics=("piqe",), ranking_metric="piqe", scale=2, ground_truth=False)
    with pytest.raises(SubmissionRejected) as info:
        score(pred_dir, inputs, spec)
    (problem,) = info.value.problems
    assert (
        problem.code == "wrong_size"
        and "expected 120×100" in problem.message
        and "60×50 input" in problem.message
    )


def test_metrics_that_need_ground_truth_are_refused_for_such_a_phase():
    with pytest.raises(SpecError, match=r"\['psnr'\] need ground truth"):
        ScoringSpec(metrics=("psnr", "piqe"), ranking_metric="piqe", ground_truth=False)
