from django.db import migrations


def schedule(apps, schema_editor):
    from notifications.beat_schedule import sync_schedule

    sync_schedule(apps.get_model("django_celery_beat", "IntervalSchedule"),
                  apps.get_model("django_celery_beat", "PeriodicTask"))


class Migration(migrations.Migration):
    """The outbox sweep now also sends retries that are due (they no longer wait in the broker), so it
    runs every 15 s; re-written from notifications/beat_schedule.py."""

    dependencies = [("notifications", "0003_notification_claimed_by")]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
