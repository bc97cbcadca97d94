"""Count the writes to each team's submissions in a phase (`TeamChanges`) in the database itself
(PostgreSQL): a trigger on every insert, update and delete of a submission, so that no write path (the
admin, `QuerySet.update`, `bulk_create`, raw SQL) can leave a maintained `TeamPick` looking current.
A delete, and an update that keeps the team, only bump an existing count: a team being deleted must not
get a row back. Existing submissions get their counts here. SQLite (the embedded demo) picks each
team's representative from scratch and needs none of it."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION restorebench_team_submissions_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.team_id IS NOT NULL THEN
            UPDATE leaderboards_teamchanges SET changes = changes + 1
            WHERE phase_id = OLD.phase_id AND team_id = OLD.team_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.team_id IS NOT NULL THEN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO leaderboards_teamchanges (phase_id, team_id, changes)
                VALUES (NEW.phase_id, NEW.team_id, 1)
                ON CONFLICT (phase_id, team_id) DO UPDATE SET changes = leaderboards_teamchanges.changes + 1;
            ELSIF NEW.team_id IS DISTINCT FROM OLD.team_id OR NEW.phase_id <> OLD.phase_id THEN
                INSERT INTO leaderboards_teamchanges (phase_id, team_id, changes)
                VALUES (NEW.phase_id, NEW.team_id, 1)
                ON CONFLICT (phase_id, team_id) DO UPDATE SET changes = leaderboards_teamchanges.changes + 1;
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER submission_team_changes
    AFTER INSERT OR UPDATE OR DELETE ON submissions_submission
    FOR EACH ROW EXECUTE FUNCTION restorebench_team_submissions_changed();
INSERT INTO leaderboards_teamchanges (phase_id, team_id, changes)
    SELECT DISTINCT phase_id, team_id, 1 FROM submissions_submission WHERE team_id IS NOT NULL
    ON CONFLICT (phase_id, team_id) DO NOTHING;
"""
DROP = """
DROP TRIGGER IF EXISTS submission_team_changes ON submissions_submission;
DROP FUNCTION IF EXISTS restorebench_team_submissions_changed();
"""


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("leaderboards", "0002_team_picks")]
    operations = [migrations.RunPython(forwards, backwards)]
