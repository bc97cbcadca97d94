"""Sign-up refuses common passwords and passwords like the user name; a join code in any alphabet is
compared safely (a wrong one is a 400, never a 500)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "password", "why"),
    [
        ("newcomer", "password123", "too common"),
        ("marie.curie", "marie.curie1", "too similar"),
        ("numbers", "83920571649", "entirely numeric"),
    ],
)
def test_sign_up_refuses_a_weak_password_and_says_why(username, password, why):
    answer = APIClient().post(
        "/api/auth/signup/", {"username": username, "password": password}, format="json"
    )
    assert answer.status_code == 400
    assert why in " ".join(answer.json()["errors"]["password"])


def test_sign_up_page_refuses_a_common_password_with_the_reason():
    page = Client().post(
        "/accounts/signup/",
        {"username": "newcomer", "password": "password123", "password_again": "password123"},
    )
    assert page.status_code == 200
    assert b"too common" in page.content


def test_a_strong_password_is_accepted():
    answer = APIClient().post(
        "/api/auth/signup/", {"username": "newcomer", "password": "quartz-lantern-orbit"}, format="json"
    )
    assert answer.status_code == 201


@pytest.mark.parametrize("code", ['"ünïcödé"', '"日本語のコード"', '"\\ud800"'])
def test_a_non_ascii_join_code_is_a_clear_400(make_arena, make_participant, make_user, code):
    arena = make_arena(images=1)
    _, team = make_participant(arena)
    joiner = make_user()
    client = APIClient()
    client.force_authenticate(joiner)
    body = '{"join_code": ' + code + "}"  # raw JSON: a lone surrogate escape cannot be encoded client-side
    answer = client.post(f"/api/teams/{team.pk}/join/", body.encode(), content_type="application/json")
    assert answer.status_code == 400
    payload = answer.json()
    assert "join_code" in payload.get("errors", payload)  # the service's or the serializer's error shape


def test_the_team_page_refuses_a_non_ascii_join_code_with_a_message(make_arena, make_participant, make_user):
    arena = make_arena(images=1)
    make_participant(arena)
    client = Client()
    client.force_login(make_user())
    page = client.post(
        f"/challenges/{arena.challenge.slug}/team/", {"action": "join", "join_code": "ünïcödé"}
    )
    assert page.status_code == 200
    assert b"no team of this challenge has this join code" in page.content
