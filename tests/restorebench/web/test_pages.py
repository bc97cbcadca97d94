"""The pages render what the platform's selectors allow: challenges, tracks and phases with UTC
times, leaderboards (ranked rows, baselines marked and unranked, hidden-phase rounding), submission
detail and history; another team's submission is 404; team and track pages call the services."""

import datetime as dt

import pytest
from rb_test_helpers import scored_submission
from restorebench.accounts.models import Team, TeamMembership, TrackEntry
from restorebench.challenges.services import challenge_create
from restorebench.submissions.models import ImageScore

from .conftest import table_rows

pytestmark = pytest.mark.django_db


def utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") + " UTC"


def test_home_lists_public_challenges_only(client, make_arena, make_user):
    arena = make_arena()
    hidden = challenge_create(slug="secret", title="Secret challenge", created_by=None, is_public=False)
    page = client.get("/").content.decode()
    assert arena.challenge.title in page and arena.track.title in page
    assert hidden.title not in page
    assert client.get("/challenges/secret/").status_code == 404


def test_home_names_every_task_of_the_table(client):
    from benchdata.tasks import list_tasks

    page = client.get("/").content.decode()
    for info in list_tasks():
        assert info.label in page, info.name


def test_challenge_page_states_phase_times_in_utc(client, make_arena):
    opens = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    arena = make_arena(starts_at=opens, ends_at=opens + dt.timedelta(days=4000), max_submissions_per_day=5)
    page = client.get(f"/challenges/{arena.challenge.slug}/").content.decode()
    assert "2026-03-01 00:30 UTC" == utc_text(opens)
    assert utc_text(opens) in page and utc_text(arena.phase.ends_at) in page
    assert "5/day" in page
    assert f"/phases/{arena.phase.pk}/leaderboard/" in page


def test_track_page_shows_the_degradation_scoring_and_rule(client, make_arena):
    arena = make_arena(metrics=("psnr", "ssim"))
    page = client.get(f"/tracks/{arena.track.pk}/").content.decode()
    assert "by psnr (higher is better), then ssim (higher is better)" in page
    assert "sigma" in page and "25" in page


def test_leaderboard_ranks_teams_and_marks_baselines_without_rank(client, make_arena, make_participant):
    arena = make_arena(images=1, metrics=("psnr", "ssim"))
    _, team_a = make_participant(arena)
    _, team_b = make_participant(arena)
    scored_submission(arena.phase, team_a, {"psnr": 28.123456, "ssim": 0.81}, method_name="net A")
    scored_submission(arena.phase, team_b, {"psnr": 30.5, "ssim": 0.85}, method_name="net B")
    scored_submission(arena.phase, None, {"psnr": 29.0, "ssim": 0.83}, method_name="bicubic")
    html = client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    header, *rows = table_rows(html, "leaderboard")
    assert header["cells"][:5] == ["Rank", "Team", "Method", "PSNR ↑", "SSIM ↑"]
    got = [(r["cells"][0], r["cells"][1], r["cells"][2], r["cells"][3], r["cells"][4]) for r in rows]
    assert got == [
        ("1", team_b.name, "net B", "30.5000", "0.8500"),
        ("–", "baseline", "bicubic", "29.0000", "0.8300"),
        ("2", team_a.name, "net A", "28.1235", "0.8100"),
    ]
    assert "reference" in rows[1]["class"]
    assert all(cell.endswith("UTC") for cell in (r["cells"][-1] for r in rows))
    # Each board exports itself; a single-board track's board is `main`.
    assert f'href="/api/phases/{arena.phase.pk}/leaderboards/main.json"' in html
    assert f'href="/api/phases/{arena.phase.pk}/leaderboards/main.csv"' in html


def test_hidden_phase_leaderboard_shows_only_rounded_scores_to_participants(
    client, make_arena, make_participant
):
    arena = make_arena(images=1, hidden_ground_truth=True, score_decimals=2)
    alice, team = make_participant(arena)
    scored_submission(arena.phase, team, {"psnr": 30.123456, "ssim": 0.876543})
    client.force_login(alice)
    html = client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    assert "30.12" in html and "0.88" in html
    assert "30.1234" not in html and "0.8765" not in html
    client.force_login(arena.organizer)
    assert "30.123456" in client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()


