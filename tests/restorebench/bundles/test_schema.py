"""A bad bundle is refused with every problem named by its field path and its line in the file."""

import pytest
from restorebench.bundles.schema import BundleError, bundle_parse
from restorebench.bundles.source import BundleSyntaxError, load_located

from .conftest import TINY_BUNDLE


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the `occurrence`-th `needle` (found independently of YAML)."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in the text")


def problems_of(text: str) -> dict[str, tuple[int | None, str]]:
    with pytest.raises(BundleError) as caught:
        bundle_parse(load_located(text), "b.yaml")
    return {_path(p): (p.line, p.message) for p in caught.value.problems}


def _path(problem) -> str:
    from restorebench.bundles.source import format_path

    return format_path(problem.path)


def tiny(**replace: str) -> str:
    text = TINY_BUNDLE.format(slug="tiny")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_the_tiny_bundle_is_valid_and_its_times_keep_their_zone():
    bundle = bundle_parse(load_located(tiny()), "b.yaml")
    phase = bundle.tracks[0].phases[0]
    assert (phase.starts_at.isoformat(), phase.ends_at.isoformat()) == (
        "2020-01-01T00:00:00+00:00",
        "2099-01-01T00:00:00+00:00",
    )
    assert bundle.tracks[0].degradation_spec == {
        "task": "denoise",
        "sigma": 25.0,
        "clip": False,
        "quantize": False,
    }


def test_a_time_without_zone_is_refused_at_its_line():
    text = tiny(**{"starts_at: 2020-01-01T00:00:00Z": "starts_at: 2020-01-01 00:00"})
    line, message = problems_of(text)["tracks[0].phases[0].starts_at"]
    assert line == line_of(text, "starts_at:")
    assert "no time zone" in message


def test_an_end_before_the_start_is_refused_at_the_end_comparing_in_utc():
    # 01:00 at UTC+2 is 23:00 UTC the day before the start.
    text = tiny(**{"2099-01-01T00:00:00+00:00": "2020-01-01T01:00:00+02:00"})
    line, message = problems_of(text)["tracks[0].phases[0].ends_at"]
    assert line == line_of(text, "ends_at:")
    assert "after starts_at" in message


def test_a_nested_degradation_error_points_at_the_nested_field():
    text = tiny(
        **{
            "task: denoise": "task: deblur",
            "degradation: {sigma: 25}": (
                "degradation:\n      kernel:\n        type: gaussian\n        size: 7\n        sigma: -1"
            ),
            "scoring: {metrics: [psnr, ssim], ranking_metric: psnr}": "scoring: {task: deblur}",
        }
    )
    line, message = problems_of(text)["tracks[0].degradation.kernel.sigma"]
    assert line == line_of(text, "sigma: -1")
    assert "kernel.sigma must be > 0" in message


def test_unknown_fields_tasks_datasets_and_splits_are_each_reported():
    text = tiny(
        **{
            "title: Tiny challenge": "title: Tiny challenge\n  colour: blue",
            "task: denoise": "task: colourise",
            "dataset: starter": "dataset: nowhere",
        }
    )
    problems = problems_of(text)
    assert problems["challenge.colour"][0] == line_of(text, "colour: blue")
    assert "unknown field" in problems["challenge.colour"][1]
    assert problems["tracks[0].task"] == (line_of(text, "task: colourise"), problems["tracks[0].task"][1])
    assert (
        "unknown task 'colourise'; valid tasks: denoise, deblur, sr, inpaint, jpeg, burst_sr, enhance"
        in problems["tracks[0].task"][1]
    )
    assert problems["tracks[0].data.dataset"][0] == line_of(text, "dataset: nowhere")
    assert "no dataset manifest named 'nowhere'" in problems["tracks[0].data.dataset"][1]


def test_a_split_the_dataset_lacks_is_refused_with_the_splits_it_has():
    text = tiny(**{"split: val": "split: validation"})
    line, message = problems_of(text)["tracks[0].phases[0].split"]
    assert line == line_of(text, "split: validation")
    assert "its splits: all, test, train, val" in message


