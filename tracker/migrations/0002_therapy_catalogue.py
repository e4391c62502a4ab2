from django.db import migrations


def load(apps, schema_editor):
    from tracker.catalogue import sync_catalogue

    sync_catalogue(apps.get_model("tracker", "Therapy"))


class Migration(migrations.Migration):
    dependencies = [("tracker", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