def test_a_leaderboard_that_is_not_public_shows_a_participant_only_their_row(
    client, make_arena, make_participant
):
    arena = make_arena(images=1, leaderboard_public=False)
    alice, team_a = make_participant(arena)
    _, team_b = make_participant(arena)
    scored_submission(arena.phase, team_a, {"psnr": 25.0, "ssim": 0.7}, method_name="mine")
    scored_submission(arena.phase, team_b, {"psnr": 31.0, "ssim": 0.9}, method_name="theirs")
    client.force_login(alice)
    html = client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    rows = table_rows(html, "leaderboard")[1:]
    assert [(r["cells"][0], r["cells"][2]) for r in rows] == [("–", "mine")]
    assert "theirs" not in html and "not public" in html


def test_submission_detail_is_for_the_team_and_404_for_another_team(client, make_arena, make_participant):
    arena = make_arena(images=2)
    alice, team_a = make_participant(arena)
    bob, _ = make_participant(arena)
    submission = scored_submission(arena.phase, team_a, {"psnr": 31.25, "ssim": 0.9})
    url = f"/submissions/{submission.pk}/"
    assert client.get(url).status_code == 302  # log in first
    client.force_login(bob)
    assert client.get(url).status_code == 404
    assert client.get(f"/submissions/{submission.pk + 1000}/").status_code == 404
    assert client.post(f"/submissions/{submission.pk}/choose/").status_code == 404
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "31.2500" in page and "Choose as representative" in page


def test_per_image_scores_are_shown_unless_the_ground_truth_is_hidden(client, make_arena, make_participant):
    from restorebench.submissions.models import EvaluationJob

    for hidden in (False, True):
        arena = make_arena(images=2, hidden_ground_truth=hidden)
        alice, team = make_participant(arena)
        submission = scored_submission(arena.phase, team, {"psnr": 30.0, "ssim": 0.9})
        job = EvaluationJob.objects.create(submission=submission, status="done", aggregates=submission.scores)
        submission.current_job = job
        submission.save(update_fields=["current_job"])
        for name, value in (("0000.png", 29.5), ("0001.png", 30.5)):
            ImageScore.objects.create(job=job, image_name=name, metric="psnr", value=value)
        client.force_login(alice)
        html = client.get(f"/submissions/{submission.pk}/").content.decode()
        rows = table_rows(html, "images")[1:]
        if hidden:
            assert rows == [] and "ground truth is hidden" in html
        else:
            assert [r["cells"][:2] for r in rows] == [["0000.png", "29.5000"], ["0001.png", "30.5000"]]


def test_a_failed_submission_shows_its_reason(client, make_arena, make_participant):
    arena = make_arena(images=1)
    alice, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, None)
    type(submission).objects.filter(pk=submission.pk).update(
        status="failed", failure_kind="participant", failure_reason="0000.png: wrong size"
    )
    client.force_login(alice)
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "could not be scored" in page and "0000.png: wrong size" in page
    assert "This attempt counts toward your submission limits." in page
    rows = type(submission).objects.filter(pk=submission.pk)
    rows.update(failure_kind="platform", counts_toward_limits=False)
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "This attempt does not count toward your submission limits." in page


def test_history_lists_the_teams_submissions_and_choosing_one_marks_it(client, make_arena, make_participant):
    arena = make_arena(images=1)
    alice, team = make_participant(arena)
    bob, other = make_participant(arena)
    first = scored_submission(arena.phase, team, {"psnr": 27.0, "ssim": 0.8}, method_name="first")
    second = scored_submission(arena.phase, team, {"psnr": 26.0, "ssim": 0.7}, method_name="second")
    scored_submission(arena.phase, other, {"psnr": 33.0, "ssim": 0.9}, method_name="bob's")
    client.force_login(alice)
    html = client.get("/submissions/").content.decode()
    assert [r["cells"][0] for r in table_rows(html, "history")[1:]] == [f"#{second.pk}", f"#{first.pk}"]
    assert "bob's" not in html
    response = client.post(f"/submissions/{second.pk}/choose/", {"next": "/submissions/"})
    assert response.status_code == 302 and response["Location"] == "/submissions/"
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.is_chosen, first.is_chosen) == (True, False)
    board = table_rows(client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode(), "leaderboard")
    assert [r["cells"][2] for r in board[1:] if r["cells"][1].startswith(team.name)] == ["second"]


