"""`manage.py ranking_preview BUNDLE.yaml --track SLUG --scores ENTRIES.json [--json]`: rank entries
under a track's leaderboards, with no database (see evaluator/ranking/preview.py for the file)."""

import json

from django.core.management.base import BaseCommand, CommandError

from evaluator.ranking.preview import EntriesError, entries_parse, preview, preview_text
from restorebench.bundles.schema import BundleError
from restorebench.bundles.services import bundle_read
from restorebench.challenges.track_ranking import track_boards


class Command(BaseCommand):
    help = (
        "Rank entries given in a JSON file under a bundle track's leaderboards (no database): test "
        "ranking rules before a challenge opens."
    )
    requires_system_checks = []  # touches no database

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="the challenge bundle (YAML)")
        parser.add_argument("--track", required=True, help="the track's slug in the bundle")
        parser.add_argument(
            "--scores",
            required=True,
            help='entries: {"entries": [{"team": ..., "scores": {"psnr": ...}, "runtime": ..., ...}]}',
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of tables")

    def handle(self, *args, **options):
        try:
            _, bundle = bundle_read(options["bundle"])
        except BundleError as error:
            raise CommandError(str(error)) from None
        track = next((t for t in bundle.tracks if t.slug == options["track"]), None)
        if track is None:
            slugs = ", ".join(t.slug for t in bundle.tracks)
            raise CommandError(f"--track: the bundle has no track {options['track']!r}; its tracks: {slugs}")
        try:
            with open(options["scores"], encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"--scores: cannot read {options['scores']}: {error}") from None
        try:
            teams, entries = entries_parse(data)
        except EntriesError as error:
            raise CommandError(f"--scores: {error}") from None
        boards = track_boards(track)
        result = preview(boards, teams, entries)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, allow_nan=True))
        else:
            self.stdout.write(preview_text(boards, result))
