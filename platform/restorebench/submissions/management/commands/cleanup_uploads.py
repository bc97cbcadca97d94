"""`manage.py cleanup_uploads [--older-than HOURS] [--dry-run]`: delete abandoned upload sessions and
their partial files once (for cron, or by hand before a disk fills up)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from restorebench.submissions.upload_cleanup import upload_sessions_cleanup


class Command(BaseCommand):
    help = "Delete upload sessions and partial upload files untouched for a while (never completed ones)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="HOURS",
            help="age in hours (default: RESTOREBENCH_UPLOAD_STALE_AFTER_H, 24)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
        )

    def handle(self, *args, older_than: float | None, dry_run: bool, verbosity: int, **options) -> None:
        if older_than is not None and older_than < 0:
            raise CommandError(f"--older-than must be a number of hours >= 0, got {older_than}")
        report = upload_sessions_cleanup(
            older_than=None if older_than is None else dt.timedelta(hours=older_than), dry_run=dry_run
        )
        if verbosity >= 2 or dry_run:
            for path in report.deleted_paths:
                self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {path}")
        self.stdout.write(" ".join(f"{k}={v}" for k, v in report.as_dict().items()))
