"""Factsheets, code and team size in a final phase: a team missing one is listed unranked with the
reason; a factsheet must really be a PDF and not too large; organizers see who is complete."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from rb_test_helpers import scored_submission
from rest_framework.test import APIClient
from restorebench import storage
from restorebench.challenges.services import phase_update
from restorebench.leaderboards import documents
from restorebench.leaderboards.documents import team_documents_submit
from restorebench.leaderboards.selectors import leaderboard_compute

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", "print('hi')\n")
    return buffer.getvalue()


@pytest.fixture
def final(make_arena, make_participant):
    arena = make_arena(images=1)
    phase_update(phase=arena.phase, actor=arena.organizer, requires_factsheet=True, requires_code=True)
    user, team = make_participant(arena)
    _, other = make_participant(arena)
    scored_submission(arena.phase, team, {"psnr": 30.0, "ssim": 0.9})
    scored_submission(arena.phase, other, {"psnr": 29.0, "ssim": 0.9})
    return arena, user, team, other


def stored_files(phase) -> list[Path]:
    root = storage.phase_area(phase, hidden=True) / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_teams_without_factsheet_and_code_are_listed_unranked_with_the_reason(final):
    arena, user, team, other = final
    board = leaderboard_compute(phase=arena.phase, use_cache=True)
    assert [(r.rank, r.reason) for r in board.rows] == [
        (None, "not ranked: missing factsheet, code"),
        (None, "not ranked: missing factsheet, code"),
    ]
    team_documents_submit(phase=arena.phase, user=user, factsheet=[PDF], code_url="https://github.com/a/b")
    board = leaderboard_compute(phase=arena.phase, use_cache=True)  # the cache follows the documents
    assert [(r.team_id, r.rank) for r in board.rows] == [(team.pk, 1), (other.pk, None)]


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_kept(final):
    arena, user, *_ = final
    with pytest.raises(ValidationError, match="is not a PDF"):
        team_documents_submit(phase=arena.phase, user=user, factsheet=[b"<html>%PDF-1.4 %%EOF</html>"])
    with pytest.raises(ValidationError, match="is not a zip"):
        team_documents_submit(phase=arena.phase, user=user, code_archive=[PDF])
    assert stored_files(arena.phase) == []


def test_a_factsheet_over_the_size_limit_is_refused(final, monkeypatch):
    arena, user, *_ = final
    monkeypatch.setattr(documents, "FACTSHEET_MAX_BYTES", len(PDF) - 1)
    with pytest.raises(ValidationError, match="larger than"):
        team_documents_submit(phase=arena.phase, user=user, factsheet=[PDF[:10], PDF[10:]])
    assert stored_files(arena.phase) == []


def test_replacing_a_factsheet_removes_the_old_file(final, django_capture_on_commit_callbacks):
    arena, user, *_ = final
    with django_capture_on_commit_callbacks(execute=True):
        first = team_documents_submit(phase=arena.phase, user=user, factsheet=[PDF])
    with django_capture_on_commit_callbacks(execute=True):
        second = team_documents_submit(phase=arena.phase, user=user, code_archive=[a_zip()], factsheet=[PDF])
    assert first.factsheet_path != second.factsheet_path
    assert stored_files(arena.phase) == sorted(
        storage.team_document_path(arena.phase, p) for p in (second.factsheet_path, second.code_archive_path)
    )


def test_a_team_over_the_size_cap_is_not_ranked(final, make_user):
    arena, user, team, other = final
    phase_update(
        phase=arena.phase,
        actor=arena.organizer,
        requires_factsheet=False,
        requires_code=False,
        max_team_size=1,
    )
    from restorebench.accounts.services import team_join

    team_join(team=team, user=make_user("second"), join_code=team.join_code)
    rows = leaderboard_compute(phase=arena.phase).rows
    assert [(r.team_id, r.rank, r.reason) for r in rows] == [
        (other.pk, 1, None),
        (team.pk, None, "not ranked: missing team of 2 members (at most 1)"),
    ]


def test_organizers_see_who_is_complete_and_participants_upload_through_the_api(final):
    arena, user, team, other = final
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(
        f"/api/phases/{arena.phase.pk}/documents/",
        {
            "factsheet": SimpleUploadedFile("f.pdf", PDF, content_type="application/pdf"),
            "code_archive": SimpleUploadedFile("c.zip", a_zip(), content_type="application/zip"),
            "extra_data": "true",
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    assert response.json()[0]["complete"] is True and response.json()[0]["extra_data"] is True
    bad = client.post(
        f"/api/phases/{arena.phase.pk}/documents/",
        {"factsheet": SimpleUploadedFile("f.pdf", b"not a pdf")},
        format="multipart",
    )
    assert bad.status_code == 400 and "not a PDF" in bad.content.decode()
    organizer = APIClient()
    organizer.force_authenticate(arena.organizer)
    state = {
        r["team_id"]: (r["complete"], r["missing"])
        for r in organizer.get(f"/api/phases/{arena.phase.pk}/documents/").json()
    }
    assert state == {team.pk: (True, []), other.pk: (False, ["factsheet", "code"])}
    assert [r["team_id"] for r in client.get(f"/api/phases/{arena.phase.pk}/documents/").json()] == [team.pk]
