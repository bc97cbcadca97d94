"""`manage.py reap_evaluation_jobs`: requeue lost evaluation jobs once, or every N seconds (cron or a
loop, for sites that run no Celery beat)."""

import time

from django.core.management.base import BaseCommand

from restorebench.submissions.jobs import evaluation_jobs_reap


class Command(BaseCommand):
    help = "Requeue evaluation jobs whose worker vanished or that never reached the broker."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds (0: run once)")

    def handle(self, *args, every: float, **options) -> None:
        while True:
            report = evaluation_jobs_reap()
            self.stdout.write(" ".join(f"{k}={v}" for k, v in report.as_dict().items()))
            if every <= 0:
                return
            time.sleep(every)
