"""`manage.py load_challenge FILE.yaml`: create a challenge from a bundle, with its generated data."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from restorebench.bundles.schema import BundleError
from restorebench.bundles.services import bundle_load


class Command(BaseCommand):
    help = (
        "Load a challenge bundle (YAML): create the challenge, its tracks and phases, and generate each "
        "phase's participant inputs and hidden ground truth. A bad bundle loads nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the bundle, e.g. platform/restorebench/bundles/examples/demo.yaml")
        parser.add_argument(
            "--skip-existing",
            action="store_true",
            help="do nothing (and succeed) when a challenge with the bundle's slug exists",
        )
        parser.add_argument(
            "--as", dest="actor", help="user name recorded as the creator and first organizer"
        )

    def handle(self, *args, **options):
        actor = None
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(f"--as: no user named {options['actor']!r}")
        try:
            result = bundle_load(
                path=options["file"],
                actor=actor,
                skip_existing=options["skip_existing"],
                report=lambda line: self.stdout.write(f"  {line}"),
            )
        except BundleError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(result.message))
