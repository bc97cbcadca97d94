"""`manage.py restore --method NAME --task TASK ... IN_DIR OUT_DIR`: run one reference method on a
folder of degraded images (same options and behaviour as `python -m reference_methods restore`)."""

from django.core.management.base import BaseCommand, CommandError

from reference_methods.cli import add_restore_arguments, restore_folder, summary
from reference_methods.registry import MethodError


class Command(BaseCommand):
    help = "Restore every degraded image of IN_DIR into OUT_DIR/<stem>.png with one reference method."

    def add_arguments(self, parser):
        add_restore_arguments(parser)

    def handle(self, *args, **options):
        try:
            report = restore_folder(
                options["method"],
                options["task"],
                options["in_dir"],
                options["out_dir"],
                sigma=options["sigma"],
                scale=options["scale"],
                quality=options["quality"],
                kernel=options["kernel"],
                mask_dir=options["mask_dir"],
                params=dict(options["param"]),
                seed=options["seed"],
                progress=not options["no_progress"],
                # The raw stream: OutputWrapper.write appends a newline, which breaks tqdm's \r redraws.
                stream=self.stderr._out,
            )
        except (MethodError, ValueError, OSError) as error:
            raise CommandError(str(error)) from error
        if not report.ok:
            # CommandError prints the message and exits with status 1.
            raise CommandError(summary(report))
        self.stdout.write(summary(report))
