"""Every API endpoint requires the right authentication: anonymous callers get 401 where an account
is needed, signed-in strangers get 403 for organizer actions and 404 for other teams' things; token
and session authentication both work, and a session needs its CSRF token to change anything."""

import uuid

import pytest
from django.urls import URLPattern, get_resolver
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create
from restorebench.submissions.models import Rescore, UploadSession
from restorebench.submissions.services import upload_session_create

pytestmark = pytest.mark.django_db

# (method, url template, anonymous status, stranger status). A stranger is signed in but neither an
# organizer of the challenge nor in the team that owns the object.
MATRIX = [
    ("post", "/api/auth/signup/", 400, 400),
    ("post", "/api/auth/token/", 400, 400),
    ("get", "/api/auth/me/", 401, 200),
    ("post", "/api/challenges/{slug}/teams/create/", 401, 400),
    ("get", "/api/challenges/{slug}/teams/mine/", 401, 404),
    ("post", "/api/teams/{team}/join/", 401, 400),
    ("post", "/api/teams/{team}/tracks/enter/", 401, 404),
    ("get", "/api/challenges/", 200, 200),
    ("post", "/api/challenges/create/", 401, 403),
    ("get", "/api/challenges/{slug}/", 200, 200),
    ("patch", "/api/challenges/{slug}/update/", 401, 403),
    ("post", "/api/challenges/{slug}/organizers/add/", 401, 403),
    ("get", "/api/challenges/{slug}/audit-log/", 401, 403),
    ("post", "/api/challenges/{slug}/tracks/create/", 401, 403),
    ("get", "/api/challenges/{slug}/evaluation-problems/", 401, 403),
    ("get", "/api/tracks/{track}/", 200, 200),
    ("patch", "/api/tracks/{track}/update/", 401, 403),
    ("post", "/api/tracks/{track}/phases/create/", 401, 403),
    ("get", "/api/phases/{phase}/", 200, 200),
    ("patch", "/api/phases/{phase}/update/", 401, 403),
    ("get", "/api/phases/{phase}/inputs.zip", 401, 200),
    ("get", "/api/phases/{phase}/ground-truth.zip", 401, 200),  # a development phase: public
    ("get", "/api/phases/{phase}/scoring-spec.json", 200, 200),
    ("post", "/api/phases/{phase}/data/", 401, 403),
    ("post", "/api/phases/{phase}/submissions/create/", 401, 400),
    ("post", "/api/phases/{phase}/submissions/model/", 401, 400),
    ("get", "/api/phases/{phase}/submissions/", 401, 403),
    ("post", "/api/phases/{phase}/uploads/create/", 401, 400),
    ("post", "/api/phases/{phase}/rescore/", 401, 403),
    ("get", "/api/phases/{phase}/identical/", 401, 403),
    ("get", "/api/submissions/", 401, 200),
    ("get", "/api/submissions/{submission}/", 401, 404),
    ("get", "/api/submissions/{submission}/scores/", 401, 404),
    ("post", "/api/submissions/{submission}/choose/", 401, 404),
    ("post", "/api/submissions/{submission}/cancel/", 401, 404),
    ("post", "/api/submissions/{submission}/disqualify/", 401, 404),
    ("get", "/api/uploads/{upload}/", 401, 404),
    ("put", "/api/uploads/{upload}/chunk/?offset=0", 401, 404),
    ("post", "/api/uploads/{upload}/complete/", 401, 404),
    ("post", "/api/uploads/{upload}/abort/", 401, 404),
    ("get", "/api/rescores/{rescore}/", 401, 404),
    ("get", "/api/phases/{phase}/leaderboard/", 200, 200),
    ("get", "/api/phases/{phase}/leaderboard.csv", 200, 200),
    ("get", "/api/phases/{phase}/leaderboards/", 200, 200),
    ("get", "/api/phases/{phase}/reveal/", 401, 403),
    ("get", "/api/phases/{phase}/documents/", 401, 200),
    ("post", "/api/phases/{phase}/documents/", 401, 400),
    ("get", "/api/tracks/{track}/report.{fmt}", 401, 403),
    ("post", "/api/phases/{phase}/reveal/", 401, 403),
    ("get", "/api/phases/{phase}/leaderboards/{board}/", 200, 200),
    ("get", "/api/phases/{phase}/leaderboards/{board}/confidence/", 200, 200),
    ("get", "/api/phases/{phase}/leaderboards/{board}.csv", 200, 200),
    ("get", "/api/phases/{phase}/leaderboards/{board}.json", 200, 200),
]


