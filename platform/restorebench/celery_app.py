"""The Celery application that runs evaluation jobs; configured from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restorebench.settings")

app = Celery("restorebench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
