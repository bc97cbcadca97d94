"""Revealing a phase's results: the final ranking frozen once, with everything needed to check it."""

import hashlib
import json

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from restorebench.challenges.models import Phase
from restorebench.challenges.services import audit_log_record
from restorebench.leaderboards.models import LeaderboardReveal
from restorebench.leaderboards.selectors import leaderboards_compute
from restorebench.submissions.models import Submission


def _rule(phase: Phase) -> dict:
    track = phase.track
    return {
        "leaderboards": track.leaderboards,
        "ranking_method": track.ranking_method,
        "ranking_metrics": track.ranking_metrics,
        "scoring_spec": track.scoring_spec,
    }


def _evaluator_records(submission_ids: set[int]) -> list[dict]:
    """The distinct scoring records (evaluator version, metric implementations, weights) of the
    entries' current jobs, each with the submissions it scored."""
    records: dict[str, dict] = {}
    rows = Submission.objects.filter(pk__in=submission_ids).values_list("pk", "current_job__scoring_record")
    for submission_id, record in rows.order_by("pk"):
        key = json.dumps(record, sort_keys=True)
        records.setdefault(key, {"record": record, "submissions": []})["submissions"].append(submission_id)
    return list(records.values())


@transaction.atomic
def phase_reveal(*, phase: Phase, actor: AbstractBaseUser | None) -> LeaderboardReveal:
    """Freeze the phase's leaderboards as they are now; a phase is revealed once."""
    Phase.objects.select_for_update().filter(pk=phase.pk).first()
    existing = LeaderboardReveal.objects.filter(phase=phase).first()
    if existing is not None:
        raise ValidationError(
            {"phase": f"the results were revealed at {existing.revealed_at.isoformat()}; a reveal is final"}
        )
    boards = leaderboards_compute(phase=phase)
    rule = _rule(phase)
    frozen = {slug: board.as_dict() for slug, board in boards.items()}
    entries = {row.submission_id for board in boards.values() for row in board.rows}
    try:
        with transaction.atomic():
            reveal = LeaderboardReveal.objects.create(
                phase=phase,
                revealed_by=actor,
                rule=rule,
                rule_version=hashlib.sha256(json.dumps(rule, sort_keys=True).encode()).hexdigest(),
                evaluator_records=_evaluator_records(entries),
                boards=frozen,
            )
    except IntegrityError as error:  # revealed by a concurrent request
        raise ValidationError({"phase": "the results were revealed meanwhile"}) from error
    audit_log_record(
        challenge=phase.track.challenge,
        actor=actor,
        action="phase.reveal",
        target=f"phase:{phase.pk}",
        details={"rule_version": reveal.rule_version, "boards": sorted(frozen)},
    )
    return reveal


def reveal_if_due(*, phase: Phase) -> LeaderboardReveal | None:
    """The phase's reveal, made now if its reveal time has passed (the first read after it reveals:
    no scheduler is needed, and the frozen ranking is the one at that moment)."""
    reveal = LeaderboardReveal.objects.filter(phase=phase).first()
    if reveal is not None or phase.reveal_at is None or phase.reveal_at > timezone.now():
        return reveal
    try:
        return phase_reveal(phase=phase, actor=None)
    except ValidationError:
        return LeaderboardReveal.objects.filter(phase=phase).first()
