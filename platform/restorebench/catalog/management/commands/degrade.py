"""`manage.py degrade --task T [options] --seed N SRC_DIR OUT_DIR`: degrade every image of a folder.

A thin face of `benchdata.folder_degradation.degrade_folder`; the options are those of
`python -m benchdata degrade` (benchdata.cli.add_spec_arguments). Kernels and masks are written beside
the outputs.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from benchdata.cli import UsageError, add_spec_arguments, spec_from_options
from benchdata.degradations import TASKS, SpecError
from benchdata.folder_degradation import degrade_folder


class Command(BaseCommand):
    help = f"Apply a degradation ({', '.join(TASKS)}) to every image of SRC_DIR, writing OUT_DIR."

    def add_arguments(self, parser):
        add_spec_arguments(parser)
        parser.add_argument("--seed", type=int, required=True, help="non-negative integer seed")
        parser.add_argument("src_dir")
        parser.add_argument("out_dir")

    def handle(self, *args, **options):
        try:
            spec = spec_from_options(options)
            record = degrade_folder(options["src_dir"], options["out_dir"], spec, options["seed"])
        except (UsageError, SpecError, FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from error
        count, out, described = len(record["items"]), options["out_dir"], json.dumps(spec.to_dict())
        self.stdout.write(self.style.SUCCESS(f"Degraded {count} image(s) into {out}: {described}"))
