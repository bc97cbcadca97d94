"""Challenges, tracks, phases, organizers and the append-only audit log.

A challenge has tracks (one restoration task each, with its degradation, scoring options and ranking
rule); a track has phases (time windows with their own data, limits and visibility). Invariants that
the database can hold are constraints here; the rest is checked in `services.py`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from benchdata.tasks import list_tasks
from restorebench.challenges.track_specs import has_ground_truth


class Challenge(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=True, help_text="Listed on the site and in the API.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.title


class ChallengeOrganizer(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="organizers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organizing")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["challenge", "user"], name="organizer_once_per_challenge")
        ]

    def __str__(self) -> str:
        return f"{self.user} organizes {self.challenge}"


# The task table (benchdata.tasks) is the one list of tasks; a task added there needs a migration
# here for the check constraint (makemigrations writes it).
Task = models.TextChoices("Task", [(t.name.upper(), (t.name, t.label)) for t in list_tasks()])


class RankingMethod(models.TextChoices):
    # Sort by the first listed metric, then by each following one to break ties.
    METRIC = "metric", "Primary metric with ordered tie-breaks"
    # Rank the rows by each listed metric separately and sort by the mean of those ranks (the
    # perceptual NTIRE tracks); ties in the mean are broken by the first listed metric.
    MEAN_RANK = "mean_rank", "Average of per-metric ranks"


class Compute(models.TextChoices):
    CPU = "cpu", "CPU"
    GPU = "gpu", "GPU"


class Track(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="tracks")
    slug = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task = models.CharField(max_length=32, choices=Task.choices)
    degradation_spec = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"task": "denoise", "sigma": 25}'
    )
    scoring_spec = models.JSONField(
        default=dict, blank=True, help_text="Options passed unchanged to evaluator.jobs.run_scoring_job."
    )
    ranking_method = models.CharField(
        max_length=16, choices=RankingMethod.choices, default=RankingMethod.METRIC
    )
    # Ordered list of {"metric": "psnr", "higher_is_better": true}; see evaluator.ranking.rules.RankingRule.
    ranking_metrics = models.JSONField(default=list)
    # {"leaderboards": [...]} in the stored form of evaluator.ranking.boards (formula, metrics and
    # combined boards); {} for a single-board track ranked by ranking_method/ranking_metrics.
    leaderboards = models.JSONField(default=dict, blank=True)
    compute = models.CharField(
        max_length=8, choices=Compute.choices, default=Compute.CPU, help_text="Celery queue its jobs go to."
    )
    # {"input_size": [height, width]}: the model input at which model submissions' FLOPs are counted
    # (for sr the low-resolution input); {} = the task's default. See track_efficiency.py.
    efficiency = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"input_size": [256, 256]} (an sr track: the low-resolution input)',
    )
    order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "slug"], name="track_slug_unique_in_challenge"),
            models.CheckConstraint(condition=Q(task__in=Task.values), name="track_task_valid"),
            models.CheckConstraint(
                condition=Q(ranking_method__in=RankingMethod.values), name="track_ranking_valid"
            ),
            models.CheckConstraint(condition=Q(compute__in=Compute.values), name="track_compute_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.challenge.slug}/{self.slug}"

    @property
    def has_ground_truth(self) -> bool:
        """False for a track judged by no-reference metrics alone (scoring spec `ground_truth: false`):
        its phases hold inputs only."""
        return has_ground_truth(self.scoring_spec)


class Phase(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="phases")
    slug = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # None means no limit. Days are UTC calendar days.
    max_submissions_per_day = models.PositiveIntegerField(null=True, blank=True)
    max_submissions_total = models.PositiveIntegerField(null=True, blank=True)
    leaderboard_public = models.BooleanField(default=True)
    hidden_ground_truth = models.BooleanField(
        default=False, help_text="Participants see only rounded aggregates, never per-image scores."
    )
    score_decimals = models.PositiveSmallIntegerField(default=4, help_text="Rounding shown to participants.")
    # A final phase may keep its leaderboards from participants until it is revealed (at reveal_at, or
    # by an organizer); the reveal freezes them (leaderboards.models.LeaderboardReveal).
    results_hidden = models.BooleanField(
        default=False, help_text="Participants see no leaderboard until the results are revealed."
    )
    reveal_at = models.DateTimeField(
        null=True, blank=True, help_text="When hidden results are revealed (empty: by an organizer)."
    )
    max_upload_bytes = models.BigIntegerField(default=2 * 1024**3)
    # The phase's data lives in its own area, at paths the platform builds from ids
    # (restorebench.storage); these record when it was installed (None: not yet). Never a path.
    inputs_installed_at = models.DateTimeField(null=True, blank=True, editable=False)
    ground_truth_installed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What a team needs to be ranked in this phase (a final phase, NTIRE-style): unranked otherwise.
    requires_factsheet = models.BooleanField(default=False, help_text="A factsheet (PDF) is required.")
    requires_code = models.BooleanField(default=False, help_text="A code link or code archive is required.")
    max_team_size = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: no cap.")
    # File names a submission must contain (the ground-truth names); empty = not checked on upload.
    expected_images = models.JSONField(default=list, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["track_id", "order", "starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["track", "slug"], name="phase_slug_unique_in_track"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="phase_ends_after_start"),
            models.CheckConstraint(condition=Q(max_upload_bytes__gt=0), name="phase_upload_limit_positive"),
            models.CheckConstraint(condition=Q(score_decimals__lte=10), name="phase_decimals_at_most_10"),
        ]

    def __str__(self) -> str:
        return f"{self.track}/{self.slug}"

    @property
    def challenge_id(self) -> int:
        return self.track.challenge_id

    @property
    def ground_truth_public(self) -> bool:
        """Whether participants may download and see the ground truth (a track without any: never)."""
        return not self.hidden_ground_truth and self.track.has_ground_truth


class AuditLogEntry(models.Model):
    """One organizer action. Rows are never updated or deleted (a PostgreSQL trigger enforces it)."""

    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="audit_log")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True, help_text='e.g. "submission:42"')
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit log entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"

    def save(self, *args, **kwargs) -> None:
        # Append-only: the database refuses updates too, this just fails earlier with a clear message.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("audit log entries are append-only and cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit log entries are append-only and cannot be deleted")
