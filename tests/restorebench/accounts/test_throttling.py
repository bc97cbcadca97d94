"""Sign-in, token and sign-up attempts are counted per client address and per account name; past the
rate the answer is 429 with Retry-After, on the API and on the pages alike."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight(settings):
    settings.RESTOREBENCH_THROTTLE_LOGIN = "3/minute"
    settings.RESTOREBENCH_THROTTLE_SIGNUP = "2/hour"
    return settings


def _token(client: APIClient, username: str, password: str, address: str):
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def _retry_after(response) -> int:
    return int(response["Retry-After"])


def test_guessing_one_accounts_password_from_many_addresses_is_throttled(tight, make_user):
    victim = make_user("victim")
    client = APIClient()
    answers = [_token(client, "victim", f"guess-{i}", f"10.0.0.{i}").status_code for i in range(3)]
    assert answers == [400, 400, 400]
    blocked = _token(client, "VICTIM", "pw-victim", "10.0.0.99")
    assert blocked.status_code == 429
    assert 1 <= _retry_after(blocked) <= 60
    assert "token" not in blocked.json()
    # Another account from a fresh address is unaffected.
    make_user("bystander")
    assert _token(client, "bystander", "pw-bystander", "10.0.1.1").status_code == 200
    assert not Token.objects.filter(user=victim).exists()


def test_one_address_trying_many_accounts_is_throttled(tight, make_user):
    client = APIClient()
    for i in range(3):
        make_user(f"member{i}")
        assert _token(client, f"member{i}", "wrong", "192.0.2.7").status_code == 400
    make_user("member9")
    blocked = _token(client, "member9", "pw-member9", "192.0.2.7")
    assert blocked.status_code == 429
    assert _retry_after(blocked) >= 1
    assert _token(client, "member9", "pw-member9", "192.0.2.8").status_code == 200


def test_the_login_page_answers_429_with_retry_after_past_the_rate(tight, make_user):
    make_user("alice")
    for _ in range(3):
        page = Client().post(
            "/accounts/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.1"
        )
        assert page.status_code == 200  # the form again, with its error
    right = Client().post(
        "/accounts/login/", {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="198.51.100.2"
    )
    assert right.status_code == 429
    assert _retry_after(right) >= 1
    assert b"Too many attempts" in right.content
    assert "_auth_user_id" not in right.wsgi_request.session


def test_sign_up_is_throttled_per_address_on_the_api_and_the_page(tight):
    client = APIClient()
    for i in range(2):
        created = client.post(
            "/api/auth/signup/",
            {"username": f"newbie{i}", "password": "a-long-passphrase-9"},
            format="json",
            REMOTE_ADDR="203.0.113.5",
        )
        assert created.status_code == 201
    refused = client.post(
        "/api/auth/signup/",
        {"username": "newbie9", "password": "a-long-passphrase-9"},
        format="json",
        REMOTE_ADDR="203.0.113.5",
    )
    assert refused.status_code == 429
    assert _retry_after(refused) >= 60  # an hourly window
    page = Client().post(
        "/accounts/signup/",
        {"username": "newbie8", "password": "a-long-passphrase-9", "password_again": "a-long-passphrase-9"},
        REMOTE_ADDR="203.0.113.5",
    )
    assert page.status_code == 429
    assert _retry_after(page) >= 1
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username__in=["newbie9", "newbie8"]).exists()


def test_behind_a_trusted_proxy_a_forged_forwarded_for_does_not_reset_the_count(tight, settings, make_user):
    settings.RESTOREBENCH_TRUSTED_PROXIES = 1
    client = APIClient()
    for i in range(3):
        make_user(f"p{i}")
        answer = client.post(
            "/api/auth/token/",
            {"username": f"p{i}", "password": "wrong"},
            format="json",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 203.0.113.77",  # forged first entry, proxy-added last
        )
        assert answer.status_code == 400
    make_user("p9")
    blocked = client.post(
        "/api/auth/token/",
        {"username": "p9", "password": "wrong"},
        format="json",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.77",
    )
    assert blocked.status_code == 429


def test_a_malformed_rate_is_a_startup_error(settings):
    from django.core import checks

    settings.RESTOREBENCH_THROTTLE_LOGIN = "ten per minute"
    errors = [m for m in checks.run_checks(tags=[checks.Tags.security]) if m.id == "restorebench.E001"]
    assert len(errors) == 1
    assert "RESTOREBENCH_THROTTLE_LOGIN" in errors[0].msg
