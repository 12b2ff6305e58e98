"""The database refuses UPDATE of the co-building history rows (they are only inserted).

DELETE stays possible because test runs flush tables and a deleted draft takes its rows with
it; the application never edits a history row.
"""

from django.db import migrations

TABLES = [
    "cobuild_agreementtransition",
    "cobuild_commitmenttransition",
    "cobuild_projecttransition",
    "cobuild_resolutionupdate",
]


def _sqlite(table):
    return (
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, 'co-building history is append-only'); END""",
        f"DROP TRIGGER IF EXISTS {table}_no_update",
    )


def _postgres(table):
    return (
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            FOR EACH ROW EXECUTE FUNCTION cobuild_history_refuse()""",
        f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}",
    )


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            """CREATE OR REPLACE FUNCTION cobuild_history_refuse() RETURNS trigger AS $$
               BEGIN RAISE EXCEPTION 'co-building history is append-only'; END; $$
               LANGUAGE plpgsql"""
        )
        for table in TABLES:
            schema_editor.execute(_postgres(table)[0])
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(_sqlite(table)[0])


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(_postgres(table)[1])
        schema_editor.execute("DROP FUNCTION IF EXISTS cobuild_history_refuse()")
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(_sqlite(table)[1])


class Migration(migrations.Migration):
    dependencies = [("cobuild", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
