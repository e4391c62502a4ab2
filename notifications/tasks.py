"""Celery tasks: thin wrappers taking ids and calling services. Beat only triggers the scans; the
database says what is due, so a missed tick or a restarted beat catches up on the next pass."""

import logging

from celery import shared_task
from django.db import OperationalError as DatabaseError

from notifications.services import alerts, delivery, digest, reminders, sweep

logger = logging.getLogger(__name__)

RETRYABLE = (DatabaseError,)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRYABLE,
             retry_backoff=True, retry_backoff_max=300, max_retries=10)
def deliver_notification(self, notification_id: int) -> str:
    outcome = delivery.notification_deliver(notification_id=notification_id)
    if outcome == "retry":
        schedule_retry(notification_id)
    return outcome


def schedule_retry(notification_id: int) -> None:
    """Send again after the row's backoff; if the broker is down, the sweep finds the pending row."""
    from kombu.exceptions import OperationalError as BrokerError

    from notifications.models import Notification

    row = Notification.objects.only("attempts").get(pk=notification_id)
    try:
        deliver_notification.apply_async((notification_id,), countdown=delivery.backoff(row.attempts).total_seconds())
    except (BrokerError, ConnectionError, OSError):
        logger.warning("Broker unavailable; notification %s waits for the sweep", notification_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=5)
def notify_alert_changed(alert_id: int, kind: str) -> None:
    alerts.alert_changed_notify(alert_id=alert_id, kind=kind)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def scan_escalations() -> int:
    return alerts.escalate_due_alerts()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def scan_reminders() -> int:
    """Every minute: schedules for patients without one, then the due rows in batches until none is due
    (bounded per tick: reminders.TICK_MAX_ROWS, TICK_MAX_SECONDS). Returns the rows advanced."""
    reminders.reminders_ensure_states()
    return reminders.reminders_scan(now=_now()).total()


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=5)
def reschedule_reminders(patient_id: int) -> str:
    """After a complete check-in: move the patient's next reminder on (off the web request). If this never
    runs, nothing is lost: the scan looks for a check-in on the expected date before reminding."""
    from tracker.models import Patient

    patient = Patient.objects.select_related("center").filter(pk=patient_id).first()
    if patient is None:
        return "no patient"
    state = reminders.reminder_reschedule(patient=patient)
    return "rescheduled" if state else "no active course"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def scan_digests() -> int:
    return digest.digests_send_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def scan_window_ends() -> int:
    return digest.window_end_notices()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_outbox() -> dict:
    return sweep.outbox_sweep()


def _now():
    from django.utils import timezone

    return timezone.now()
