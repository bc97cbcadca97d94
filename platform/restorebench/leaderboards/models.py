"""The frozen final ranking of a phase: what participants see once its results are revealed."""

from django.conf import settings
from django.db import models

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
