"""The contract every task of the table keeps, end to end, parametrised over `list_tasks()`:

data (synthesised from the starter benchmark by the task's example degradation, or, for a task without
a synthetic degradation, organizer pairs made here) → a reference method that serves the task →
`evaluator` scoring with the task's conventions → a bundle that names the task parses → the method's
entry is scored by the evaluation job and appears as a row of the phase's leaderboard with the
evaluator's numbers.

A task added to the table is covered the moment it exists; a step the task lacks fails naming it.
"""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from rb_test_helpers import wait_for_submission
from restorebench import storage
from restorebench.baselines.services import FAST_METHODS, baseline_outputs_make, phase_disclosures
from restorebench.bundles.schema import bundle_parse
from restorebench.bundles.services import bundle_load
from restorebench.bundles.source import load_located
from restorebench.challenges.models import Phase
from restorebench.leaderboards.selectors import leaderboard_compute
from restorebench.submissions import jobs
from restorebench.submissions.services import submission_create_baseline

from benchdata.image_files import read_image, write_image
from benchdata.tasks import TaskInfo, list_tasks
from evaluator.scoring import score
from evaluator.spec import ScoringSpec
from reference_methods.registry import list_methods, serves

SLUG = "task-contract"


def _bundle(info: TaskInfo, data: str) -> str:
    degradation = f"    degradation: {json.dumps(dict(info.example))}\n" if info.synthetic else ""
    return (
        f"format: 1\nchallenge: {{slug: {SLUG}-{info.name.replace('_', '-')}, title: Contract}}\n"
        f"tracks:\n  - slug: t\n    title: {info.label}\n    task: {info.name}\n{degradation}"
        f"    data: {data}\n    phases:\n      - {{slug: dev, title: Development, split: val,\n"
        f"         starts_at: 2020-01-01T00:00:00Z, ends_at: 2099-01-01T00:00:00Z}}\n"
    )


def _synthetic_phase(info: TaskInfo, tmp_path: Path) -> Phase:
    path = tmp_path / "bundle.yaml"
    path.write_text(_bundle(info, "{dataset: starter, seed: 7}"), encoding="utf-8")
    bundle_load(path=path)
    return Phase.objects.get(track__challenge__slug__startswith=SLUG, track__task=info.name)


def _pairs_phase(info: TaskInfo, tmp_path: Path, starter: Path) -> Phase:
    """Organizer pairs: a darkened, slightly noisy copy of each starter val image (a low-light pair)."""
    from restorebench.challenges.phase_data import phase_data_install
    from restorebench.challenges.services import challenge_create, phase_create, track_create

    public, hidden = tmp_path / "pairs" / "public", tmp_path / "pairs" / "gt"
    rng = np.random.default_rng(3)
    manifest = json.loads((starter / "manifest.json").read_text())
    names = [f["name"] for f in manifest["files"]][:3]
    items = []
    for name in names:
        clean = read_image(starter / name)
        stem = Path(name).stem
        write_image(public / "inputs" / f"{stem}.png", 0.4 * clean + 0.01 * rng.standard_normal(clean.shape))
        write_image(hidden / f"{stem}.png", clean)
        items.append({"id": stem, "input": f"inputs/{stem}.png"})
    (public / "manifest.json").write_text(json.dumps({"spec": {}, "items": items}), encoding="utf-8")
    challenge = challenge_create(slug=f"{SLUG}-{info.name}", title="Contract", created_by=None)
    track = track_create(
        challenge=challenge, slug="t", title=info.label, task=info.name,
        scoring_spec=ScoringSpec.for_task(info.name).to_dict(),
        ranking_metrics=[{"metric": m} for m in info.scoring.metrics],
    )  # fmt: skip
    now = timezone.now()
    phase = phase_create(
        track=track, slug="dev", title="Development", starts_at=now, ends_at=now + timezone.timedelta(days=1)
    )
    return phase_data_install(phase=phase, inputs_src=public, ground_truth_src=hidden, actor=None)


def _method(info: TaskInfo, phase: Phase) -> str:
    """The cheapest fast reference method (interpolation family first) that can run on the phase."""
    disclosed = phase_disclosures(phase)
    fit = [
        m
        for m in list_methods(info.name)
        if m.name in FAST_METHODS and serves(m, info.name, disclosed) is None
    ]
    assert fit, f"task {info.name!r}: no fast reference method serves it (FAST_METHODS, register_method)"
    fit.sort(key=lambda m: (m.family != "interpolation", m.name))
    return fit[0].name


@pytest.mark.services
@pytest.mark.timeout(600)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("info", list_tasks(), ids=lambda info: info.name)
def test_every_task_runs_from_data_to_a_scored_leaderboard_row(info, platform_dirs, settings, tmp_path):
    settings.VAR_DIR = platform_dirs
    settings.RESTOREBENCH_DATASETS_DIR = platform_dirs / "datasets"
    if info.synthetic:
        phase = _synthetic_phase(info, tmp_path)
    else:
        from benchdata.starter import build_starter

        phase = _pairs_phase(info, tmp_path, build_starter(tmp_path / "starter"))
    assert phase.track.task == info.name

    method = _method(info, phase)
    public = storage.phase_inputs_for_reading(phase)
    gt_dir = storage.phase_ground_truth_for_reading(phase)
    outputs = baseline_outputs_make(str(public), method, info.name, str(tmp_path / "out.zip"))
    assert outputs.images == len(phase.expected_images) > 0
    with zipfile.ZipFile(outputs.zip_path) as archive:
        assert sorted(archive.namelist()) == sorted(phase.expected_images)

    scale = (phase.track.degradation_spec or {}).get("scale")
    spec = ScoringSpec.for_task(info.name, scale=scale if info.scaled else None)
    assert phase.track.scoring_spec["metrics"] == list(spec.metrics)
    result = score(outputs.zip_path, gt_dir, spec)
    assert result.n_scored == len(phase.expected_images)
    assert set(result.aggregates) == set(info.scoring.metrics)

    submission = submission_create_baseline(phase=phase, method_name=method, zip_path=outputs.zip_path)
    job = submission.jobs.get()
    jobs.evaluation_job_run(job_id=job.pk, worker="contract-test")
    # A real worker left running by an earlier test of the session may have claimed the job first (it
    # was queued on commit): either way the row must end scored.
    submission = wait_for_submission(submission.pk, timeout=120)
    assert submission.status == "scored", submission.failure_reason
    [row] = [r for r in leaderboard_compute(phase=phase, use_cache=False).rows if r.method_name == method]
    assert row.is_reference and row.rank is None
    for metric in info.scoring.metrics:
        assert row.scores[metric] == pytest.approx(result.aggregates[metric], abs=1e-9), metric
    if not info.synthetic:
        # A task without synthetic data comes as organizer pairs: the bundle's `data:` form parses.
        bundle_parse(load_located(_bundle(info, "{inputs: dev/input, ground_truth: dev/gt}")), "b.yaml")
