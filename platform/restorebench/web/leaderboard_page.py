"""The leaderboard page.

Rendering a hundred table rows is most of the page's cost, and the rows are the same for every viewer
of one class (`leaderboard_view_key`: the challenge's organizers, or everyone else on a public board).
So a page of rows is rendered once per phase version, viewer class and page number and kept in the
cache; a request adds only what is its own: its team's row, marked and linked, rendered again, and
where that row is when it is on another page. A board that is not public (each team sees its own row
only) is rendered per request.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from restorebench.accounts.selectors import team_for_user
from restorebench.challenges.models import Phase
from restorebench.challenges.selectors import phase_get, user_is_organizer
from restorebench.leaderboards.confidence import board_confidence_if_cheap, confidence_cached
from restorebench.leaderboards.selectors import Leaderboard, LeaderboardRow, leaderboard_for_viewer
from restorebench.leaderboards.single_flight import cache_get_or_compute
from restorebench.leaderboards.versions import (
    LEADERBOARD_CACHE_SECONDS,
    leaderboard_cache_key,
    leaderboard_view_key,
)
from restorebench.web import selectors

LEADERBOARD_PAGE_ROWS = 100


def _int_or(value: str | None, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _metric_directions(ranking: dict) -> dict[str, bool]:
    return {m["metric"]: m["higher_is_better"] for m in ranking.get("metrics", [])}


def _row_html(
    row: LeaderboardRow,
    *,
    board: Leaderboard,
    mine: bool,
    organizer: bool,
    confidence: dict[int, dict],
    has_confidence: bool,
    megapixels: float | None,
    has_models: bool,
) -> str:
    item = {
        "row": row,
        "values": [row.scores.get(metric) for metric in board.metrics],
        "mine": mine,
        "linked": row.is_reference or mine,
        "confidence": confidence.get(row.submission_id),
        "runtime": selectors.seconds_per_image(
            measured=row.seconds_per_image, reported_per_mp=row.runtime_per_mp, megapixels=megapixels
        ),
    }
    context = {
        "item": item,
        "board": board,
        "has_confidence": has_confidence,
        "has_models": has_models,
        "is_organizer": organizer,
        "decimals": board.rounded_to if board.rounded_to is not None else 4,
    }
    return get_template("web/_leaderboard_row.html").render(context)


def _rendered(
    phase: Phase, board: Leaderboard, page: int, *, organizer: bool, version: str, mine: int | None
) -> dict:
    """One page of `board`'s rows as HTML (each row unmarked, or marked as the team `mine`'s), with
    what the page says about the board (its rows dropped), where each team's row is, and what it
    takes to render a team's row of this page again (`_with_my_row`)."""
    confidence = board_confidence_if_cheap(phase=phase, board=board, version=version)
    megapixels = selectors.phase_megapixels_per_image(phase=phase)
    pages = max(1, -(-len(board.rows) // LEADERBOARD_PAGE_ROWS))
    page = min(max(1, page), pages)
    first = (page - 1) * LEADERBOARD_PAGE_ROWS
    shown = board.rows[first : first + LEADERBOARD_PAGE_ROWS]
    summary = Leaderboard(**{**vars(board), "rows": []})
    render = {
        "board": summary,
        "organizer": organizer,
        "megapixels": megapixels,
        "has_models": board.has_models,
        "has_confidence": bool(confidence),
        "confidence": {
            row.submission_id: confidence[row.submission_id]
            for row in shown
            if row.submission_id in confidence
        },
    }
    where = {}
    for index, row in enumerate(board.rows):
        if row.team_id is not None:
            where.setdefault(row.team_id, (row.rank, index // LEADERBOARD_PAGE_ROWS + 1, index - first))
    return {
        "board": summary,
        "page": page,
        "pages": pages,
        "rows": [_row_html(row, mine=mine is not None and row.team_id == mine, **render) for row in shown],
        "team_rows": {row.team_id: row for row in shown if row.team_id is not None},
        "where": where,
        "render": render,
        "has_models": render["has_models"],
        "has_confidence": render["has_confidence"],
    }


def leaderboard(request: HttpRequest, phase_id: int) -> HttpResponse:
    phase = phase_get(user=request.user, phase_id=phase_id)
    if phase is None:
        raise Http404
    slug = request.GET.get("board")
    page = _int_or(request.GET.get("page"), 1)
    organizer = user_is_organizer(user=request.user, challenge=phase.track.challenge_id)
    version = leaderboard_cache_key(phase)
    view_key = leaderboard_view_key(
        phase=phase, user=request.user, board=slug, version=version, organizer=organizer
    )
    my_team = team_for_user(user=request.user, challenge=phase.track.challenge_id)
    mine = my_team.pk if my_team is not None else None

    def board_shown() -> Leaderboard:
        try:
            return leaderboard_for_viewer(
                phase=phase, user=request.user, board=slug, version=version, organizer=organizer
            )
        except KeyError:
            raise Http404("no such leaderboard") from None

    if view_key is None:  # the viewer's own view: nothing to share
        done = _rendered(phase, board_shown(), page, organizer=organizer, version=version, mine=mine)
    else:
        # Whether rank confidence is ready changes the rows without changing the phase's version.
        key = f"{view_key}:page:{page}:{confidence_cached(phase=phase, version=version)}"
        done = cache_get_or_compute(
            key,
            lambda: _rendered(phase, board_shown(), page, organizer=organizer, version=version, mine=None),
            LEADERBOARD_CACHE_SECONDS,
        )
        if mine in done["team_rows"]:
            done = _with_my_row(done, mine)
    return render(request, "web/leaderboard.html", _context(request, phase, done, mine, organizer))


def _with_my_row(done: dict, mine: int) -> dict:
    """`done` with the viewer's team's row rendered again, marked as theirs (and linked)."""
    rows = list(done["rows"])
    rows[done["where"][mine][2]] = _row_html(done["team_rows"][mine], mine=True, **done["render"])
    return {**done, "rows": rows}


def _context(request: HttpRequest, phase: Phase, done: dict, mine: int | None, organizer: bool) -> dict:
    board = done["board"]
    directions = _metric_directions(board.ranking)
    elsewhere = None
    if mine in done["where"] and done["where"][mine][1] != done["page"]:
        rank, page, _ = done["where"][mine]
        elsewhere = {"rank": rank, "page": page}
    return {
        "page": done["page"],
        "pages": range(1, done["pages"] + 1) if done["pages"] > 1 else None,
        "my_row_elsewhere": elsewhere,
        "phase": phase,
        "track": phase.track,
        "challenge": phase.track.challenge,
        "siblings": phase.track.phases.all(),
        "board": board,
        "has_models": done["has_models"],
        "rows_html": mark_safe("".join(done["rows"])),
        "metrics": [
            {"name": m, "higher_is_better": directions.get(m), "ranked": m in directions}
            for m in board.metrics
        ],
        "primary": board.ranking["metrics"][0]["metric"] if board.ranking.get("metrics") else None,
        "is_organizer": organizer,
        "state": selectors.phase_state(phase=phase),
        "has_confidence": done["has_confidence"],
    }
