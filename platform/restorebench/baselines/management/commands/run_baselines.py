"""`manage.py run_baselines`: score reference methods on phases, skipping those already entered at the
same code version. The restoring runs here (in a process pool with --jobs); scoring is done by the
evaluation workers, like any submission (--wait waits for them). With --deep-models the deep methods
are also exported to ONNX and entered as model submissions, which the workers run in the sandbox."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from restorebench.baselines.services import (
    BaselineError,
    RunReport,
    baseline_plan,
    baselines_run,
    baselines_wait,
    deep_model_names,
    deep_models_enter,
)
from restorebench.challenges.models import Phase


class Command(BaseCommand):
    help = (
        "Restore each phase's inputs with reference methods and enter the results as reference "
        "submissions (scored by the workers; shown unranked on leaderboards)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--challenge", help="every phase of the challenge with this slug")
        parser.add_argument("--phase", type=int, action="append", default=[], help="a phase id (repeatable)")
        parser.add_argument(
            "--methods",
            default="fast",
            help="'fast' (default: the quick classic methods), 'all', 'none' or comma-separated method names",
        )
        parser.add_argument(
            "--deep-models",
            nargs="?",
            const="all",
            default=None,
            metavar="ENTRIES",
            help="also export the deep methods to ONNX and enter them as reference model submissions "
            "(all entries serving each phase, or comma-separated entries of reference_methods.deep.export)",
        )
        parser.add_argument("--jobs", type=int, default=1, help="restore in this many processes")
        parser.add_argument(
            "--force", action="store_true", help="enter methods again at the same code version"
        )
        parser.add_argument("--wait", type=float, default=0, help="wait up to this many seconds for scores")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        phases = Phase.objects.select_related("track", "track__challenge")
        if options["challenge"]:
            phases = phases.filter(track__challenge__slug=options["challenge"])
        if options["phase"]:
            phases = phases.filter(pk__in=options["phase"])
        phases = list(phases.order_by("track__challenge_id", "track__order", "order", "id"))
        if not phases:
            raise CommandError("no phase matches --challenge/--phase")
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1")
        selection = options["methods"]
        if selection not in ("fast", "all", "none"):
            selection = [name.strip() for name in selection.split(",") if name.strip()]
        try:
            plan = (
                []
                if selection == "none"
                else baseline_plan(phases=phases, selection=selection, force=options["force"])
            )
        except (BaselineError, ValueError) as error:
            raise CommandError(str(error)) from None
        todo = sum(1 for item in plan if not item.skip_reason)
        self.stdout.write(
            f"{len(plan)} method x phase pair(s): {todo} to run, {len(plan) - todo} already entered"
        )
        bar = tqdm(total=todo, unit="method", disable=options["no_progress"], file=sys.stderr)
        try:
            report = baselines_run(
                plan=plan, jobs=options["jobs"], progress=bar.write, on_done=lambda: bar.update(1)
            )
        finally:
            bar.close()
        if options["deep_models"]:
            names = deep_model_names(options["deep_models"])
            try:
                models = deep_models_enter(
                    phases=phases, names=names, force=options["force"], progress=self.stdout.write
                )
            except BaselineError as error:
                raise CommandError(str(error)) from None
            report = RunReport(
                entered=report.entered + models.entered,
                skipped=report.skipped + models.skipped,
                failed=report.failed + models.failed,
            )
        for line in report.skipped:
            self.stdout.write(f"skipped {line}")
        for line in report.failed:
            self.stderr.write(self.style.WARNING(f"failed {line}"))
        self.stdout.write(
            f"entered {len(report.entered)}, skipped {len(report.skipped)}, failed {len(report.failed)}"
        )
        if options["wait"] and report.entered:
            if not baselines_wait(phases=phases, timeout_s=options["wait"], progress=self.stdout.write):
                raise CommandError(
                    f"baselines still unscored after {options['wait']:.0f} s; is a worker running?"
                )
        if report.failed:
            raise CommandError(f"{len(report.failed)} method(s) failed (see above)")
