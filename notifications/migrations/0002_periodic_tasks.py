from django.db import migrations


def schedule(apps, schema_editor):
    from notifications.beat_schedule import sync_schedule

    sync_schedule(apps.get_model("django_celery_beat", "IntervalSchedule"),
                  apps.get_model("django_celery_beat", "PeriodicTask"))


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
