"""App configuration."""

from django.apps import AppConfig


class LeaderboardsConfig(AppConfig):
    name = "restorebench.leaderboards"
    label = "leaderboards"
    verbose_name = "Leaderboards"
