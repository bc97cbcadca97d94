"""The pages the load benchmark reads (bench/locust_load.py) cost a small, fixed number of queries
however many teams a leaderboard has; an anonymous visitor's requests never touch the session table,
and a signed-in reader's requests never write to it."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rb_test_helpers import scored_submission

pytestmark = pytest.mark.django_db

# Warm requests (caches filled), signed in with a database session: the session and the user are the
# first two queries of each.
SIGNED_IN_AT_MOST = {
    "home": 4,
    "challenge list api": 3,
    "challenge": 8,
    "leaderboard page": 7,
    "leaderboard api": 5,
    "my submissions": 3,
    "submission": 6,
}
ANONYMOUS_AT_MOST = {
    "home": 2,
    "challenge list api": 1,
    "challenge": 3,
    "leaderboard page": 3,
    "leaderboard api": 2,
    "my submissions": 0,  # a redirect to the sign-in page
    "submission": 1,  # a redirect to the sign-in page
}


def _site(make_arena, make_participant, teams: int):
    arena = make_arena(images=1)
    user, mine = make_participant(arena)
    own = scored_submission(arena.phase, mine, {"psnr": 24.0, "ssim": 0.7})
    for n in range(teams):
        _, team = make_participant(arena)
        for k in range(2):
            scored_submission(arena.phase, team, {"psnr": 20.0 + n + k / 10, "ssim": 0.5})
    scored_submission(arena.phase, None, {"psnr": 22.0, "ssim": 0.6}, method_name="bm3d")
    pages = {
        "home": "/",
        "challenge list api": "/api/challenges/",
        "challenge": f"/challenges/{arena.challenge.slug}/",
        "leaderboard page": f"/phases/{arena.phase.pk}/leaderboard/",
        "leaderboard api": f"/api/phases/{arena.phase.pk}/leaderboard/",
        "my submissions": "/submissions/",
        "submission": f"/submissions/{own.pk}/",
    }
    return user, pages


def _warm_queries(client: Client, url: str) -> list[str]:
    client.get(url)  # fills the caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code in (200, 302)
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("who", ["signed in", "anonymous"])
def test_each_page_costs_a_fixed_small_number_of_queries_whatever_the_number_of_teams(
    make_arena, make_participant, who
):
    counts = []
    for teams in (2, 9):
        user, pages = _site(make_arena, make_participant, teams)
        client = Client()
        if who == "signed in":
            client.force_login(user)
        counts.append({name: len(_warm_queries(client, url)) for name, url in pages.items()})
    assert counts[0] == counts[1]
    bounds = SIGNED_IN_AT_MOST if who == "signed in" else ANONYMOUS_AT_MOST
    assert {name: n for name, n in counts[0].items() if n > bounds[name]} == {}


def test_anonymous_requests_never_read_or_write_a_session(make_arena, make_participant):
    _, pages = _site(make_arena, make_participant, 2)
    client = Client()
    for url in pages.values():
        assert not [sql for sql in _warm_queries(client, url) if "django_session" in sql]
        assert "sessionid" not in client.cookies


def test_signed_in_reads_never_write_the_session(make_arena, make_participant):
    user, pages = _site(make_arena, make_participant, 2)
    client = Client()
    client.force_login(user)
    for url in pages.values():
        writes = [
            sql for sql in _warm_queries(client, url) if "django_session" in sql and "SELECT" not in sql
        ]
        assert writes == []


def test_the_challenge_page_costs_the_same_queries_with_one_track_or_three(make_arena, make_participant):
    import datetime as dt

    from django.utils import timezone
    from restorebench.challenges.services import phase_create, track_create

    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    client = Client()
    client.force_login(user)
    url = f"/challenges/{arena.challenge.slug}/"
    one = len(_warm_queries(client, url))
    now = timezone.now()
    for n in (2, 3):
        track = track_create(
            challenge=arena.challenge, slug=f"t{n}", title=f"Track {n}", task="denoise",
            degradation_spec={"task": "denoise", "sigma": 25}, ranking_metrics=[{"metric": "psnr"}],
            scoring_spec={"metrics": ["psnr"], "ranking_metric": "psnr"}, actor=arena.organizer,
        )  # fmt: skip
        for k in (1, 2):
            phase_create(
                track=track, slug=f"p{k}", title=f"Phase {k}", starts_at=now - dt.timedelta(days=k),
                ends_at=now + dt.timedelta(days=k), actor=arena.organizer,
            )  # fmt: skip
    response = client.get(url)
    assert response.content.decode().count("Phase 2") == 2  # every track's phases are on the page
    assert len(_warm_queries(client, url)) == one
