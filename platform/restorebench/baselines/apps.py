from django.apps import AppConfig


class BaselinesConfig(AppConfig):
    name = "restorebench.baselines"
    label = "baselines"
    verbose_name = "Reference methods"
