"""`manage.py leaderboard_picks_rebuild [--phase ID ...]`: drop the kept picks of each team's
representative (every phase, or the phases given) so that the next read of each leaderboard picks
every team afresh from its submissions, and restore any missing write count. Never needed in normal
operation (the picks follow every write); for repairs after a manual edit of the tables."""

from django.core.management.base import BaseCommand

from restorebench.challenges.models import Phase
from restorebench.leaderboards.picks import team_picks_rebuild


class Command(BaseCommand):
    help = "Re-pick every team's representative submission from scratch on the next leaderboard read."

    def add_arguments(self, parser):
        parser.add_argument(
            "--phase", type=int, action="append", help="a phase id (repeatable; default: all)"
        )

    def handle(self, *args, **options):
        phases = Phase.objects.all()
        if options["phase"]:
            phases = phases.filter(pk__in=options["phase"])
        count = 0
        for phase in phases.iterator():
            team_picks_rebuild(phase=phase)
            count += 1
        self.stdout.write(f"picks dropped and counts checked for {count} phase(s)")