def test_an_offsite_next_is_ignored(client, make_arena, make_participant):
    arena = make_arena(images=1)
    alice, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 27.0, "ssim": 0.8})
    client.force_login(alice)
    response = client.post(f"/submissions/{submission.pk}/choose/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/submissions/{submission.pk}/"


def test_signup_logs_in_and_refuses_a_taken_name(client, make_user):
    make_user("taken")
    response = client.post(
        "/accounts/signup/",
        {"username": "newcomer", "password": "long-enough-1", "password_again": "long-enough-1"},
    )
    assert response.status_code == 302
    assert "newcomer" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    again = client.post(
        "/accounts/signup/",
        {"username": "Taken", "password": "long-enough-1", "password_again": "long-enough-1"},
    )
    assert again.status_code == 200 and "is taken" in again.content.decode()
    short = client.post(
        "/accounts/signup/", {"username": "x2", "password": "short", "password_again": "short"}
    )
    assert "too short" in short.content.decode()


def test_login_and_logout_use_the_session(client, make_user):
    make_user("someone")
    response = client.post("/accounts/login/", {"username": "someone", "password": "pw-someone"})
    assert response.status_code == 302
    assert "Log out" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Log in" in client.get("/").content.decode()


def test_team_create_join_and_track_entry_from_the_pages(client, make_arena, make_user):
    arena = make_arena(images=1)
    alice, bob, carol = make_user(), make_user(), make_user()
    url = f"/challenges/{arena.challenge.slug}/team/"
    client.force_login(alice)
    assert client.post(url, {"action": "create", "name": "Deblurrers"}).status_code == 302
    team = Team.objects.get(challenge=arena.challenge, name="Deblurrers")
    page = client.get(url).content.decode()
    assert team.join_code in page
    client.post(f"/tracks/{arena.track.pk}/enter/")
    assert TrackEntry.objects.filter(team=team, track=arena.track).exists()

    client.force_login(bob)
    wrong = client.post(url, {"action": "join", "join_code": "nope"})
    assert "no team of this challenge has this join code" in wrong.content.decode()
    assert client.post(url, {"action": "join", "join_code": team.join_code}).status_code == 302
    assert TeamMembership.objects.filter(team=team, user=bob).exists()

    client.force_login(carol)
    client.post(url, {"action": "create", "name": "Solo"})
    # Carol is already in Solo: the page shows her team and creates no other.
    taken = client.post(url, {"action": "create", "name": "Second team"})
    assert "Team Solo" in taken.content.decode() and not Team.objects.filter(name="Second team").exists()
    client.force_login(make_user())
    dup = client.post(url, {"action": "create", "name": "DEBLURRERS"})
    assert "already exists" in dup.content.decode()


def test_phase_inputs_download_link_serves_the_zip_to_logged_in_users(
    client, make_arena, make_participant, settings
):
    import io
    import zipfile

    from rb_test_helpers import install_phase_data

    arena = make_arena(images=1)
    arena.phase = install_phase_data(arena.phase, inputs={"inputs/0000.png": b"png-bytes"})
    alice, _ = make_participant(arena)
    client.force_login(alice)
    page = client.get(f"/tracks/{arena.track.pk}/").content.decode()
    link = f"/api/phases/{arena.phase.pk}/inputs.zip"
    assert link in page
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(link).streaming_content)))
    assert archive.read("inputs/0000.png") == b"png-bytes"


def test_signup_shows_every_problem_at_once(client, make_user):
    make_user("taken")
    page = client.post(
        "/accounts/signup/", {"username": "taken", "password": "password", "password_again": "different"}
    ).content.decode()
    assert "is taken" in page
    assert "too common" in page
    assert "the two passwords differ" in page


def test_a_baseline_page_is_public_and_a_teams_page_asks_to_log_in(client, make_arena, make_participant):
    from rb_test_helpers import scored_submission

    arena = make_arena(images=1)
    baseline = scored_submission(arena.phase, None, {"psnr": 24.0, "ssim": 0.7}, method_name="bicubic")
    _, team = make_participant(arena)
    theirs = scored_submission(arena.phase, team, {"psnr": 26.0, "ssim": 0.8}, method_name="secret sauce")
    public = client.get(f"/submissions/{baseline.pk}/")
    assert public.status_code == 200
    assert "bicubic" in public.content.decode()
    private = client.get(f"/submissions/{theirs.pk}/")
    assert private.status_code == 302 and private["Location"].startswith("/accounts/login/")
    board = client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    assert f'href="/submissions/{baseline.pk}/"' in board
    assert f'href="/submissions/{theirs.pk}/"' not in board


