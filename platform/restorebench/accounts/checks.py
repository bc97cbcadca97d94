"""System checks for the sign-in throttles (run by `manage.py check`, and at start)."""

from django.conf import settings
from django.core import checks

from restorebench.accounts.throttling import parse_rate


@checks.register(checks.Tags.security)
def throttle_rates_parse(app_configs, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for name in ("RESTOREBENCH_THROTTLE_LOGIN", "RESTOREBENCH_THROTTLE_SIGNUP"):
        try:
            parse_rate(getattr(settings, name))
        except ValueError as error:
            errors.append(checks.Error(f"{name}: {error}", id="restorebench.E001"))
    return errors


@checks.register(checks.Tags.security, deploy=True)
def throttles_share_one_cache(app_configs, **kwargs) -> list[checks.CheckMessage]:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("LocMemCache"):
        return [
            checks.Warning(
                "the sign-in throttles count in each web process's own memory",
                hint="set RESTOREBENCH_CACHE_URL=redis://host:6379/1 so all web processes count together",
                id="restorebench.W001",
            )
        ]
    return []
