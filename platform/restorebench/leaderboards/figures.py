"""The data behind a phase's figures, as the viewer may see it (see `plots` for the drawing)."""

from collections import defaultdict

from restorebench.accounts.selectors import team_for_user
from restorebench.challenges.models import Phase
from restorebench.challenges.selectors import user_is_organizer
from restorebench.challenges.track_efficiency import track_reference_input
from restorebench.leaderboards import plots
from restorebench.leaderboards.selectors import leaderboard_compute, leaderboard_for_viewer
from restorebench.submissions.models import ImageScore, Submission


def _label(row) -> str:
    return row.method_name or "(unnamed)" if row.is_reference else (row.team_name or "?")


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def phase_figures(*, phase: Phase, user=None) -> list[dict]:
    """[{"title", "svg", "note"}] for the phase, drawn from what `user` may see (None: everything, as
    organizers see it — the challenge report)."""
    board = (
        leaderboard_compute(phase=phase) if user is None else leaderboard_for_viewer(phase=phase, user=user)
    )
    rows = [row for row in board.rows if row.scores]
    figures = []
    metrics = [m for m in board.metrics if any(_number(r.scores.get(m)) is not None for r in rows)]
    fidelity = next((m for m in plots.FIDELITY if m in metrics), None)
    perceptual = next((m for m in plots.PERCEPTUAL if m in metrics), None)
    second = perceptual or next((m for m in metrics if m != fidelity), None)
    if fidelity and second:
        points = [
            plots.Point(_label(r), _number(r.scores[fidelity]), _number(r.scores[second]), r.is_reference)
            for r in rows
            if _number(r.scores.get(fidelity)) is not None and _number(r.scores.get(second)) is not None
        ]
        if points:
            note = f"{fidelity} against {second}; the dashed line joins the entries no other beats on both."
            svg = plots.perception_distortion_svg(points, fidelity, second)
            figures.append({"title": "Perception–distortion plane", "svg": svg, "note": note})
    primary = metrics[0] if metrics else None
    models = [r for r in rows if r.kind == "model" and primary and _number(r.scores.get(primary)) is not None]
    size = board.reference_input or list(track_reference_input(phase.track))
    quantities = (
        ("seconds per image", "seconds_per_image", 1.0),
        ("parameters", "parameters", 1.0),
        (f"GFLOPs at a {size[0]}×{size[1]} input", "flops", 1e9),
    )
    for quantity, attribute, unit in quantities:
        points = [
            plots.Point(_label(r), getattr(r, attribute) / unit, _number(r.scores[primary]), r.is_reference)
            for r in models
            if getattr(r, attribute)
        ]
        if points:
            figures.append({"title": f"{primary} against {quantity}", "note": "Model entries, log axis.",
                            "svg": plots.efficiency_svg(points, primary, quantity)})  # fmt: skip
    organizer = user is None or user_is_organizer(user=user, challenge=phase.track.challenge_id)
    if primary and (organizer or not phase.hidden_ground_truth):
        per_entry = _per_image(rows, primary)
        if per_entry:
            svg = plots.distributions_svg(per_entry, primary)
            note = "Boxes: quartiles; whiskers: 1.5 IQR; triangles: means."
            figures.append({"title": f"Per-image {primary}", "svg": svg, "note": note})
    history = _history(phase, user, organizer, primary)
    if history:
        note = "Every team's scored submissions." if organizer else "Your team's scored submissions."
        svg = plots.history_svg(history, primary)
        figures.append({"title": "Submissions over time", "svg": svg, "note": note})
    return figures


def _per_image(rows, metric: str) -> dict[str, list[float]]:
    by_submission = {r.submission_id: _label(r) for r in rows}
    jobs = dict(Submission.objects.filter(pk__in=by_submission).values_list("current_job_id", "id"))
    values: dict[str, list[float]] = defaultdict(list)
    scores = ImageScore.objects.filter(job_id__in=[j for j in jobs if j], metric=metric)
    for job_id, value in scores.values_list("job_id", "value"):
        values[by_submission[jobs[job_id]]].append(value)
    return dict(values)


def _history(phase: Phase, user, organizer: bool, metric: str | None) -> dict[str, list[tuple]]:
    if metric is None:
        return {}
    submissions = Submission.objects.filter(phase=phase, status="scored", is_reference=False)
    if not organizer:
        team = team_for_user(user=user, challenge=phase.track.challenge_id) if user.is_authenticated else None
        if team is None:
            return {}
        submissions = submissions.filter(team=team)
    series: dict[str, list[tuple]] = defaultdict(list)
    for team_name, created, scores in submissions.values_list("team__name", "created_at", "scores"):
        value = _number((scores or {}).get(metric))
        if value is not None:
            series[team_name].append((created, value))
    return dict(series)