def test_ranking_by_a_metric_the_track_does_not_score_is_refused():
    text = tiny(**{"    data:": "    ranking: {metrics: [lpips]}\n    data:"})
    line, message = problems_of(text)["tracks[0].ranking.metrics[0]"]
    assert line == line_of(text, "ranking: {metrics: [lpips]}")
    assert "does not score" in message


def test_duplicate_slugs_and_missing_required_fields_are_reported_together():
    second = TINY_BUNDLE.format(slug="tiny").split("tracks:\n", 1)[1].replace("    title: Denoising\n", "")
    text = tiny() + second
    problems = problems_of(text)
    assert problems["tracks[1].slug"] == (
        line_of(text, "- slug: denoise", 2),
        "'denoise' is also the slug of tracks[0]",
    )
    # A missing field is reported at the mapping that should hold it.
    assert problems["tracks[1].title"] == (line_of(text, "- slug: denoise", 2), "is required")


def test_limits_and_visibility_are_checked():
    text = tiny(
        **{
            "        split: val": (
                "        split: val\n        limits: {per_day: -1}\n        visibility: {score_decimals: 12}"
            )
        }
    )
    problems = problems_of(text)
    assert problems["tracks[0].phases[0].limits.per_day"][0] == line_of(text, "limits:")
    assert "integer >= 0" in problems["tracks[0].phases[0].limits.per_day"][1]
    assert "at most 10" in problems["tracks[0].phases[0].visibility.score_decimals"][1]


def test_the_error_message_lists_file_line_and_field():
    text = tiny(**{"starts_at: 2020-01-01T00:00:00Z": "starts_at: soon"})
    with pytest.raises(BundleError) as caught:
        bundle_parse(load_located(text), "b.yaml")
    assert (
        f"b.yaml:{line_of(text, 'starts_at: soon')}: tracks[0].phases[0].starts_at: 'soon' is not an ISO 8601"
        in str(caught.value)
    )
    assert "nothing was loaded" in str(caught.value)


def test_broken_yaml_is_reported_with_its_line():
    text = tiny(**{"    title: Denoising": "    title: [Denoising"})
    with pytest.raises(BundleSyntaxError) as caught:
        load_located(text)
    assert caught.value.line is not None
    assert caught.value.line >= line_of(text, "title: [Denoising")


def test_a_bundle_nested_100000_levels_deep_is_refused_not_crashed_on():
    with pytest.raises(BundleSyntaxError, match="nested too deeply"):
        load_located("a: " + "[" * 100_000 + "]" * 100_000)


def test_a_key_given_twice_is_refused():
    text = tiny(**{"    title: Denoising": "    title: Denoising\n    title: Again"})
    with pytest.raises(BundleSyntaxError) as caught:
        load_located(text)
    assert caught.value.line == line_of(text, "title: Again")
    assert "given twice" in str(caught.value)


def test_a_final_phase_spells_its_reveal_and_requirements_and_each_is_checked():
    text = tiny(
        **{
            "ends_at: 2099-01-01T00:00:00+00:00": "ends_at: 2099-01-01T00:00:00+00:00\n"
            "        visibility: {results_hidden: true, reveal_at: 2099-02-01 00:00}\n"
            "        final: {factsheet: yes please, max_team_size: 0, slides: true}"
        }
    )
    found = problems_of(text)
    assert "no time zone" in found["tracks[0].phases[0].visibility.reveal_at"][1]
    assert "true or false" in found["tracks[0].phases[0].final.factsheet"][1]
    assert ">= 1" in found["tracks[0].phases[0].final.max_team_size"][1]
    assert "unknown field" in found["tracks[0].phases[0].final.slides"][1]
    good = tiny(
        **{
            "ends_at: 2099-01-01T00:00:00+00:00": "ends_at: 2099-01-01T00:00:00+00:00\n"
            "        visibility: {results_hidden: true, reveal_at: 2099-02-01T00:00:00Z}\n"
            "        final: {factsheet: true, code: true, max_team_size: 5}"
        }
    )
    phase = bundle_parse(load_located(good), "b.yaml").tracks[0].phases[0]
    assert (phase.results_hidden, phase.reveal_at.isoformat(), phase.max_team_size) == (
        True,
        "2099-02-01T00:00:00+00:00",
        5,
    )
    assert phase.requires_factsheet and phase.requires_code


