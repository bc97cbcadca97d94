"""`run_scoring_job`: JSON in/out; participant errors are SubmissionError, everything else is not."""

import json

import pytest

from evaluator import ScoringSpec, score
from evaluator.errors import SpecError, SubmissionError
from evaluator.jobs import run_scoring_job


def test_returns_json_serialisable_result_equal_to_score(make_pairs):
    pred, gt, _ = make_pairs(2)
    spec = {"metrics": ["psnr", "ssim"], "ranking_metric": "ssim"}
    calls = []
    out = run_scoring_job(str(pred), str(gt), spec, lambda d, t: calls.append((d, t)))
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    direct = score(pred, gt, ScoringSpec.from_dict(spec)).to_dict()
    assert out["rows"] == direct["rows"] and out["aggregates"] == direct["aggregates"]
    assert out["ranking_metric"] == "ssim" and out["ranking_score"] == out["aggregates"]["ssim"]
    assert calls[-1] == (2, 2)


def test_participant_problems_raise_submission_error_with_problems(make_pairs):
    pred, gt, _ = make_pairs(2)
    (pred / "img00.png").unlink()
    with pytest.raises(SubmissionError) as info:
        run_scoring_job(str(pred), str(gt), {}, None)
    assert [p.to_dict()["code"] for p in info.value.problems] == ["missing"]
    assert "img00.png: no prediction for this image" in str(info.value)


def test_bad_spec_is_not_blamed_on_the_participant(make_pairs):
    pred, gt, _ = make_pairs(1)
    with pytest.raises(SpecError) as info:
        run_scoring_job(str(pred), str(gt), {"metrics": ["nope"]}, None)
    assert not isinstance(info.value, SubmissionError)


def test_missing_ground_truth_is_a_platform_error(make_pairs, tmp_path):
    pred, _, _ = make_pairs(1)
    with pytest.raises(Exception) as info:
        run_scoring_job(str(pred), str(tmp_path / "nowhere"), {}, None)
    assert not isinstance(info.value, SubmissionError) and "does not exist" in str(info.value)
