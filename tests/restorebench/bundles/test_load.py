"""Loading a bundle: a good one creates the challenge, tracks and phases and generates each phase's
inputs (served tree) and ground truth (hidden tree); a bad one loads nothing and leaves no files."""

import hashlib
import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from restorebench import storage
from restorebench.bundles import services as bundle_services
from restorebench.bundles.schema import BundleError
from restorebench.bundles.services import bundle_load
from restorebench.challenges.models import AuditLogEntry, Challenge, Phase, Track
from restorebench.web.demo import DEMO_BUNDLE

from benchdata.image_files import read_image
from benchdata.store import ensure_dataset

from .conftest import TINY_BUNDLE

pytestmark = pytest.mark.django_db


def files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def test_the_demo_bundle_creates_four_tracks_with_generated_data(bundle_dirs, settings):
    result = bundle_load(path=DEMO_BUNDLE)
    challenge = Challenge.objects.get(slug="restorebench-demo")
    assert result.created and result.challenge == challenge
    tracks = list(challenge.tracks.order_by("order"))
    assert [(t.slug, t.task) for t in tracks] == [
        ("denoise-sigma25", "denoise"),
        ("deblur-gaussian", "deblur"),
        ("sr-x4", "sr"),
        ("inpaint-boxes", "inpaint"),
    ]
    sr = tracks[2]
    assert (sr.scoring_spec["color_space"], sr.scoring_spec["shave"], sr.scoring_spec["scale"]) == ("y", 4, 4)
    assert tracks[3].ranking_method == "mean_rank"
    assert tracks[3].ranking_metrics[0] == {"metric": "lpips", "higher_is_better": False}

    starter = ensure_dataset("starter", settings.RESTOREBENCH_DATASETS_DIR)
    splits = json.loads((starter / "manifest.json").read_text())["splits"]
    storage_dir, hidden_dir = Path(settings.RESTOREBENCH_STORAGE_DIR), Path(settings.RESTOREBENCH_HIDDEN_DIR)
    for track in tracks:
        dev, test = track.phases.order_by("order")
        assert (dev.hidden_ground_truth, test.hidden_ground_truth, test.score_decimals) == (False, True, 2)
        # 09:00 at UTC+2 in the file is 07:00 UTC.
        assert test.starts_at.isoformat() == "2026-06-01T07:00:00+00:00"
        for phase, split in ((dev, "val"), (test, "test")):
            assert phase.expected_images == sorted(splits[split])
            gt_dir = storage.phase_ground_truth_dir(phase)
            inputs = storage.phase_inputs_dir(phase)
            assert sorted(p.name for p in gt_dir.iterdir()) == phase.expected_images
            assert not gt_dir.is_relative_to(storage_dir) and not inputs.is_relative_to(hidden_dir)
            manifest = json.loads((inputs / "manifest.json").read_text())
            assert [item["id"] + ".png" for item in manifest["items"]] == phase.expected_images
            assert "seed" not in manifest
            assert not any(p.name.startswith("gt") for p in inputs.rglob("*"))
            for name in phase.expected_images:
                # SR ground truth is modcropped; 192 is a multiple of 4, so every GT is the starter image.
                assert np.array_equal(read_image(gt_dir / name), read_image(starter / name))
    sr_dev = sr.phases.get(slug="development")
    first = json.loads((storage.phase_inputs_dir(sr_dev) / "manifest.json").read_text())["items"][0]
    assert first["input_shape"] == [48, 48, 3] and first["output_shape"] == [192, 192, 3]
    assert AuditLogEntry.objects.filter(challenge=challenge, action="phase.create").count() == 8


def test_a_bundle_with_errors_loads_nothing(bundle_dirs, write_bundle):
    text = TINY_BUNDLE.format(slug="broken").replace("sigma: 25", "sigma: -25")
    before = files_under(bundle_dirs / "storage", bundle_dirs / "hidden")
    with pytest.raises(BundleError) as caught:
        bundle_load(path=write_bundle(text))
    assert [str(p.path) for p in caught.value.problems] == ["('tracks', 0, 'degradation', 'sigma')"]
    assert not Challenge.objects.filter(slug="broken").exists()
    assert files_under(bundle_dirs / "storage", bundle_dirs / "hidden") == before


def test_a_failure_while_generating_removes_what_was_generated_and_creates_no_rows(
    bundle_dirs, write_bundle, monkeypatch
):
    second_phase = (
        "      - slug: test\n        title: Test\n        split: test\n"
        "        starts_at: 2020-01-01T00:00:00Z\n        ends_at: 2099-01-01T00:00:00Z\n"
    )
    path = write_bundle(TINY_BUNDLE.format(slug="half") + second_phase)
    real = bundle_services._generate_phase
    calls = []

    def generate_then_fail(bundle, track, phase, dataset_dir, token):
        calls.append(phase.slug)
        if phase.slug == "test":
            raise OSError("disk full")
        return real(bundle, track, phase, dataset_dir, token)

    before = files_under(bundle_dirs / "storage", bundle_dirs / "hidden")

    monkeypatch.setattr(bundle_services, "_generate_phase", generate_then_fail)
    with pytest.raises(BundleError) as caught:
        bundle_load(path=path)
    assert calls == ["dev", "test"]
    assert "disk full" in str(caught.value)
    assert not Challenge.objects.filter(slug="half").exists()
    assert files_under(bundle_dirs / "storage", bundle_dirs / "hidden") == before


