"""`manage.py demo`: everything the README's `make demo` promises, in one command.

migrate → build the starter data → load the demo bundle and the example bundles (`--examples`: the
`enhance` track from organizer pairs) → demo accounts and team → start an embedded
evaluation worker → serve the site on 127.0.0.1:8000 at once, while a background thread restores and
enters the reference baselines (a banner on every page says how many are left; the leaderboards fill
as the worker scores them). With --no-serve it fills the leaderboards first, then exits. The worker
stops with the server. Re-running reuses everything that is already there.
"""

import os
import signal
import sys
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from restorebench.baselines.services import (
    BaselineError,
    baseline_plan,
    baselines_run,
    baselines_wait,
    deep_model_names,
    deep_models_enter,
)
from restorebench.bundles.schema import BundleError
from restorebench.bundles.services import bundle_load
from restorebench.submissions.models import Submission
from restorebench.web import demo


def _interrupt(number, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(number).name)


class Command(BaseCommand):
    help = "Set up the demo challenge with scored baselines and serve the site (see README: make demo)."

    def add_arguments(self, parser):
        parser.add_argument("--bundle", default=str(demo.DEMO_BUNDLE), help="challenge bundle to load")
        parser.add_argument(
            "--examples",
            default=",".join(demo.DEMO_EXAMPLES) or "none",
            help=f"example bundles loaded beside it ({', '.join(demo.EXAMPLE_BUNDLES)}), comma-separated, "
            f"or 'none' (default: {', '.join(demo.DEMO_EXAMPLES) or 'none'})",
        )
        parser.add_argument(
            "--methods", default="fast", help="baselines: 'fast' (default), 'all', or comma-separated names"
        )
        parser.add_argument(
            "--deep-models",
            default="all",
            help="deep methods entered as ONNX model submissions through the sandbox: 'all' (default; "
            "those serving each phase), 'none', or comma-separated entries (e.g. dncnn_s25,espcn_x4)",
        )
        parser.add_argument(
            "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="restoring processes"
        )
        parser.add_argument(
            "--timeout", type=float, default=1800, help="seconds to wait for the leaderboards"
        )
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="where to serve the site")
        parser.add_argument("--no-serve", action="store_true", help="set up, fill the leaderboards, and exit")
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start a worker (one is already running)"
        )

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def handle(self, *args, **options):
        demo.baseline_progress_clear()  # a banner left by an interrupted run
        self.say("==> database: migrate")
        call_command("migrate", interactive=False, verbosity=0)

        self.say("==> starter data")
        from benchdata.store import ensure_dataset

        starter = ensure_dataset("starter", settings.RESTOREBENCH_DATASETS_DIR)
        self.say(f"    {starter}")

        accounts = demo.demo_accounts_ensure()
        self.say(f"==> demo challenge from {options['bundle']}")
        try:
            result = bundle_load(
                path=options["bundle"],
                actor=accounts.organizer,
                skip_existing=True,
                report=lambda line: self.say(f"    {line}"),
            )
        except BundleError as error:
            raise CommandError(str(error)) from None
        self.say(f"    {result.message}")
        challenges = [result.challenge, *self.load_examples(options["examples"], accounts.organizer)]
        for challenge in challenges:
            demo.demo_organizer_ready(challenge=challenge, organizer=accounts.organizer)
        teams = [
            demo.demo_participant_ready(challenge=challenge, participant=accounts.participant)
            for challenge in challenges
        ]
        team = teams[0]
        try:
            if any(demo.lpips_needed(challenge) for challenge in challenges):
                demo.lpips_ensure()
        except demo.DemoError as error:
            raise CommandError(str(error)) from None

        worker = None
        # Stop the worker however the demo ends: Ctrl-C, or the terminal closing, or `kill`.
        for number in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, _interrupt)
        try:
            if not options["no_worker"]:
                self.say("==> evaluation worker (embedded)")
                try:
                    worker = demo.EmbeddedWorker().start()
                except demo.DemoError as error:
                    raise CommandError(str(error)) from None
                self.say(f"    log: {worker.log_path}")
            phases = [p for challenge in challenges for p in demo.demo_phases(challenge=challenge)]
            if options["no_serve"]:
                try:
                    self.fill_leaderboards(phases, accounts.organizer, options)
                finally:
                    demo.baseline_progress_clear()
                phases = [p for challenge in challenges for p in demo.demo_phases(challenge=challenge)]
                self.report(phases, accounts, team, options)
                return
            # Serve at once; the baselines fill the leaderboards in the background (banner on every page).
            demo.baseline_progress_write(restored=0, total=None)  # the banner shows from the first page
            filler = threading.Thread(
                target=self.fill_in_background, args=(phases, accounts.organizer, options), daemon=True
            )
            filler.start()
            self.report(phases, accounts, team, options)
            self.say("Press Ctrl-C to stop the site and the worker.\n")
            call_command("runserver", options["addrport"], use_reloader=False)
        except KeyboardInterrupt:
            self.say("\nstopping")
        finally:
            if worker is not None:
                worker.stop()

    def load_examples(self, selection: str, organizer) -> list:
        names = [] if selection == "none" else [n.strip() for n in selection.split(",") if n.strip()]
        loaded = []
        for name in names:
            self.say(f"==> example challenge {name} (organizer pairs, made from package-shipped photos)")
            try:
                result = demo.demo_example_load(
                    name=name, actor=organizer, report=lambda line: self.say(f"    {line}")
                )
            except (BundleError, demo.DemoError) as error:
                raise CommandError(str(error)) from None
            self.say(f"    {result.message}")
            loaded.append(result.challenge)
        return loaded

    def fill_in_background(self, phases, organizer, options) -> None:
        from django.db import connections

        try:
            self.fill_leaderboards(phases, organizer, options, background=True)
            self.say("==> baselines: every leaderboard is filled")
        except Exception as error:  # the site keeps serving; say why the baselines stopped
            self.stderr.write(self.style.WARNING(f"baselines stopped: {error}"))
        finally:
            demo.baseline_progress_clear()
            connections.close_all()

    def fill_leaderboards(self, phases, organizer, options, background: bool = False) -> None:
        selection = options["methods"]
        if selection not in ("fast", "all"):
            selection = [name.strip() for name in selection.split(",") if name.strip()]
        try:
            plan = baseline_plan(phases=phases, selection=selection)
        except (BaselineError, ValueError) as error:
            raise CommandError(str(error)) from None
        todo = [item for item in plan if not item.skip_reason]
        methods = sorted({item.method for item in plan})
        self.say(
            f"==> baselines: {len(methods)} method(s) on {len(phases)} phase(s); "
            f"{len(todo)} to restore, {len(plan) - len(todo)} already entered"
        )
        bar = tqdm(total=len(todo), unit="run", file=sys.stderr, disable=not todo or background)
        done = [0]

        def one_done() -> None:
            done[0] += 1
            bar.update(1)
            demo.baseline_progress_write(restored=done[0], total=len(todo))

        demo.baseline_progress_write(restored=0, total=len(todo))
        try:
            report = baselines_run(plan=plan, jobs=max(1, options["jobs"]), actor=organizer, on_done=one_done)
        finally:
            bar.close()
        for line in report.failed:
            self.stderr.write(self.style.WARNING(f"    could not run {line}"))
        entered = list(report.entered)
        if options["deep_models"] != "none":
            names = deep_model_names(options["deep_models"])
            self.say("==> deep methods as model submissions (exported to ONNX, run in the sandbox)")
            try:
                models = deep_models_enter(phases=phases, names=names, actor=organizer)
            except BaselineError as error:
                raise CommandError(str(error)) from None
            self.say(f"    {len(models.entered)} entered, {len(models.skipped)} already entered")
            demo.baseline_progress_write(restored=len(todo), total=len(todo), models_entered=True)
            for line in models.failed:
                self.stderr.write(self.style.WARNING(f"    could not enter {line}"))
            entered += models.entered
        self.say("==> scoring (the leaderboards fill as the worker scores)")
        if not baselines_wait(phases=phases, timeout_s=options["timeout"], poll_s=1.0, progress=self.say):
            raise CommandError(
                f"baselines still unscored after {options['timeout']:.0f} s; is a worker running? "
                f"(the embedded one logs to {settings.VAR_DIR / 'demo-worker.log'})"
            )
        for submission in Submission.objects.filter(pk__in=[s.pk for s in entered], status="failed"):
            self.stderr.write(
                self.style.WARNING(
                    f"    {submission.method_name} on {submission.phase} failed: {submission.failure_reason}"
                )
            )

    def report(self, phases, accounts, team, options) -> None:
        base = f"http://{options['addrport']}"
        self.say("")
        self.say(self.style.SUCCESS("RestoreBench demo is ready."))
        self.say(f"  site:         {base}/")
        self.say(f"  organizer:    {demo.ORGANIZER[0]} / {demo.ORGANIZER[1]}   (admin: {base}/admin/)")
        self.say(
            f"  participant:  {demo.PARTICIPANT[0]} / {demo.PARTICIPANT[1]}   "
            f"(team {team.name!r}, entered in every track)"
        )
        self.say("  leaderboards:")
        for phase in phases:
            self.say(
                f"    {phase.track.title} · {phase.title}: {phase.baselines_scored} baseline row(s)  "
                f"{base}/phases/{phase.pk}/leaderboard/"
            )
