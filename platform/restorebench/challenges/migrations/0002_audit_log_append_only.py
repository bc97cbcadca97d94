"""Make the audit log append-only in the database itself (PostgreSQL): UPDATE and DELETE are refused
by a trigger, so not even code that bypasses the model can rewrite history. SQLite (the embedded demo)
relies on the model's guards."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION restorebench_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'challenges_auditlogentry is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON challenges_auditlogentry
    FOR EACH ROW EXECUTE FUNCTION restorebench_audit_log_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_log_append_only ON challenges_auditlogentry;
DROP FUNCTION IF EXISTS restorebench_audit_log_append_only();
"""


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("challenges", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
