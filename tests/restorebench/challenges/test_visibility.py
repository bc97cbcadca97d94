"""Who sees what, read one object at a time: each get (challenge, track, phase, submission) agrees
with the listing rule (`challenge_list`: public challenges, plus those the viewer organizes; a
superuser organizes all) for every kind of viewer, on a public and on a private challenge."""

import pytest
from django.contrib.auth.models import AnonymousUser
from restorebench.challenges.selectors import challenge_get, challenge_list, phase_get, track_get
from restorebench.submissions.models import Submission
from restorebench.submissions.selectors import submission_get

pytestmark = pytest.mark.django_db


def _submission(arena, *, team=None, user=None, reference: bool = False) -> Submission:
    return Submission.objects.create(
        phase=arena.phase, team=team, submitted_by=user or arena.organizer, method_name="m",
        archive_path="submissions/none.zip", archive_bytes=1, sha256="0" * 64,
        content_fingerprint=f"visibility-{reference}-{team and team.pk}", image_count=1,
        status="scored", scores={"psnr": 30.0}, is_reference=reference,
    )  # fmt: skip


@pytest.fixture
def world(make_arena, make_participant, make_user):
    public, private = make_arena(), make_arena()
    private.challenge.is_public = False
    private.challenge.save(update_fields=["is_public"])
    viewers = {"anonymous": AnonymousUser(), "outsider": make_user()}
    viewers["superuser"] = make_user(is_superuser=True)
    submissions = {}
    for name, arena in (("public", public), ("private", private)):
        member, team = make_participant(arena)
        viewers[f"member of {name}"] = member
        viewers[f"organizer of {name}"] = arena.organizer
        submissions[name] = {
            "team": _submission(arena, team=team, user=member),
            "reference": _submission(arena, reference=True),
        }
    return {"public": public, "private": private}, viewers, submissions


def test_each_get_agrees_with_the_listing_for_every_viewer(world):
    arenas, viewers, _ = world
    for who, user in viewers.items():
        listed = set(challenge_list(user=user))
        for name, arena in arenas.items():
            expected = arena.challenge in listed
            assert (name == "public" or who in ("superuser", "organizer of private")) == expected, who
            assert (challenge_get(user=user, slug=arena.challenge.slug) is not None) == expected, (who, name)
            assert (track_get(user=user, track_id=arena.track.pk) is not None) == expected, (who, name)
            assert (phase_get(user=user, phase_id=arena.phase.pk) is not None) == expected, (who, name)
    assert phase_get(user=viewers["superuser"], phase_id=10**9) is None


def test_a_submission_is_its_teams_and_organizers_and_a_baseline_anyones_who_sees_the_challenge(world):
    arenas, viewers, submissions = world
    for who, user in viewers.items():
        for name in arenas:
            team_sees = who in ("superuser", f"member of {name}", f"organizer of {name}")
            reference_sees = name == "public" or who in ("superuser", "organizer of private")
            for kind, sees in (("team", team_sees), ("reference", reference_sees)):
                found = submission_get(user=user, submission_id=submissions[name][kind].pk)
                assert (found is not None) == sees, (who, name, kind)
