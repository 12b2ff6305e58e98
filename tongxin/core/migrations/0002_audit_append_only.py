"""The database itself refuses UPDATE and DELETE on audit records (SECURITY.md 10)."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER core_auditrecord_no_update BEFORE UPDATE ON core_auditrecord
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    """CREATE TRIGGER core_auditrecord_no_delete BEFORE DELETE ON core_auditrecord
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS core_auditrecord_no_update",
    "DROP TRIGGER IF EXISTS core_auditrecord_no_delete",
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION core_auditrecord_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit records are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER core_auditrecord_append_only BEFORE UPDATE OR DELETE ON core_auditrecord
       FOR EACH ROW EXECUTE FUNCTION core_auditrecord_refuse()""",
    # TRUNCATE bypasses row triggers; refuse it with a statement trigger.
    """CREATE TRIGGER core_auditrecord_no_truncate BEFORE TRUNCATE ON core_auditrecord
       FOR EACH STATEMENT EXECUTE FUNCTION core_auditrecord_refuse()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS core_auditrecord_no_truncate ON core_auditrecord",
    "DROP TRIGGER IF EXISTS core_auditrecord_append_only ON core_auditrecord",
    "DROP FUNCTION IF EXISTS core_auditrecord_refuse()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
