from django.db import migrations
from django.utils import timezone

# Former Celery task name -> new name (notifications/tasks.py: each task named after its service).
RENAMED = {
    "notifications.tasks.deliver_notification": "notifications.tasks.notification_deliver_task",
    "notifications.tasks.notify_alert_changed": "notifications.tasks.alert_notify_now_task",
    "notifications.tasks.scan_escalations": "notifications.tasks.alerts_escalate_due_task",
    "notifications.tasks.scan_reminders": "notifications.tasks.reminders_advance_due_task",
    "notifications.tasks.reschedule_reminders": "notifications.tasks.reminder_reschedule_task",
    "notifications.tasks.scan_digests": "notifications.tasks.digests_send_due_task",
    "notifications.tasks.scan_window_ends": "notifications.tasks.window_ends_notify_task",
    "notifications.tasks.sweep_outbox": "notifications.tasks.outbox_sweep_task",
    "notifications.tasks.purge_idempotency_keys": "notifications.tasks.idempotency_purge_task",
    "notifications.tasks.worker_heartbeat": "notifications.tasks.worker_heartbeat_task",
}


def _rename(apps, names: dict[str, str]) -> None:
    """The beat rows run the task under its new name (intervals, enabled flags and run times kept), and each
    task keeps its heartbeat row: renamed, or, where a row under the new name exists already, dropped."""
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    heartbeat = apps.get_model("notifications", "TaskHeartbeat")
    for old, new in names.items():
        periodic_task.objects.filter(task=old).update(task=new)
        if heartbeat.objects.filter(task=new).exists():
            heartbeat.objects.filter(task=old).delete()
        else:
            heartbeat.objects.filter(task=old).update(task=new)
    # Beat reads its schedule again when this row changes.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def forwards(apps, schema_editor):
    _rename(apps, RENAMED)


def backwards(apps, schema_editor):
    _rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    """The periodic tasks were renamed after the services they run; the stored beat rows and heartbeat rows
    follow. The old names stay routable for one release (notifications/tasks.py)."""

    dependencies = [
        ("notifications", "0008_account_message_kinds"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
