from django.db import models
from django.utils import timezone


class TaskHeartbeat(models.Model):
    """When each periodic task (notifications/beat_schedule.py) last completed and last failed: one row per task,
    updated in place. The worker heartbeat is one of them, so a worker that cannot reach the database or the
    broker, or no worker at all, shows as a row that stops moving (`manage.py queue_health`, `/health/`)."""

    task = models.CharField(max_length=200, unique=True, help_text="The Celery task name.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(
        max_length=200, blank=True,
        help_text="The exception class of the last failure (never its message, which could carry data).")
    hostname = models.CharField(max_length=200, blank=True, help_text="The host that ran the task last.")
    created_at = models.DateTimeField(
        default=timezone.now, help_text="A task that never completed is measured from here (the deployment).")

    def __str__(self) -> str:
        return f"{self.task}: last success {self.last_success_at or 'never'}"