def test_a_database_refusal_rolls_back_every_row_and_file(bundle_dirs, write_bundle, monkeypatch):
    path = write_bundle(TINY_BUNDLE.format(slug="rolled"))
    from django.core.exceptions import ValidationError

    before = files_under(bundle_dirs / "storage", bundle_dirs / "hidden")

    def refuse(**kwargs):
        raise ValidationError({"max_submissions_per_day": "refused for the test"})

    monkeypatch.setattr(bundle_services, "phase_create", refuse)
    with pytest.raises(BundleError) as caught:
        bundle_load(path=path)
    # The service's field name is mapped back to the bundle's, with its line (the phase's mapping).
    [problem] = caught.value.problems
    assert problem.path == ("tracks", 0, "phases", 0, "limits", "per_day")
    assert problem.line == path.read_text().splitlines().index("      - slug: dev") + 1
    assert not Challenge.objects.filter(slug="rolled").exists()
    assert not Track.objects.filter(challenge__slug="rolled").exists()
    assert files_under(bundle_dirs / "storage", bundle_dirs / "hidden") == before


def test_an_existing_slug_is_refused_before_anything_is_generated(bundle_dirs, write_bundle):
    path = write_bundle(TINY_BUNDLE.format(slug="twice"))
    bundle_load(path=path)
    phase = Phase.objects.get(track__challenge__slug="twice")
    inputs = storage.phase_inputs_dir(phase)
    stamp = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files_under(inputs)}
    with pytest.raises(BundleError) as caught:
        bundle_load(path=path)
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == (("challenge", "slug"), 3)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files_under(inputs)} == stamp
    skipped = bundle_load(path=path, skip_existing=True)
    assert (skipped.created, Challenge.objects.filter(slug="twice").count()) == (False, 1)


def test_generation_is_reproducible_from_the_bundles_seed(bundle_dirs, write_bundle):
    bundle_load(path=write_bundle(TINY_BUNDLE.format(slug="first"), "a.yaml"))
    bundle_load(path=write_bundle(TINY_BUNDLE.format(slug="second"), "b.yaml"))
    a, b = (Phase.objects.get(track__challenge__slug=s) for s in ("first", "second"))
    read = lambda phase: {  # noqa: E731
        p.name: p.read_bytes() for p in (storage.phase_inputs_dir(phase) / "inputs").iterdir()
    }
    assert read(a) == read(b)


def test_the_command_loads_a_bundle_and_reports_errors_with_lines(bundle_dirs, write_bundle):
    out = StringIO()
    call_command("load_challenge", str(write_bundle(TINY_BUNDLE.format(slug="cmd"))), stdout=out)
    assert "loaded challenge 'cmd': 1 track(s), 1 phase(s)" in out.getvalue()
    bad = write_bundle(
        TINY_BUNDLE.format(slug="cmd-bad").replace("task: denoise", "task: dehaze"), "bad.yaml"
    )
    with pytest.raises(CommandError) as caught:
        call_command("load_challenge", str(bad))
    assert f"{bad}:8: tracks[0].task: unknown task 'dehaze'; valid tasks: denoise" in str(caught.value)
    assert not Challenge.objects.filter(slug="cmd-bad").exists()


@pytest.mark.parametrize(
    ("name", "slugs"),
    [
        ("ntire_efficient_sr.yaml", ["main", "runtime", "params", "flops", "fidelity"]),
        ("ntire_image_sr.yaml", ["restoration", "perceptual", "overall"]),
    ],
)
def test_the_ntire_style_example_bundles_load_with_their_leaderboards(bundle_dirs, name, slugs):
    from restorebench.challenges.track_ranking import track_boards

    result = bundle_load(path=Path(DEMO_BUNDLE).parent / name)
    (track,) = result.challenge.tracks.all()
    assert [board["slug"] for board in track.leaderboards["leaderboards"]] == slugs
    assert [board.slug for board in track_boards(track)] == slugs
    # The metric rule that picks a team's representative is the first metrics board's.
    assert track.ranking_metrics[0] == {"metric": "psnr", "higher_is_better": True}
    assert track.efficiency == {"input_size": [256, 256]}  # declared in one, the task's default in the other
    if name == "ntire_image_sr.yaml":
        final = track.phases.get(slug="test")
        assert (final.results_hidden, final.requires_factsheet, final.requires_code, final.max_team_size) == (
            True,
            True,
            True,
            6,
        )
