"""`manage.py import_dataset NAME PATH`: verify a local folder against a dataset and import it.

A thin face of `benchdata.importing.import_dataset`; missing, extra and altered files are reported by name.
"""

from django.core.management.base import BaseCommand, CommandError

from benchdata.importing import DatasetVerificationError, import_dataset
from benchdata.manifests import ManifestError


class Command(BaseCommand):
    help = (
        "Verify a local folder against a dataset manifest (every SHA-256) and import it into the data store."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="dataset name, e.g. set14 (see `python -m benchdata list`)")
        parser.add_argument("path", help="folder holding the dataset's files")
        parser.add_argument("--root", help="data store (default: $RESTOREBENCH_VAR_DIR/datasets)")

    def handle(self, *args, **options):
        try:
            result = import_dataset(options["name"], options["path"], options["root"])
        except (DatasetVerificationError, ManifestError, FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(result.report.summary())
        if result.trusted_on_first_import:
            self.stdout.write(f"Trusted on first import: checksums recorded in {result.manifest_path}.")
            self.stdout.write("Later imports of this dataset must match them.")
        self.stdout.write(self.style.SUCCESS(f"Imported {result.dataset} into {result.directory}"))
