"""`manage.py challenge_report CHALLENGE TRACK [--format json|csv|tex|zip] [--phase SLUG] [--output FILE]`
(zip: the three formats and the phase's figures as SVG; it needs --output)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from restorebench.challenges.models import Track
from restorebench.leaderboards.report import FORMATS, challenge_report, report_archive, report_render


class Command(BaseCommand):
    help = (
        "Export a track's final results (the frozen ranking once revealed) as JSON, CSV or a LaTeX "
        "table in the style of NTIRE challenge reports."
    )

    def add_arguments(self, parser):
        parser.add_argument("challenge", help="the challenge's slug")
        parser.add_argument("track", help="the track's slug")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--phase", help="the phase's slug (default: the track's last phase)")
        parser.add_argument("--output", type=Path, help="write here instead of printing")

    def handle(self, *args, **options):
        track = Track.objects.filter(challenge__slug=options["challenge"], slug=options["track"]).first()
        if track is None:
            raise CommandError(f"no track {options['track']!r} in a challenge {options['challenge']!r}")
        phase = None
        if options["phase"]:
            phase = track.phases.filter(slug=options["phase"]).first()
            if phase is None:
                slugs = ", ".join(track.phases.values_list("slug", flat=True))
                raise CommandError(
                    f"--phase: the track has no phase {options['phase']!r}; its phases: {slugs}"
                )
        if options["format"] == "zip":
            if not options["output"]:
                raise CommandError("--format zip writes a file: give --output FILE.zip")
            options["output"].write_bytes(report_archive(track=track, phase=phase))
            self.stdout.write(f"wrote {options['output']}")
            return
        body = report_render(challenge_report(track=track, phase=phase), options["format"])
        if options["output"]:
            options["output"].write_text(body, encoding="utf-8")
            self.stdout.write(f"wrote {options['output']}")
        else:
            self.stdout.write(body)
