"""Bundles with organizer pairs: `data: {inputs, ground_truth}` per phase or per track; every file of
every phase checked before anything is stored; the data copied into the phase's own storage with
SHA-256 manifests (inputs served, ground truth hidden)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from restorebench import storage
from restorebench.bundles.schema import BundleError
from restorebench.bundles.services import bundle_load
from restorebench.challenges.models import Challenge

from benchdata.image_files import write_image

pytestmark = pytest.mark.django_db

PAIRS_BUNDLE = """\
format: 1
challenge: {{slug: {slug}, title: Pairs}}
tracks:
  - slug: real-noise
    title: Real noise
    task: denoise
    scoring: {{metrics: [psnr, ssim], ranking_metric: psnr}}
{track_data}    phases:
      - slug: development
        title: Development
        starts_at: 2020-01-01T00:00:00Z
        ends_at: 2099-01-01T00:00:00Z
{dev_data}      - slug: test
        title: Test
        starts_at: 2020-01-01T00:00:00Z
        ends_at: 2099-01-01T00:00:00Z
        visibility: {{hidden_ground_truth: true}}
{test_data}"""


def _pairs(folder: Path, names, size=(6, 7), seed=0):
    rng = np.random.default_rng(seed)
    for name in names:
        write_image(folder / "input" / f"{name}.png", rng.random((*size, 3)))
        write_image(folder / "gt" / f"{name}.png", rng.random((*size, 3)))


def _files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def _bundle(tmp_path, slug, track_data="", dev_data="", test_data=""):
    path = tmp_path / "bundle.yaml"
    path.write_text(
        PAIRS_BUNDLE.format(slug=slug, track_data=track_data, dev_data=dev_data, test_data=test_data)
    )
    return path


def test_phase_pairs_are_copied_into_the_phases_storage_with_checksums(bundle_dirs, tmp_path):
    _pairs(tmp_path / "dev", ["a", "b"])
    _pairs(tmp_path / "test", ["c"], seed=1)
    path = _bundle(
        tmp_path,
        "pairs",
        dev_data="        data: {inputs: dev/input, ground_truth: dev/gt}\n",
        test_data="        data: {inputs: test/input, ground_truth: test/gt}\n",
    )
    bundle_load(path=path)
    dev, test = Challenge.objects.get(slug="pairs").tracks.get().phases.order_by("order")
    assert (dev.expected_images, test.expected_images) == (["a.png", "b.png"], ["c.png"])
    assert (storage.phase_inputs_dir(dev) / "inputs" / "a.png").read_bytes() == (
        tmp_path / "dev" / "input" / "a.png"
    ).read_bytes()
    assert (storage.phase_ground_truth_dir(test) / "c.png").read_bytes() == (
        tmp_path / "test" / "gt" / "c.png"
    ).read_bytes()
    assert sorted(p.name for p in _files(storage.phase_inputs_dir(dev))) == [
        "a.png",
        "b.png",
        "manifest.json",
    ]
    public = json.loads((storage.phase_inputs_dir(dev) / "manifest.json").read_text())
    assert public["source"] == "organizer pairs" and [i["id"] for i in public["items"]] == ["a", "b"]
    manifest = json.loads(storage.phase_hidden_manifest(dev).read_text())
    digests = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert digests["gt/b.png"] == hashlib.sha256((tmp_path / "dev" / "gt" / "b.png").read_bytes()).hexdigest()


def test_track_level_pairs_apply_to_phases_without_their_own(bundle_dirs, tmp_path):
    _pairs(tmp_path / "all", ["a"])
    _pairs(tmp_path / "test", ["x", "y"], seed=2)
    path = _bundle(
        tmp_path,
        "track-pairs",
        track_data="    data: {inputs: all/input, ground_truth: all/gt}\n",
        test_data="        data: {inputs: test/input, ground_truth: test/gt}\n",
    )
    bundle_load(path=path)
    dev, test = Challenge.objects.get(slug="track-pairs").tracks.get().phases.order_by("order")
    assert (dev.expected_images, test.expected_images) == (["a.png"], ["x.png", "y.png"])


def test_a_bad_pair_set_in_any_phase_loads_nothing_and_names_every_file(bundle_dirs, tmp_path):
    _pairs(tmp_path / "dev", ["a", "b"])
    _pairs(tmp_path / "test", ["c"], seed=1)
    (tmp_path / "dev" / "gt" / "b.png").unlink()
    write_image(tmp_path / "test" / "gt" / "c.png", np.zeros((9, 9, 3)))
    path = _bundle(
        tmp_path,
        "bad-pairs",
        dev_data="        data: {inputs: dev/input, ground_truth: dev/gt}\n",
        test_data="        data: {inputs: test/input, ground_truth: test/gt}\n",
    )
    before = _files(bundle_dirs / "storage", bundle_dirs / "hidden")
    with pytest.raises(BundleError) as caught:
        bundle_load(path=path)
    messages = [(p.path[-2:], p.message) for p in caught.value.problems]
    assert messages == [
        ((0, "data"), "dev/input/b.png: no ground truth named b.png in dev/gt"),
        ((1, "data"), "test/input/c.png is 7x6 but test/gt/c.png is 9x9; this task keeps the size"),
    ]
    assert not any(str(tmp_path) in p.message for p in caught.value.problems)
    assert not Challenge.objects.filter(slug="bad-pairs").exists()
    assert _files(bundle_dirs / "storage", bundle_dirs / "hidden") == before


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("../outside", "'../outside' must be a folder inside the bundle's folder (relative, no '..')"),
        ("/etc", "'/etc' must be a folder inside the bundle's folder (relative, no '..')"),
        ("link", "'link' leads outside the bundle's folder (a symbolic link?)"),
        ("nowhere", "'nowhere': no such folder beside the bundle file"),
    ],
)
def test_data_folders_are_confined_to_the_bundles_folder(bundle_dirs, tmp_path, folder, message):
    _pairs(tmp_path / "dev", ["a"])
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    _pairs(outside, ["a"])
    (tmp_path / "link").symlink_to(outside / "gt")
    path = _bundle(
        tmp_path,
        "escape",
        track_data=f"    data: {{inputs: dev/input, ground_truth: {folder}}}\n",
    )
    with pytest.raises(BundleError) as caught:
        bundle_load(path=path)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (("tracks", 0, "data", "ground_truth"), message)
    ]
    assert not Challenge.objects.filter(slug="escape").exists()


def test_a_dataset_phase_without_a_degradation_or_a_phase_without_data_is_refused(bundle_dirs, tmp_path):
    _pairs(tmp_path / "dev", ["a"])
    path = _bundle(tmp_path, "half", dev_data="        data: {inputs: dev/input, ground_truth: dev/gt}\n")
    with pytest.raises(BundleError) as caught:
        bundle_load(path=path)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (("tracks", 0, "degradation"), "is required (e.g. {sigma: 25} for a denoise track)"),
        (
            ("tracks", 0, "phases", 1),
            "has no data: give the track a dataset, or the phase data: {inputs: ..., ground_truth: ...}",
        ),
    ]


def test_an_enhance_phase_must_bring_pairs(bundle_dirs, tmp_path):
    _pairs(tmp_path / "dev", ["a"])
    text = PAIRS_BUNDLE.format(
        slug="enhance-half",
        track_data="    data: {dataset: starter}\n",
        dev_data="        data: {inputs: dev/input, ground_truth: dev/gt}\n",
        test_data="",
    ).replace("task: denoise", "task: enhance")
    path = tmp_path / "bundle.yaml"
    path.write_text(text)
    with pytest.raises(BundleError) as caught:
        bundle_load(path=path)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (
            ("tracks", 0, "phases", 1),
            "an enhance track has no synthetic data: give the phase organizer pairs, "
            "data: {inputs: ..., ground_truth: ...}",
        )
    ]
