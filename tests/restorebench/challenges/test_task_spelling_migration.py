"""Migration 0006 gives stored tracks the task table's one spelling: `super_resolution` becomes `sr`,
and the database's check constraint then admits exactly the table's tasks."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from benchdata.tasks import task_names

BEFORE = [("challenges", "0005_track_leaderboards_phase_final")]
AFTER = [("challenges", "0006_task_spellings_from_the_task_table")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_stored_super_resolution_track_becomes_sr():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE)
        challenge = old.get_model("challenges", "Challenge").objects.create(slug="old", title="Old")
        track = old.get_model("challenges", "Track").objects.create(
            challenge=challenge, slug="sr4", title="SR", task="super_resolution", ranking_metrics=[]
        )
        new = _migrate(AFTER)
        Track = new.get_model("challenges", "Track")
        assert Track.objects.get(pk=track.pk).task == "sr"
        with pytest.raises(IntegrityError), transaction.atomic():
            Track.objects.create(
                challenge_id=challenge.pk, slug="x", title="X", task="super_resolution", ranking_metrics=[]
            )
        for i, name in enumerate(task_names()):
            Track.objects.create(
                challenge_id=challenge.pk, slug=f"t{i}", title=name, task=name, ranking_metrics=[]
            )
    finally:
        _migrate(latest)
