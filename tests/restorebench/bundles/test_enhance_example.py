"""The enhance example bundle loads: the track built from organizer pairs (made on this machine from
package-shipped photos), as the demo loads it."""

import pytest
from restorebench import storage
from restorebench.bundles.example_data import example_bundle_prepare
from restorebench.bundles.services import bundle_load
from restorebench.challenges.models import Challenge
from restorebench.web.demo import EXAMPLE_BUNDLES

from benchdata.image_files import read_image

pytestmark = pytest.mark.django_db


def test_the_enhance_example_installs_its_organizer_pairs_in_each_phase(bundle_dirs, tmp_path):
    path = example_bundle_prepare(bundle=EXAMPLE_BUNDLES["enhance-lowlight"], work_dir=tmp_path / "lowlight")
    assert bundle_load(path=path).created
    [track] = Challenge.objects.get(slug="restorebench-lowlight").tracks.all()
    assert track.task == "enhance" and not track.degradation_spec
    development, test = track.phases.order_by("order")
    assert (development.hidden_ground_truth, test.hidden_ground_truth) == (False, True)
    for phase, split in ((development, "dev"), (test, "test")):
        source = path.parent / "lowlight" / split
        names = sorted(p.name for p in (source / "gt").iterdir())
        assert names and phase.expected_images == names
        inputs = storage.model_inputs_for_reading(phase)  # the participants' input images
        truth = storage.phase_ground_truth_for_reading(phase)
        for name in names:
            # The organizer's files, installed unchanged: the dark input beside its clean original.
            assert (inputs / name).read_bytes() == (source / "input" / name).read_bytes()
            assert (truth / name).read_bytes() == (source / "gt" / name).read_bytes()
            assert read_image(inputs / name).mean() < read_image(truth / name).mean()
        assert truth.is_relative_to(storage.hidden_root().resolve())  # never under the served tree
