"""The RestoreBench Django project: settings, URLs, the Celery app, and the site's apps."""

from .celery_app import app as celery_app

__all__ = ["celery_app"]
