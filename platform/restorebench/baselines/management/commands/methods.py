"""`manage.py methods [--task TASK]`: list the registered reference methods."""

from django.core.management.base import BaseCommand

from benchdata.tasks import task_names
from reference_methods.cli import methods_table


class Command(BaseCommand):
    help = "List the registered reference methods: name, family, tasks, SR scales, citation, known failures."

    def add_arguments(self, parser):
        parser.add_argument(
            "--task", choices=task_names(), default=None, help="only methods serving this task"
        )

    def handle(self, *args, **options):
        self.stdout.write(methods_table(options["task"]))
