"""`manage.py download_dataset NAME [--url URL]`: fetch a dataset from its public address and import it.

The downloaded files go through exactly the verification of `import_dataset` (benchdata.download).
"""

from django.core.management.base import BaseCommand, CommandError

from benchdata.download import DownloadError, download_dataset
from benchdata.importing import DatasetVerificationError
from benchdata.manifests import ManifestError


class Command(BaseCommand):
    help = (
        "Download a dataset from the address in its manifest (or --url) and import it with full verification."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="dataset name, e.g. div2k_valid")
        parser.add_argument("--url", help="another address for the same archive (file://, http://, https://)")
        parser.add_argument("--root", help="data store (default: $RESTOREBENCH_VAR_DIR/datasets)")

    def handle(self, *args, **options):
        try:
            result = download_dataset(options["name"], options["root"], url=options["url"])
        except (DownloadError, DatasetVerificationError, ManifestError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(result.report.summary())
        self.stdout.write(self.style.SUCCESS(f"Imported {result.dataset} into {result.directory}"))
