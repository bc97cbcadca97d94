"""The phase's figures, rendered on the server as inline SVG: the perception–distortion plane with its
Pareto front, efficiency for model entries, per-image distributions (never from hidden ground truth for
participants) and submissions over time (a participant sees their own team's only)."""

import pytest
from rb_test_helpers import scored_submission
from restorebench.leaderboards.plots import Point, pareto_front
from restorebench.submissions.models import EvaluationJob, ImageScore, Submission

pytestmark = pytest.mark.django_db


def test_the_pareto_front_keeps_exactly_the_undominated_points():
    points = [Point("a", 30, 0.30), Point("b", 28, 0.20), Point("c", 27, 0.25), Point("d", 31, 0.35),
              Point("e", 26, 0.19), Point("f", 29, 0.40)]  # fmt: skip
    front = pareto_front(points, x_higher=True, y_higher=False)  # PSNR up, LPIPS down
    assert [p.label for p in front] == ["e", "b", "a", "d"]


def _with_images(phase, team, values, name):
    s = scored_submission(phase, team, {"psnr": sum(values) / len(values), "lpips": 0.2}, method_name=name)
    job = EvaluationJob.objects.create(submission=s, status="done", attempts=1)
    Submission.objects.filter(pk=s.pk).update(current_job=job)
    ImageScore.objects.bulk_create(
        [ImageScore(job=job, image_name=f"{i}.png", metric="psnr", value=v) for i, v in enumerate(values)]
    )
    return s


def test_the_plots_page_draws_every_figure_inline_and_escapes_names(client, make_arena, make_participant):
    arena = make_arena(images=1, metrics=("psnr", "lpips"))
    user, team = make_participant(arena)
    team.name = "<script>alert(1)</script>--><img src=x onerror=alert(2)>"
    team.save()
    _with_images(arena.phase, team, [30.0, 31.0, 29.0], "mine")
    _, other = make_participant(arena)
    _with_images(arena.phase, other, [28.0, 29.0, 27.5], "theirs")
    scored_submission(arena.phase, None, {"psnr": 25.0, "lpips": 0.4}, method_name="bicubic")
    client.force_login(user)
    page = client.get(f"/phases/{arena.phase.pk}/plots/").content.decode()
    for title in ("Perception–distortion plane", "Per-image psnr", "Submissions over time"):
        assert title in page
    assert page.count("<svg") == 3
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "Your team&#x27;s scored submissions." in page or "Your team's scored submissions." in page


def test_participants_of_a_hidden_phase_get_no_per_image_figure(client, make_arena, make_participant):
    arena = make_arena(images=1, metrics=("psnr", "lpips"), hidden_ground_truth=True)
    user, team = make_participant(arena)
    _with_images(arena.phase, team, [30.0, 31.0], "mine")
    client.force_login(user)
    assert "Per-image psnr" not in client.get(f"/phases/{arena.phase.pk}/plots/").content.decode()
    client.force_login(arena.organizer)
    assert "Per-image psnr" in client.get(f"/phases/{arena.phase.pk}/plots/").content.decode()
