"""Every periodic task, defined in one place. `sync_schedule` writes them to django-celery-beat's tables
(run by a migration and by `manage.py sync_schedule`); intervals stay editable in the admin afterwards."""

SCHEDULE = {
    # name: (task, every seconds)
    "Sweep the notification outbox": ("notifications.tasks.sweep_outbox", 30),
    "Escalate unacknowledged alerts": ("notifications.tasks.scan_escalations", 30),
    "Check-in reminders": ("notifications.tasks.scan_reminders", 60),
    "Morning digests": ("notifications.tasks.scan_digests", 300),
    "Window end notices": ("notifications.tasks.scan_window_ends", 900),
}


def sync_schedule(interval_model, periodic_task_model) -> int:
    for name, (task, seconds) in SCHEDULE.items():
        interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        periodic_task_model.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True})
    return len(SCHEDULE)
