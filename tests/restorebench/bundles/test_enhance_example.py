"""The enhance example bundle loads: the track built from organizer pairs (made on this machine from
package-shipped photos), as the demo loads it."""

import json
from pathlib import Path

import numpy as np
import pytest
from restorebench import storage
from restorebench.bundles.services import bundle_load
from restorebench.challenges.models import Challenge

from benchdata.image_files import read_image
from benchdata.track_data import load_public_input

EXAMPLES = Path(__file__).resolve().parents[3] / "platform" / "restorebench" / "bundles" / "examples"
pytestmark = pytest.mark.django_db


def _loaded(name: str, slug: str):
    result = bundle_load(path=EXAMPLES / name)
    assert result.created
    [track] = Challenge.objects.get(slug=slug).tracks.all()
    return track, list(track.phases.order_by("order"))


def _first_item(phase) -> tuple[dict, np.ndarray, np.ndarray]:
    public = storage.phase_inputs_for_reading(phase)
    item = json.loads((public / "manifest.json").read_text())["items"][0]
    truth = read_image(storage.phase_ground_truth_for_reading(phase) / f"{item['id']}.png")
    return item, load_public_input(public, item), truth


def test_the_jpeg_example_loads_with_decoded_jpeg_inputs(bundle_dirs):
    track, phases = _loaded("jpeg.yaml", "restorebench-jpeg")
    assert (track.task, track.degradation_spec) == ("jpeg", {"task": "jpeg", "quality": 10})
    assert track.scoring_spec["metrics"] == ["psnr", "ssim", "lpips"]
    assert [p.slug for p in phases] == ["development", "test"]
    item, observed, truth = _first_item(phases[0])
    assert item["input"].endswith(".png") and observed.shape == truth.shape
    assert 0 < np.abs(observed - truth).mean() < 0.1  # compressed, not destroyed


def test_the_burst_example_loads_with_a_folder_of_frames_per_sample(bundle_dirs):
    track, phases = _loaded("burst_sr.yaml", "restorebench-burst-sr")
    assert track.task == "burst_sr" and track.degradation_spec["frames"] == 14
    assert (track.scoring_spec["scale"], track.scoring_spec["shave"]) == (4, 0)
    item, frames, truth = _first_item(phases[1])
    assert len(item["frames"]) == 14 and frames.shape[0] == 14
    assert (4 * frames.shape[1], 4 * frames.shape[2]) == truth.shape[:2]
    assert phases[1].expected_images == sorted(f"{i['id']}.png" for i in _items(phases[1]))


def _items(phase) -> list[dict]:
    return json.loads((storage.phase_inputs_for_reading(phase) / "manifest.json").read_text())["items"]
