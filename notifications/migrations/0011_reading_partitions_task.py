from django.db import migrations


def schedule(apps, schema_editor):
    from notifications.beat_schedule import sync_schedule

    sync_schedule(apps.get_model("django_celery_beat", "IntervalSchedule"),
                  apps.get_model("django_celery_beat", "PeriodicTask"),
                  apps.get_model("notifications", "TaskHeartbeat"))


class Migration(migrations.Migration):
    """The hourly upkeep of the device readings' partitions (make the coming days', summarise and drop the old)
    joins the beat schedule."""

    dependencies = [("notifications", "0010_invitation_delivery_status"), ("tracker", "0014_reading_partitions")]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
