"""App configuration."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "restorebench.accounts"
    label = "accounts"
    verbose_name = "Accounts and teams"

    def ready(self) -> None:
        from restorebench.accounts import checks  # noqa: F401  (registers the system checks)
