"""A track without ground truth in a bundle: `scoring: {ground_truth: false, ...}` and inputs alone per
phase. Every misuse is refused at its line; the real-world SR example installs inputs and no ground
truth, and its phases expect the inputs' names."""

import pytest
from restorebench import storage
from restorebench.bundles.example_data import REALWORLD_SR_BUNDLE, example_bundle_prepare
from restorebench.bundles.services import bundle_load
from restorebench.challenges.models import Challenge

from benchdata.image_files import read_image

from .test_schema import line_of, problems_of

BUNDLE = """\
format: 1
challenge: {slug: real, title: Real}
tracks:
  - slug: rw
    title: Real world
    task: sr
    scoring: {ground_truth: false, scale: 2, metrics: [niqe, piqe], ranking_metric: niqe}
    ranking: {metrics: [niqe, piqe]}
    phases:
      - slug: dev
        title: Dev
        data: {inputs: real/dev}
        starts_at: 2020-01-01T00:00:00Z
        ends_at: 2099-01-01T00:00:00Z
"""


def _bad(old: str, new: str) -> tuple[str, dict]:
    assert old in BUNDLE
    text = BUNDLE.replace(old, new)
    return text, problems_of(text)


def test_a_metric_that_needs_ground_truth_is_refused_at_the_scoring_metrics_line():
    text, problems = _bad("metrics: [niqe, piqe], ranking", "metrics: [psnr, niqe], ranking")
    line, message = problems["tracks[0].scoring.metrics"]
    assert line == line_of(text, "scoring:")
    assert "['psnr'] need ground truth" in message and "only no-reference metrics" in message


def test_a_ground_truth_folder_is_refused_in_a_track_without_ground_truth():
    text, problems = _bad("data: {inputs: real/dev}", "data: {inputs: real/dev, ground_truth: real/gt}")
    line, message = problems["tracks[0].phases[0].data.ground_truth"]
    assert line == line_of(text, "data:") and "give its inputs only" in message


def test_inputs_without_ground_truth_in_a_scored_track_say_how_to_declare_one_without():
    text, problems = _bad("ground_truth: false, scale: 2, metrics: [niqe, piqe]", "scale: 2, metrics: [psnr]")
    text = text.replace("ranking_metric: niqe", "ranking_metric: psnr").replace("[niqe, piqe]}", "[psnr]}")
    problems = problems_of(text)
    line, message = problems["tracks[0].phases[0].data.ground_truth"]
    assert line == line_of(text, "data:") and "scoring: {ground_truth: false" in message


def test_a_dataset_cannot_feed_a_track_without_ground_truth():
    text, problems = _bad("        data: {inputs: real/dev}\n", "")
    text = text.replace("    phases:", "    data: {dataset: starter}\n    phases:")
    problems = problems_of(text)
    line, message = problems["tracks[0].phases[0]"]
    assert line == line_of(text, "- slug: dev") and "takes the organizer's inputs" in message


def test_a_scaled_track_without_ground_truth_must_give_its_scale():
    text, problems = _bad("ground_truth: false, scale: 2,", "ground_truth: false,")
    line, message = problems["tracks[0].scoring"]  # at the mapping that lacks it
    assert line == line_of(text, "scoring:") and "its input times the scale" in message


def test_a_burst_track_cannot_do_without_ground_truth():
    text, problems = _bad("task: sr", "task: burst_sr")
    line, message = problems["tracks[0].scoring.ground_truth"]
    assert line == line_of(text, "scoring:") and "burst_sr track needs ground truth" in message


@pytest.mark.django_db
def test_the_real_world_example_installs_inputs_only_and_expects_their_names(bundle_dirs, tmp_path):
    path = example_bundle_prepare(bundle=REALWORLD_SR_BUNDLE, work_dir=tmp_path / "realworld")
    assert bundle_load(path=path).created
    [track] = Challenge.objects.get(slug="restorebench-realworld-sr").tracks.all()
    assert not track.has_ground_truth and track.scoring_spec["metrics"] == ["niqe", "piqe"]
    for phase, split in zip(track.phases.order_by("order"), ("dev", "test"), strict=True):
        source = path.parent / "realworld" / split / "input"
        names = sorted(p.name for p in source.iterdir())
        assert names and phase.expected_images == names
        assert phase.inputs_installed_at and phase.ground_truth_installed_at is None
        inputs = storage.model_inputs_for_reading(phase)
        for name in names:
            assert (inputs / name).read_bytes() == (source / name).read_bytes()
            assert read_image(inputs / name).shape[:2] == (96, 96)  # the 192 px crops, halved
        assert not storage.phase_ground_truth_dir(phase).exists()
        assert not storage.phase_area(phase, hidden=True).exists()  # nothing hidden at all
