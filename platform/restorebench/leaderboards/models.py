"""The frozen final ranking of a phase: what participants see once its results are revealed."""

from django.conf import settings
from django.db import models

from restorebench.accounts.models import Team
from restorebench.challenges.models import Phase


class LeaderboardReveal(models.Model):
    """Written once, at reveal (by an organizer, or on the first read after the phase's `reveal_at`).

    It keeps everything needed to check the ranking later: the rule and its version, the evaluator's
    record of how the scores were computed, and every board's rows with every input to each formula.
    Rescoring afterwards changes the live leaderboard only; organizers see the difference."""

    phase = models.OneToOneField(Phase, on_delete=models.CASCADE, related_name="reveal")
    revealed_at = models.DateTimeField(auto_now_add=True)
    revealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # {"leaderboards": ..., "ranking_method": ..., "ranking_metrics": ..., "scoring_spec": ...}
    rule = models.JSONField()
    rule_version = models.CharField(max_length=64, help_text="SHA-256 of the rule, canonical JSON.")
    # The scoring records (evaluator, metric implementations and weights) of the ranked entries' jobs.
    evaluator_records = models.JSONField(default=list)
    boards = models.JSONField(help_text="{slug: leaderboard as the API gives it, full precision}")

    def __str__(self) -> str:
        return f"reveal of {self.phase} at {self.revealed_at:%Y-%m-%d %H:%M}"


class TeamDocuments(models.Model):
    """A team's factsheet and code for a phase that requires them before ranking the team. Files live
    in the hidden tree with generated names (`restorebench.storage`); the paths are relative to it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="phase_documents")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="team_documents")
    factsheet_path = models.CharField(max_length=500, blank=True)
    factsheet_bytes = models.BigIntegerField(null=True, blank=True)
    factsheet_sha256 = models.CharField(max_length=64, blank=True)
    code_url = models.URLField(max_length=500, blank=True)
    code_archive_path = models.CharField(max_length=500, blank=True)
    code_archive_bytes = models.BigIntegerField(null=True, blank=True)
    extra_data = models.BooleanField(null=True, blank=True, help_text="Declared: trained with extra data.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "phase"], name="team_documents_once_per_phase")
        ]

    def __str__(self) -> str:
        return f"documents of {self.team} for {self.phase}"


class TeamChanges(models.Model):
    """How many writes a team's submissions in a phase have had: bumped by a PostgreSQL trigger on
    every insert, update and delete of a submission (migration 0002), whatever code makes it (services,
    the admin, `QuerySet.update`, `bulk_create`, raw SQL). `TeamPick` rows older than this count are
    stale. Not kept on SQLite (the embedded demo), where the leaderboard picks from scratch."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    changes = models.BigIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["phase", "team"], name="team_changes_once_per_phase")]


class TeamPick(models.Model):
    """A team's representative submission in a phase as the picking board `board_key` chooses it (its
    chosen submission, else its best scored one), as of `changes` writes of the team's submissions:
    kept so that a cold leaderboard reads ~500 picks instead of sorting every submission of the phase.
    Derived data, rebuilt on read where stale (`leaderboards.picks`); the submissions stay the source
    of truth. `submission` is null when the team has no scored submission; a deleted submission's pick
    is stale (its team's count moved), hence no constraint."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    board_key = models.CharField(max_length=64, help_text="SHA-256 of the picking board's definition.")
    submission = models.ForeignKey(
        "submissions.Submission",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    changes = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phase", "board_key", "team"], name="team_pick_once_per_board")
        ]
