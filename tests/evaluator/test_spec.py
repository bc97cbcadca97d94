"""ScoringSpec: validation with named fields, JSON round trip, per-task conventions."""

import json

import pytest

from evaluator import ScoringSpec
from evaluator.errors import SpecError


def test_round_trips_through_json():
    spec = ScoringSpec.for_task("sr", scale=3, policy="partial")
    again = ScoringSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_sr_follows_the_literature():
    spec = ScoringSpec.for_task("sr", scale=4)
    assert (spec.color_space, spec.shave, spec.scale, spec.ranking_metric) == ("y", 4, 4, "psnr")
    assert spec.metrics == ("psnr", "ssim", "lpips") and spec.data_range == 1.0


def test_ntire_sr_is_rgb_with_six_plus_scale_shave():
    spec = ScoringSpec.for_task("sr-ntire", scale=2)
    assert (spec.color_space, spec.shave) == ("rgb", 8)


@pytest.mark.parametrize("task, ranking", [("denoise", "psnr"), ("deblur", "psnr"), ("inpaint", "lpips")])
def test_other_tasks_are_rgb_without_shave(task, ranking):
    spec = ScoringSpec.for_task(task)
    assert (spec.color_space, spec.shave, spec.scale, spec.ranking_metric) == ("rgb", 0, None, ranking)
    assert spec.higher_is_better == (ranking != "lpips")


def test_task_key_in_a_dict_starts_from_the_convention():
    spec = ScoringSpec.from_dict({"task": "sr", "scale": 2, "metrics": ["psnr", "ssim"]})
    assert (spec.shave, spec.color_space, spec.metrics) == (2, "y", ("psnr", "ssim"))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"metrics": ["psnr", "fid"]}, "unknown metric 'fid'; valid: brisque, dists, lpips"),
        ({"ground_truth": "no"}, "ground_truth must be true or false"),
        ({"metrics": ["ssim"], "ranking_metric": "psnr"}, "ranking_metric 'psnr' is not among"),
        ({"color_space": "ycbcr"}, "color_space must be one of"),
        ({"shave": -1}, "shave must be a non-negative integer"),
        ({"data_range": 0}, "data_range must be a positive number"),
        ({"policy": "lenient"}, "policy must be one of"),
        ({"max_pixels": 0}, "max_pixels must be a positive integer"),
        ({"shaves": 4}, "unknown scoring spec keys"),
        ({"task": "sr"}, "needs a scale"),
        ({"task": "colorize"}, "unknown task 'colorize'"),
        ({"metrics": []}, "metrics is empty"),
    ],
)
def test_invalid_specs_name_the_field(data, message):
    with pytest.raises(SpecError, match=message):
        ScoringSpec.from_dict(data)


def test_every_task_of_the_table_has_scoring_conventions_that_validate():
    from benchdata.tasks import get_task, list_tasks

    for info in list_tasks():
        spec = ScoringSpec.for_task(info.name, scale=4 if info.scaled else None)
        assert list(spec.metrics) == list(get_task(info.name).scoring.metrics)
        assert spec.ranking_metric == info.scoring.ranking_metric


def test_burst_sr_scores_at_its_default_scale_four():
    spec = ScoringSpec.for_task("burst_sr")
    assert (spec.scale, spec.shave, spec.color_space) == (4, 0, "rgb")


def test_the_old_super_resolution_spelling_is_not_a_scoring_task():
    with pytest.raises(SpecError, match="unknown task 'super_resolution'; valid tasks: denoise"):
        ScoringSpec.for_task("super_resolution", scale=4)