@pytest.fixture
def world(make_arena, make_participant, make_user, platform_dirs):
    from rb_test_helpers import install_phase_data, png_bytes, scored_submission

    arena = make_arena(images=1)
    inputs = {name: png_bytes(array // 2) for name, array in arena.ground_truth.items()}
    arena.phase = install_phase_data(arena.phase, inputs=inputs)
    owner, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 30.0, "ssim": 0.9})
    upload = upload_session_create(
        phase=arena.phase, user=owner, filename="a.zip", total_bytes=10, sha256="1" * 64
    )
    rescore = Rescore.objects.create(phase=arena.phase, requested_by=arena.organizer)
    ids = {
        "slug": arena.challenge.slug,
        "team": team.pk,
        "track": arena.track.pk,
        "phase": arena.phase.pk,
        "submission": submission.pk,
        "upload": upload.pk,
        "rescore": rescore.pk,
        "board": "main",
        "fmt": "csv",
    }
    return arena, ids, make_user("stranger")


def _call(client, method, url, ids):
    multipart = ("/submissions/create/", "/submissions/model/", "/documents/")
    body_format = "multipart" if url.endswith(multipart) else "json"
    return getattr(client, method)(url.format(**ids), {}, format=body_format)


@pytest.mark.parametrize(
    ("method", "url", "anonymous", "stranger"), MATRIX, ids=[f"{m} {u}" for m, u, *_ in MATRIX]
)
def test_each_endpoint_answers_anonymous_and_stranger_callers_as_it_should(
    world, method, url, anonymous, stranger
):
    _, ids, stranger_user = world
    assert _call(APIClient(), method, url, ids).status_code == anonymous
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=stranger_user).key}")
    assert _call(client, method, url, ids).status_code == stranger


def test_anonymous_401_names_the_token_scheme(world):
    response = APIClient().get("/api/auth/me/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


CONVERTERS = [
    ("<slug:slug>", "{slug}"),
    ("<int:team_id>", "{team}"),
    ("<int:track_id>", "{track}"),
    ("<int:phase_id>", "{phase}"),
    ("<int:submission_id>", "{submission}"),
    ("<uuid:upload_id>", "{upload}"),
    ("<int:rescore_id>", "{rescore}"),
    ("<slug:board>", "{board}"),
    ("<str:fmt>", "{fmt}"),
]


def test_the_matrix_covers_every_api_endpoint():
    from restorebench import api_urls

    covered = {url.split("?")[0] for _, url, *_ in MATRIX}
    declared = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        for converter, name in CONVERTERS:
            route = route.replace(converter, name)
        declared.add("/api/" + route)
    assert declared == covered
    assert get_resolver().resolve("/api/schema/")


def test_session_authentication_works_and_needs_the_csrf_token_to_change_things(world, make_user):
    arena, ids, _ = world
    user = make_user("sessionuser")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="sessionuser", password="pw-sessionuser")
    assert client.get("/api/auth/me/").json()["username"] == "sessionuser"
    refused = client.post(
        f"/api/challenges/{arena.challenge.slug}/teams/create/", {"name": "x"}, format="json"
    )
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert user.team_memberships.count() == 0


def test_a_token_is_obtained_with_username_and_password_and_signup_returns_one(world):
    client = APIClient()
    created = client.post(
        "/api/auth/signup/", {"username": "newbie", "password": "long-enough-pw"}, format="json"
    )
    assert created.status_code == 201
    token = client.post(
        "/api/auth/token/", {"username": "newbie", "password": "long-enough-pw"}, format="json"
    )
    assert token.json()["token"] == created.json()["token"]
    wrong = client.post("/api/auth/token/", {"username": "newbie", "password": "nope"}, format="json")
    assert wrong.status_code == 400


def test_the_openapi_schema_is_served_and_lists_the_api(world):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/phases/{phase_id}/leaderboard/" in paths and "/api/uploads/{upload_id}/chunk/" in paths


def test_an_unknown_upload_id_is_404(world):
    client = APIClient()
    client.force_authenticate(UploadSession.objects.first().user)
    assert client.get(f"/api/uploads/{uuid.uuid4()}/").status_code == 404
