"""Celery tasks: thin wrappers taking ids and calling services. Beat only triggers the scans; the
database says what is due, so a missed tick or a restarted beat catches up on the next pass."""

import logging

from celery import shared_task

from notifications.services import alerts, delivery, digest, reminders, sweep
from notifications.services.health import heartbeat_record, task_recorded
from notifications.services.retry import with_db_retry

logger = logging.getLogger(__name__)


# No task retries through the broker (countdown messages a worker holds unacknowledged are lost or fatal
# in a broker outage): a lost database connection is ridden out inside the task (with_db_retry), a
# failed delivery waits in its row (`next_attempt_at`) for the outbox sweep.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def deliver_notification(self, notification_id: int) -> str:
    return delivery.notification_deliver(notification_id=notification_id, task_id=self.request.id or "")


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def notify_alert_changed(self, alert_id: int, kind: str) -> None:
    with_db_retry(lambda: alerts.alert_changed_notify(alert_id=alert_id, kind=kind, task_id=self.request.id or ""),
                  what=f"notifying alert {alert_id}")


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def scan_escalations() -> int:
    return alerts.escalate_due_alerts()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def scan_reminders() -> int:
    """Every minute: schedules for patients without one, then the due rows in batches until none is due
    (bounded per tick: reminders.TICK_MAX_ROWS, TICK_MAX_SECONDS). Returns the rows advanced."""
    reminders.reminders_ensure_states()
    return reminders.reminders_scan(now=_now()).total()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reschedule_reminders(patient_id: int) -> str:
    """After a complete check-in: move the patient's next reminder on (off the web request). If this never
    runs, nothing is lost: the scan looks for a check-in on the expected date before reminding."""
    return with_db_retry(lambda: _reschedule(patient_id), what=f"rescheduling patient {patient_id}")


def _reschedule(patient_id: int) -> str:
    from tracker.models import Patient

    patient = Patient.objects.select_related("center").filter(pk=patient_id).first()
    if patient is None:
        return "no patient"
    state = reminders.reminder_reschedule(patient=patient)
    return "rescheduled" if state else "no active course"


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def scan_digests() -> int:
    return digest.digests_send_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def scan_window_ends() -> int:
    return digest.window_end_notices()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def sweep_outbox() -> dict:
    return sweep.outbox_sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def purge_idempotency_keys() -> int:
    from tracker.idempotency import idempotency_purge

    return idempotency_purge()


# Each scan above records its last success and failure (task_recorded). The heartbeat records only that a
# worker took it from the broker and wrote to the database; a late one is dropped, not run twice.
@shared_task(bind=True, expires=60)
def worker_heartbeat(self) -> str:
    heartbeat_record(self.name)
    return self.request.hostname or ""


def _now():
    from django.utils import timezone

    return timezone.now()
