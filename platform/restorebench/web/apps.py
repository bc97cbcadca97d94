"""App configuration."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "restorebench.web"
    label = "web"
    verbose_name = "Site pages"
