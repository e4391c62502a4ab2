"""Hooks from lower layers: an alert changed (sent after commit), a check-in was recorded (inside its
transaction), a treatment course was saved."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from kombu.exceptions import OperationalError as BrokerError

from monitoring.signals import alert_changed
from notifications.services.reminders import reminder_reschedule
from tracker.models import TreatmentCourse
from tracker.signals import checkin_recorded

logger = logging.getLogger(__name__)


@receiver(alert_changed, dispatch_uid="notifications.alert_changed")
def on_alert_changed(sender, alert_id: int, kind: str, **kwargs) -> None:
    """Fast path: a worker writes and sends the rows at once. If the broker is down, the sweep finds the
    alert without notifications and delivers when it is back."""
    from notifications.tasks import notify_alert_changed

    try:
        notify_alert_changed.delay(alert_id, kind)
    except (BrokerError, ConnectionError, OSError) as exc:
        logger.warning("Broker unavailable; alert %s waits for the sweep: %s", alert_id, exc)


@receiver(checkin_recorded, dispatch_uid="notifications.checkin_reminders")
def on_checkin(sender, checkin, **kwargs) -> None:
    if checkin.is_complete:
        patient = checkin.patient
        transaction.on_commit(lambda: reminder_reschedule(patient=patient), robust=True)


@receiver(post_save, sender=TreatmentCourse, dispatch_uid="notifications.course_reminders")
def on_course_saved(sender, instance, **kwargs) -> None:
    patient = instance.patient
    transaction.on_commit(lambda: reminder_reschedule(patient=patient), robust=True)
