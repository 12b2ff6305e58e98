"""The one BoundaryRevision row every process compares its point-in-grid index with."""

from django.db import migrations


def create_row(apps, schema_editor):
    BoundaryRevision = apps.get_model("grids", "BoundaryRevision")
    BoundaryRevision.objects.get_or_create(pk=1, defaults={"token": "initial", "changes": 0})


class Migration(migrations.Migration):
    dependencies = [("grids", "0001_initial")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
