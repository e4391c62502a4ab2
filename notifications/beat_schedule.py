"""Every periodic task, defined in one place. `sync_schedule` writes them to django-celery-beat's tables
(run by a migration and by `manage.py sync_schedule`); intervals stay editable in the admin afterwards."""

SCHEDULE = {
    # name: (task, every seconds)
    "Sweep the notification outbox": ("notifications.tasks.outbox_sweep_task", 15),
    "Escalate unacknowledged alerts": ("notifications.tasks.alerts_escalate_due_task", 30),
    "Check-in reminders": ("notifications.tasks.reminders_advance_due_task", 60),
    # clinical-rules §10: streaming devices silent in a risk period; readings no grading task graded.
    "Device silence scan": ("notifications.tasks.device_silence_scan_task", 60),
    "Grade missed device readings": ("notifications.tasks.readings_grade_missed_task", 60),
    "Morning digests": ("notifications.tasks.digests_send_due_task", 300),
    "Window end notices": ("notifications.tasks.window_ends_notify_task", 900),
    # Idempotency keys older than IDEMPOTENCY_KEY_HOURS (tracker/idempotency.py).
    "Purge expired idempotency keys": ("notifications.tasks.idempotency_purge_task", 3600),
    # Device readings (clinical-rules §10): the coming days' partitions, then five-minute summaries of the raw
    # readings older than READINGS_RETENTION_DAYS and their partitions dropped (tracker/reading_storage.py).
    "Reading partitions": ("notifications.tasks.reading_partitions_maintain_task", 3600),
    # Proves a worker can take a task from the broker and write to the database (queue health reads it).
    "Worker heartbeat": ("notifications.tasks.worker_heartbeat_task", 30),
}
HEARTBEAT_TASK = "notifications.tasks.worker_heartbeat_task"


def sync_schedule(interval_model, periodic_task_model, heartbeat_model=None) -> int:
    """With `heartbeat_model`, each task also gets its TaskHeartbeat row, so queue health measures a task
    that has never completed from the time it was scheduled."""
    for name, (task, seconds) in SCHEDULE.items():
        interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        periodic_task_model.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True})
        if heartbeat_model is not None:
            heartbeat_model.objects.get_or_create(task=task)
    return len(SCHEDULE)
