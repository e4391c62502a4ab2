from django.db import migrations


def schedule(apps, schema_editor):
    from notifications.beat_schedule import sync_schedule

    sync_schedule(apps.get_model("django_celery_beat", "IntervalSchedule"),
                  apps.get_model("django_celery_beat", "PeriodicTask"),
                  apps.get_model("notifications", "TaskHeartbeat"))


class Migration(migrations.Migration):
    """The hourly purge of expired idempotency keys joins the beat schedule."""

    dependencies = [("notifications", "0006_context_without_contact_details"), ("tracker", "0006_idempotency_records")]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
