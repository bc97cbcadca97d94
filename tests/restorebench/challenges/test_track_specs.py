"""A track's degradation and scoring specs have one validator: the same bad spec gets the same message
from the bundle loader (at its line) and from track_create (the API's service), on its field."""

import json

import pytest
from django.core.exceptions import ValidationError
from restorebench.bundles.schema import BundleError, bundle_parse
from restorebench.bundles.source import load_located
from restorebench.challenges.services import challenge_create, track_create, track_update

BUNDLE = """\
format: 1
challenge: {{slug: specs, title: Specs}}
tracks:
  - slug: t
    title: T
    task: {task}
    degradation: {degradation}
    scoring: {scoring}
    data: {{dataset: starter}}
    phases:
      - {{slug: dev, title: Dev, split: val, starts_at: 2020-01-01T00:00:00Z, ends_at: 2099-01-01T00:00:00Z}}
"""

# (task, degradation, scoring, the field at fault, words of the message)
BAD = [
    ("denoise", {"sigma": -3}, {"metrics": ["psnr"], "ranking_metric": "psnr"}, "degradation", "sigma"),
    ("denoise", {"task": "deblur", "sigma": 2}, {"metrics": ["psnr"]}, "degradation", "must be 'denoise'"),
    ("sr", {"scale": 4}, {"metrics": ["psnr"], "scale": 2}, "scoring", "degradation's scale is 4"),
    ("denoise", {"sigma": 25}, {"metrics": ["psnr", "niqe"], "ground_truth": False}, "scoring", "need gr"),
    ("denoise", {"sigma": 25}, {"metrics": ["psnr"], "shave": -1}, "scoring", "spec.shave"),
]


def _bundle_message(task: str, degradation: dict, scoring: dict) -> tuple[str, str]:
    text = BUNDLE.format(task=task, degradation=json.dumps(degradation), scoring=json.dumps(scoring))
    with pytest.raises(BundleError) as caught:
        bundle_parse(load_located(text), "b.yaml")
    # (a track without ground truth fed by a dataset has a data problem too: not this test's subject)
    (problem,) = [p for p in caught.value.problems if p.path[2:3] in (("degradation",), ("scoring",))]
    return problem.path[2], problem.message


@pytest.mark.django_db
@pytest.mark.parametrize(("task", "degradation", "scoring", "field", "words"), BAD)
def test_the_same_bad_spec_gets_the_same_message_from_the_bundle_and_from_track_create(
    task, degradation, scoring, field, words, make_user
):
    bundle_field, bundle_message = _bundle_message(task, degradation, scoring)
    challenge = challenge_create(slug="specs", title="Specs", created_by=make_user())
    with pytest.raises(ValidationError) as caught:
        track_create(
            challenge=challenge,
            slug="t",
            title="T",
            task=task,
            degradation_spec=degradation,
            scoring_spec=scoring,
            ranking_metrics=["psnr"],
        )
    (service_field,) = caught.value.message_dict
    assert (bundle_field, service_field) == (field, f"{field}_spec")
    assert caught.value.message_dict[service_field] == [bundle_message]
    assert words in bundle_message


@pytest.mark.django_db
def test_track_update_checks_a_changed_spec_with_the_same_validator(make_user):
    challenge = challenge_create(slug="specs", title="Specs", created_by=make_user())
    track = track_create(challenge=challenge, slug="t", title="T", task="denoise", ranking_metrics=["psnr"])
    _, message = _bundle_message("denoise", {"sigma": -3}, {"metrics": ["psnr"]})
    with pytest.raises(ValidationError) as caught:
        track_update(track=track, actor=None, degradation_spec={"sigma": -3})
    assert caught.value.message_dict == {"degradation_spec": [message]}
