"""Factsheets, code and team size: what a phase may require before it ranks a team (NTIRE final
phases: a factsheet from the challenge's template, the code or a link to it, a cap on team size).

Files are kept in the hidden tree (no URL serves it), paths built by `restorebench.storage`.
A team missing one stays on the leaderboards, unranked, with the reason; organizers see who is
complete (`phase_completeness`). A factsheet must be a PDF (checked by its header and end marker, not
its name) of at most `FACTSHEET_MAX_BYTES`; a code archive a zip of at most `CODE_ARCHIVE_MAX_BYTES`.
"""

import zipfile
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, Max

from restorebench import storage
from restorebench.accounts.models import Team, TeamMembership
from restorebench.accounts.selectors import team_for_user, team_has_entered
from restorebench.challenges.models import Phase
from restorebench.leaderboards.models import TeamDocuments
from restorebench.submissions.archives import file_sha256

FACTSHEET_MAX_BYTES = 20 * 1024**2
CODE_ARCHIVE_MAX_BYTES = 500 * 1024**2


def _store(chunks: Iterable[bytes], *, phase: Phase, suffix: str, limit: int, what: str) -> tuple[str, int]:
    """Write the chunks to a new file with a generated name (never a name the user chose) in the
    hidden tree and return (the path to record, size); a file over `limit` is removed and refused."""
    target, relative = storage.team_document_new(phase, suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with open(target, "xb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ValidationError({what: f"is larger than {limit // 1024**2} MiB"})
                handle.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return relative, size


def _check_pdf(phase: Phase, relative: str) -> None:
    path = storage.team_document_path(phase, relative)
    with open(path, "rb") as handle:
        head = handle.read(5)
        handle.seek(max(0, path.stat().st_size - 1024))
        tail = handle.read()
    if head != b"%PDF-" or b"%%EOF" not in tail:
        path.unlink(missing_ok=True)
        raise ValidationError({"factsheet": "is not a PDF (a PDF starts with %PDF- and ends with %%EOF)"})


def _check_zip(phase: Phase, relative: str) -> None:
    path = storage.team_document_path(phase, relative)
    if not zipfile.is_zipfile(path):
        path.unlink(missing_ok=True)
        raise ValidationError({"code_archive": "is not a zip archive"})


def _remove_later(phase: Phase, *relatives: str) -> None:
    # Old files go once the new row is committed, so a failed update keeps the documents it had.
    paths = [storage.team_document_path(phase, r) for r in relatives if r]
    transaction.on_commit(lambda: [p.unlink(missing_ok=True) for p in paths])


def team_documents_submit(
    *,
    phase: Phase,
    user: AbstractBaseUser,
    factsheet: Iterable[bytes] | None = None,
    code_url: str | None = None,
    code_archive: Iterable[bytes] | None = None,
    extra_data: bool | None = None,
) -> TeamDocuments:
    """Add or replace the user's team's documents for `phase` (what is not given is kept)."""
    team = team_for_user(user=user, challenge=phase.track.challenge_id)
    if team is None or not team_has_entered(team=team, track=phase.track):
        raise ValidationError({"team": "you are not in a team entered in this track"})
    if code_url:
        try:
            URLValidator(schemes=["http", "https"])(code_url)
        except ValidationError:
            raise ValidationError({"code_url": "must be an http(s) URL"}) from None
    stored: list[str] = []
    try:
        fields: dict = {}
        if factsheet is not None:
            path, size = _store(
                factsheet, phase=phase, suffix=".pdf", limit=FACTSHEET_MAX_BYTES, what="factsheet"
            )
            _check_pdf(phase, path)
            stored.append(path)
            sha256 = file_sha256(storage.team_document_path(phase, path))
            fields.update(factsheet_path=path, factsheet_bytes=size, factsheet_sha256=sha256)
        if code_archive is not None:
            path, size = _store(
                code_archive, phase=phase, suffix=".zip", limit=CODE_ARCHIVE_MAX_BYTES, what="code_archive"
            )
            _check_zip(phase, path)
            stored.append(path)
            fields.update(code_archive_path=path, code_archive_bytes=size)
        if code_url is not None:
            fields["code_url"] = code_url
        if extra_data is not None:
            fields["extra_data"] = extra_data
        with transaction.atomic():
            documents, _ = TeamDocuments.objects.select_for_update().get_or_create(team=team, phase=phase)
            replaced = [getattr(documents, f) for f in ("factsheet_path", "code_archive_path") if f in fields]
            for name, value in fields.items():
                setattr(documents, name, value)
            documents.save()
            _remove_later(phase, *replaced)
    except BaseException:
        for path in stored:
            storage.team_document_path(phase, path).unlink(missing_ok=True)
        raise
    return documents


def _requires_anything(phase: Phase) -> bool:
    return phase.requires_factsheet or phase.requires_code or phase.max_team_size is not None


def _missing(phase: Phase, documents: TeamDocuments | None, size: int) -> list[str]:
    missing = []
    if phase.requires_factsheet and not (documents and documents.factsheet_path):
        missing.append("factsheet")
    if phase.requires_code and not (documents and (documents.code_url or documents.code_archive_path)):
        missing.append("code")
    if phase.max_team_size is not None and size > phase.max_team_size:
        missing.append(f"team of {size} members (at most {phase.max_team_size})")
    return missing


def team_exclusions(*, phase: Phase) -> dict[int, str]:
    """team id -> why the team is not ranked in `phase` (teams that meet every requirement: absent)."""
    if not _requires_anything(phase):
        return {}
    docs = {d.team_id: d for d in TeamDocuments.objects.filter(phase=phase)}
    sizes = dict(
        Team.objects.filter(challenge_id=phase.track.challenge_id)
        .annotate(n=Count("memberships"))
        .values_list("id", "n")
    )
    out = {}
    for team_id, size in sizes.items():
        missing = _missing(phase, docs.get(team_id), size)
        if missing:
            out[team_id] = "not ranked: missing " + ", ".join(missing)
    return out


def documents_state(*, phase: Phase) -> str:
    """A short text that changes with any change to the documents or team sizes (for cache keys)."""
    if not _requires_anything(phase):
        return ""
    docs = TeamDocuments.objects.filter(phase=phase).aggregate(n=Count("id"), last=Max("updated_at"))
    members = TeamMembership.objects.filter(challenge_id=phase.track.challenge_id).aggregate(
        n=Count("id"), last=Max("id")
    )
    return f"{docs['n']}|{docs['last']}|{members['n']}|{members['last']}"


def phase_completeness(*, phase: Phase) -> list[dict]:
    """Organizers: for every team entered in the track, what it has given and what it lacks."""
    docs = {d.team_id: d for d in TeamDocuments.objects.filter(phase=phase)}
    teams = (
        Team.objects.filter(track_entries__track=phase.track)
        .annotate(n=Count("memberships", distinct=True))
        .order_by("name")
    )
    out = []
    for team in teams:
        documents = docs.get(team.pk)
        missing = _missing(phase, documents, team.n)
        out.append(
            {
                "team_id": team.pk,
                "team_name": team.name,
                "members": team.n,
                "factsheet": bool(documents and documents.factsheet_path),
                "factsheet_bytes": documents.factsheet_bytes if documents else None,
                "code_url": documents.code_url if documents else "",
                "code_archive": bool(documents and documents.code_archive_path),
                "extra_data": documents.extra_data if documents else None,
                "complete": not missing,
                "missing": missing,
            }
        )
    return out
