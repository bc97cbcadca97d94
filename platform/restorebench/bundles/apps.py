"""App configuration."""

from django.apps import AppConfig


class BundlesConfig(AppConfig):
    name = "restorebench.bundles"
    label = "bundles"
    verbose_name = "Challenge bundles"
