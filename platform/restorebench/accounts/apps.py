"""App configuration."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "restorebench.accounts"
    label = "accounts"
    verbose_name = "Accounts and teams"