def test_while_the_demo_fills_its_leaderboards_every_page_shows_how_many_baselines_are_left(
    client, settings, tmp_path, make_arena
):
    from restorebench.web import demo

    settings.VAR_DIR = tmp_path
    arena = make_arena(images=1)
    queued = scored_submission(arena.phase, None, None, method_name="bm3d")
    type(queued).objects.filter(pk=queued.pk).update(status="queued")
    demo.baseline_progress_write(restored=3, total=10)
    for path in ("/", f"/phases/{arena.phase.pk}/leaderboard/"):
        page = client.get(path).content.decode()
        assert 'id="demo-banner"' in page and "3 of 10 restored, 1 waiting to be scored" in page
    demo.baseline_progress_clear()
    assert 'id="demo-banner"' not in client.get("/").content.decode()


def test_track_and_team_pages_show_the_getting_started_commands(client, make_arena, make_participant):
    arena = make_arena(images=1)
    user, _ = make_participant(arena)
    client.force_login(user)
    track_page = client.get(f"/tracks/{arena.track.pk}/").content.decode()
    assert 'id="getting-started"' in track_page
    assert f"restorebench download {arena.phase.pk} --to {arena.phase.slug}" in track_page
    assert f"python manage.py restore --method identity --task {arena.track.task} --sigma 25" in track_page
    assert f"restorebench score results.zip --phase-dir {arena.phase.slug}" in track_page  # public GT
    assert f"restorebench submit {arena.phase.pk} results.zip" in track_page
    team_page = client.get(f"/challenges/{arena.challenge.slug}/team/").content.decode()
    assert f"restorebench submit {arena.phase.pk} results.zip" in team_page


def test_a_big_leaderboard_is_shown_a_page_at_a_time_and_points_to_your_row(
    client, make_arena, make_participant
):
    arena = make_arena(images=1)
    users = []
    for i in range(130):
        user, team = make_participant(arena)
        scored_submission(arena.phase, team, {"psnr": 40.0 - i / 10, "ssim": 0.5})
        users.append(user)
    client.force_login(users[120])  # ranked 121: on page 2
    first = client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    ranks = [r["cells"][0] for r in table_rows(first, "leaderboard")[1:]]
    assert ranks[0] == "1" and ranks[-1] == "100" and len(ranks) == 100
    assert "Your team is ranked 121" in first and "page=2" in first
    second = client.get(f"/phases/{arena.phase.pk}/leaderboard/?page=2").content.decode()
    ranks = [r["cells"][0] for r in table_rows(second, "leaderboard")[1:]]
    assert ranks[0] == "101" and ranks[-1] == "130"
    assert "Your team is ranked" not in second
    assert client.get(f"/phases/{arena.phase.pk}/leaderboard/?page=x").status_code == 200


def test_runtime_is_shown_in_seconds_per_image_everywhere(client, make_arena, make_participant):
    arena = make_arena(images=2, size=(500, 400))  # 0.2 megapixels per image
    user, team = make_participant(arena)
    _, other = make_participant(arena)
    reported = scored_submission(arena.phase, team, {"psnr": 30.0, "ssim": 0.9}, runtime_per_mp=2.5)
    scored_submission(
        arena.phase, other, {"psnr": 29.0, "ssim": 0.8}, kind="model", model_format="onnx", model_manifest={},
        model_seconds_per_image=0.125, model_parameters=1000, model_peak_memory_bytes=10**6,
    )  # fmt: skip
    client.force_login(user)
    page = client.get(f"/phases/{arena.phase.pk}/leaderboard/").content.decode()
    assert "Runtime (s/image)" in page and "s/MP" not in page
    rows = {r["cells"][1].split()[0]: r["cells"] for r in table_rows(page, "leaderboard")[1:]}
    header = table_rows(page, "leaderboard")[0]["cells"]
    column = header.index("Runtime (s/image)")
    assert rows[team.name][column] == "0.500*"  # 2.5 s/MP × 0.2 MP, as the team reported it
    assert rows[other.name][column] == "0.125"  # measured in the sandbox
    detail = client.get(f"/submissions/{reported.pk}/").content.decode()
    assert "0.500 s per image (reported)" in detail


def test_the_submit_form_takes_runtime_in_seconds_per_image(client, make_arena, make_participant):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from restorebench.submissions.models import Submission

    arena = make_arena(images=1, size=(500, 400))
    user, team = make_participant(arena)
    client.force_login(user)
    page = client.get(f"/phases/{arena.phase.pk}/submit/").content.decode()
    assert 'data-megapixels="0.2"' in page and "Runtime per image (seconds, optional)" in page
    client.post(
        f"/phases/{arena.phase.pk}/submit/",
        {
            "file": SimpleUploadedFile("r.zip", arena.submission_zip()),
            "method_name": "timed",
            "runtime": "0.5",
        },
    )
    assert Submission.objects.get(team=team).runtime_per_mp == pytest.approx(2.5)
