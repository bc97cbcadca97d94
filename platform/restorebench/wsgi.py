"""WSGI entry point for production servers (gunicorn, uwsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restorebench.settings")
application = get_wsgi_application()
# What is loaded by now (Django, the apps, numpy, ...) lives as long as the process: moved out of the
# collector's reach, a full collection (which a request's allocations trigger now and then) scans only
# what requests made. Before, one such collection took a cold leaderboard read from ~30 ms to ~75 ms
# (docs/benchmarks.md).
gc.freeze()
