"""App configuration."""

from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "restorebench.submissions"
    label = "submissions"
    verbose_name = "Submissions and evaluation"
