"""Hooks from lower layers: an alert changed (sent after commit), a check-in was recorded (inside its
transaction), a treatment course was saved."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from kombu.exceptions import OperationalError as BrokerError

from monitoring.signals import alert_changed
from notifications.services.reminders import reminder_reschedule
from tracker.models import Patient, TreatmentCourse
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


def _reschedule_after_commit(patient_id: int, *, inline_if_broker_down: bool) -> None:
    """After commit, hand the reschedule to a worker (`reschedule_reminders`), off the request."""

    def _send() -> None:
        from notifications.tasks import reschedule_reminders

        try:
            reschedule_reminders.delay(patient_id)
        except (BrokerError, ConnectionError, OSError) as exc:
            if not inline_if_broker_down:
                logger.warning("Broker unavailable; reminders of patient %s are rescheduled by the scan: %s",
                               patient_id, exc)
                return
            logger.warning("Broker unavailable; rescheduling the reminders of patient %s here: %s", patient_id, exc)
            reminder_reschedule(patient=Patient.objects.select_related("center").get(pk=patient_id))

    transaction.on_commit(_send, robust=True)


@receiver(checkin_recorded, dispatch_uid="notifications.checkin_reminders")
def on_checkin(sender, checkin, **kwargs) -> None:
    """A complete check-in moves the next reminder on. Without a broker that can wait: the scan finds the
    check-in on the expected date at the reminder time, sends nothing and reschedules then."""
    if checkin.is_complete:
        _reschedule_after_commit(checkin.patient_id, inline_if_broker_down=False)


@receiver(post_save, sender=TreatmentCourse, dispatch_uid="notifications.course_reminders")
def on_course_saved(sender, instance, **kwargs) -> None:
    """A course started, ended or changed dates. The scan would not notice a course that ended, so without
    a broker this one is done here (course saves are rare staff actions, not the check-in path)."""
    _reschedule_after_commit(instance.patient_id, inline_if_broker_down=True)
