"""The database refuses UPDATE of the outreach transition tables: history rows are only inserted.

DELETE stays possible because test runs flush tables; the application never deletes them.
"""

from django.db import migrations

TABLES = (
    "outreach_wishtransition",
    "outreach_ordertransition",
    "outreach_signuptransition",
    "outreach_hoursclaimtransition",
)

SQLITE = [
    f"""CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t}
        BEGIN SELECT RAISE(ABORT, 'outreach transitions are append-only'); END"""
    for t in TABLES
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {t}_no_update" for t in TABLES]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION outreach_transition_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'outreach transitions are append-only'; END; $$ LANGUAGE plpgsql""",
    *[
        f"""CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t}
            FOR EACH ROW EXECUTE FUNCTION outreach_transition_refuse()"""
        for t in TABLES
    ],
]
POSTGRES_DROP = [
    *[f"DROP TRIGGER IF EXISTS {t}_no_update ON {t}" for t in TABLES],
    "DROP FUNCTION IF EXISTS outreach_transition_refuse()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("outreach", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        ),
    ]
