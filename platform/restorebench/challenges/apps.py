"""App configuration."""

from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "restorebench.challenges"
    label = "challenges"
    verbose_name = "Challenges, tracks and phases"
