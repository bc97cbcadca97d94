"""Teams and their memberships: one team per participant per challenge, and the tracks a team entered.

Users are Django's own `auth.User`; API tokens are DRF's `authtoken.Token`.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from restorebench.challenges.models import Challenge, Track


class Team(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    # Shared by the team's creator with teammates; joining needs it.
    join_code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge_id", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "challenge", name="team_name_unique_in_challenge"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    # Copied from the team so that the database itself can refuse a second team in one challenge.
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="+")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "challenge"], name="one_team_per_user_per_challenge"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class TrackEntry(models.Model):
    """A team has entered a track; only entered tracks accept the team's submissions."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="track_entries")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="entries")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "track entries"
        constraints = [models.UniqueConstraint(fields=["team", "track"], name="team_enters_track_once")]

    def __str__(self) -> str:
        return f"{self.team} in {self.track}"
