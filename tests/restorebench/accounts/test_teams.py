"""Teams: one team per participant per challenge (held by the database), joining by code, and entering
tracks of the team's own challenge only."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from restorebench.accounts.models import TeamMembership
from restorebench.accounts.selectors import team_for_user
from restorebench.accounts.services import team_create, team_join, track_enter, user_create

pytestmark = pytest.mark.django_db


def test_a_participant_is_in_at_most_one_team_per_challenge(make_arena, make_user):
    arena = make_arena(images=1)
    user = make_user()
    first = team_create(challenge=arena.challenge, name="first", user=user)
    with pytest.raises(ValidationError, match="already in team 'first'"):
        team_create(challenge=arena.challenge, name="second", user=user)
    other = team_create(challenge=arena.challenge, name="other", user=make_user())
    with pytest.raises(ValidationError, match="one team per challenge"):
        team_join(team=other, user=user, join_code=other.join_code)
    assert team_for_user(user=user, challenge=arena.challenge) == first


def test_the_database_itself_refuses_a_second_membership_in_one_challenge(make_arena, make_user):
    arena = make_arena(images=1)
    user = make_user()
    team_create(challenge=arena.challenge, name="first", user=user)
    second = team_create(challenge=arena.challenge, name="second", user=make_user())
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamMembership.objects.create(team=second, user=user, challenge=arena.challenge)


def test_the_same_participant_may_be_in_teams_of_different_challenges(make_arena, make_user):
    one, two = make_arena(images=1), make_arena(images=1)
    user = make_user()
    team_create(challenge=one.challenge, name="t", user=user)
    team_create(challenge=two.challenge, name="t", user=user)
    assert TeamMembership.objects.filter(user=user).count() == 2


def test_joining_needs_the_teams_code(make_arena, make_user):
    arena = make_arena(images=1)
    team = team_create(challenge=arena.challenge, name="t", user=make_user())
    with pytest.raises(ValidationError, match="does not match"):
        team_join(team=team, user=make_user(), join_code="guess")


def test_team_names_are_unique_in_a_challenge_ignoring_case(make_arena, make_user):
    arena = make_arena(images=1)
    team_create(challenge=arena.challenge, name="Restorers", user=make_user())
    with pytest.raises(ValidationError, match="already exists"):
        team_create(challenge=arena.challenge, name="restorers", user=make_user())


def test_a_team_enters_only_tracks_of_its_own_challenge(make_arena, make_user):
    one, two = make_arena(images=1), make_arena(images=1)
    team = team_create(challenge=one.challenge, name="t", user=make_user())
    assert track_enter(team=team, track=one.track) == track_enter(team=team, track=one.track)
    with pytest.raises(ValidationError, match="belongs to another challenge"):
        track_enter(team=team, track=two.track)


def test_sign_up_refuses_a_taken_name_and_a_short_password(make_user):
    make_user("taken")
    with pytest.raises(ValidationError, match="taken"):
        user_create(username="TAKEN", password="long-enough-pw")
    with pytest.raises(ValidationError) as error:
        user_create(username="fresh", password="short")
    assert "password" in error.value.message_dict