def test_the_old_super_resolution_spelling_is_refused_naming_the_new_one():
    text = tiny(**{"task: denoise": "task: super_resolution", "{sigma: 25}": "{scale: 4}"})
    line, message = problems_of(text)["tracks[0].task"]
    assert line == line_of(text, "task: super_resolution")
    assert message == "task 'super_resolution' is now spelled 'sr'"


def test_a_jpeg_track_takes_a_quality_and_scores_by_the_tasks_conventions():
    text = tiny(**{"task: denoise": "task: jpeg", "{sigma: 25}": "{quality: 20}"})
    text = text.replace("    scoring: {metrics: [psnr, ssim], ranking_metric: psnr}\n", "")
    track = bundle_parse(load_located(text), "b.yaml").tracks[0]
    assert track.degradation_spec == {"task": "jpeg", "quality": 20}
    assert track.scoring_spec["metrics"] == ["psnr", "ssim", "lpips"]
    bad = tiny(**{"task: denoise": "task: jpeg", "{sigma: 25}": "{sigma: 5}"})
    assert "unknown field(s) sigma" in problems_of(bad)["tracks[0].degradation"][1]


def test_a_burst_track_scores_at_its_degradations_scale():
    text = tiny(**{"task: denoise": "task: burst_sr", "{sigma: 25}": "{frames: 8, scale: 3}"})
    text = text.replace("    scoring: {metrics: [psnr, ssim], ranking_metric: psnr}\n", "")
    track = bundle_parse(load_located(text), "b.yaml").tracks[0]
    assert (track.scoring_spec["scale"], track.degradation_spec["frames"]) == (3, 8)


def test_an_enhance_track_refuses_a_synthetic_degradation():
    text = tiny(**{"task: denoise": "task: enhance"})
    line, message = problems_of(text)["tracks[0].degradation"]
    assert line == line_of(text, "degradation:")
    assert "has no synthetic degradation" in message


def test_a_synthetic_task_without_degradation_gets_the_tasks_example():
    text = tiny(**{"task: denoise": "task: jpeg", "    degradation: {sigma: 25}\n": ""})
    message = problems_of(text)["tracks[0].degradation"][1]
    assert "is required (e.g. {quality: 10} for a jpeg track)" in message


def test_a_track_declares_its_reference_input_and_the_tasks_is_the_default():
    assert bundle_parse(load_located(tiny()), "b.yaml").tracks[0].efficiency == {"input_size": [256, 256]}
    sr = tiny(**{"task: denoise": "task: sr", "{sigma: 25}": "{scale: 4}"})
    sr = sr.replace("    phases:\n", "    efficiency: {input_size: [128, 96]}\n    phases:\n")
    assert bundle_parse(load_located(sr), "b.yaml").tracks[0].efficiency == {"input_size": [128, 96]}
    square = tiny(**{"    phases:\n": "    efficiency: {input_size: 64}\n    phases:\n"})
    assert bundle_parse(load_located(square), "b.yaml").tracks[0].efficiency == {"input_size": [64, 64]}


@pytest.mark.parametrize(
    ("efficiency", "path", "expected"),
    [
        (
            "{input_size: [0, 64]}",
            "tracks[0].efficiency.input_size",
            "each an integer from 8 to 4096, got [0, 64]",
        ),
        ("{input_size: [64, 64, 3]}", "tracks[0].efficiency.input_size", "must be [height, width]"),
        ("{input_size: [64, 64], repeats: 5}", "tracks[0].efficiency.repeats", "unknown field"),
        ("256", "tracks[0].efficiency", "must be a mapping with input_size"),
    ],
)
def test_a_bad_reference_input_is_refused_at_its_line(efficiency, path, expected):
    text = tiny(**{"    phases:\n": f"    efficiency: {efficiency}\n    phases:\n"})
    line, message = problems_of(text)[path]
    assert line == line_of(text, "efficiency:") and expected in message
