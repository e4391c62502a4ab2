import django.utils.timezone
from django.db import migrations, models


def schedule(apps, schema_editor):
    from notifications.beat_schedule import sync_schedule

    sync_schedule(apps.get_model("django_celery_beat", "IntervalSchedule"),
                  apps.get_model("django_celery_beat", "PeriodicTask"),
                  apps.get_model("notifications", "TaskHeartbeat"))


class Migration(migrations.Migration):
    """When each periodic task last completed and failed (queue health), and the worker heartbeat in the beat
    schedule; every scheduled task gets its row now, so one that never runs shows as stale."""

    dependencies = [("notifications", "0004_sweep_every_15_seconds")]

    operations = [
        migrations.CreateModel(
            name="TaskHeartbeat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("task", models.CharField(help_text="The Celery task name.", max_length=200, unique=True)),
                ("last_success_at", models.DateTimeField(blank=True, null=True)),
                ("last_failure_at", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.CharField(
                    blank=True, max_length=200,
                    help_text="The exception class of the last failure (never its message, which could carry data).")),
                ("hostname", models.CharField(blank=True, help_text="The host that ran the task last.", max_length=200)),
                ("created_at", models.DateTimeField(
                    default=django.utils.timezone.now,
                    help_text="A task that never completed is measured from here (the deployment).")),
            ],
        ),
        migrations.RunPython(schedule, migrations.RunPython.noop),
    ]
