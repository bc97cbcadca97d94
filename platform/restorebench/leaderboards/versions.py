"""The phase's version: one key that changes whenever anything a leaderboard shows changes, the start
of every cache key of the phase's boards (the computed boards, rank confidence, what each class of
viewer sees, the pages' rendered rows)."""

import hashlib
import json

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, Max

from restorebench.challenges.models import Phase
from restorebench.challenges.selectors import user_is_organizer
from restorebench.leaderboards.documents import documents_state
from restorebench.leaderboards.models import TeamChanges
from restorebench.submissions.models import Submission

User = AbstractBaseUser | AnonymousUser

# A computed leaderboard is cached under a key that changes with any write to the phase's submissions
# or to the ranking rule; the timeout bounds how stale it can be after an edit the key does not see
# (a team renamed in the admin; on SQLite, a clock that disagrees about "newest"). Every cache of the
# phase's boards (the boards, rank confidence, what each class of viewer sees, the pages' rendered
# rows) starts with this key.
LEADERBOARD_CACHE_SECONDS = 30

# On PostgreSQL, teams' submissions are versioned by the trigger's write counts (`TeamChanges`: every
# insert, update and delete, whatever code makes it; ~500 rows of a phase rather than an index scan of
# its 10,000 submissions): (rows, sum of counts, newest row id) moves with every write. It comes back
# to an earlier value only with the same content: counts only grow, and a deleted team's row never
# returns with its id (so the newest team deleted with its submissions gives back the version from
# before its first one). References (no team) by their number and newest `updated_at`. Elsewhere:
# every submission's number and newest `updated_at`.
_STATE_SQL = f"""SELECT
    (SELECT count(*) || '/' || coalesce(sum(changes), 0) || '/' || coalesce(max(id), 0)
     FROM {TeamChanges._meta.db_table} WHERE phase_id = %s),
    (SELECT count(*) || '/' || coalesce(max(updated_at)::text, '')
     FROM {Submission._meta.db_table} WHERE phase_id = %s AND is_reference)"""


def _submissions_state(phase: Phase) -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_STATE_SQL, (phase.pk, phase.pk))
            teams, references = cursor.fetchone()
        return f"{teams}|{references}"
    state = Submission.objects.filter(phase=phase).aggregate(n=Count("*"), last=Max("updated_at"))
    return f"{state['n']}|{state['last']}"


def leaderboard_cache_key(phase: Phase) -> str:
    """The phase's version: changes with every write to the phase's submissions, its ranking rule or
    its requirements."""
    rule = json.dumps(
        [phase.track.ranking_method, phase.track.ranking_metrics, phase.track.leaderboards], sort_keys=True
    )
    needs = (phase.requires_factsheet, phase.requires_code, phase.max_team_size, documents_state(phase=phase))
    raw = f"{phase.pk}|{_submissions_state(phase)}|{rule}|{needs}"
    return "restorebench:leaderboard:" + hashlib.sha256(raw.encode()).hexdigest()


def leaderboard_view_key(
    *, phase: Phase, user: User, board: str | None, version: str | None = None, organizer: bool | None = None
) -> str | None:
    """A cache key for `board` as `user` sees it, shared by every viewer who sees the same: the
    challenge's organizers, or everyone else when the board is public. None when the view is the
    viewer's own (a board that is not public shows each team its own row only). It extends the phase's
    version (`version`: `leaderboard_cache_key`, given when the caller has it) with every setting of
    the phase that changes what a viewer sees, and the reveal of a phase with hidden results."""
    if organizer is None:
        organizer = user_is_organizer(user=user, challenge=phase.track.challenge_id)
    if organizer:
        who = "organizers"
    elif not phase.leaderboard_public:
        return None
    elif phase.results_hidden:
        from restorebench.leaderboards.services import reveal_if_due

        reveal = reveal_if_due(phase=phase)
        who = f"everyone|revealed {reveal.pk}" if reveal is not None else "everyone|hidden"
    else:
        who = "everyone"
    shown = (phase.hidden_ground_truth, phase.score_decimals, phase.results_hidden, phase.reveal_at)
    raw = f"{board or ''}|{who}|{shown}|{phase.ground_truth_installed_at}"
    return f"{version or leaderboard_cache_key(phase)}:view:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"
