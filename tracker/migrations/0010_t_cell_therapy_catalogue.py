from django.db import migrations


def load(apps, schema_editor):
    """The §8 fields (label date, unverified and policy markers, dose schedule templates) and the §8 products:
    migration 0002 loaded the catalogue with the fields of its time only."""
    from tracker.catalogue import sync_catalogue

    sync_catalogue(apps.get_model("tracker", "Therapy"))


class Migration(migrations.Migration):
    dependencies = [("tracker", "0009_doses_and_t_cell_therapies")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
