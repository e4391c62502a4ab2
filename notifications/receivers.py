"""Hooks from lower layers (the table in tracker/signals.py): an alert changed, a check-in was recorded and
device readings were stored (all sent after commit), a treatment course was saved, invitations and password
resets."""

import logging

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from monitoring.services.stream_grading import readings_request_grading
from monitoring.signals import alert_changed, checkin_recorded, readings_stored
from notifications.services.accounts import invitation_notify, password_reset_notify
from notifications.services.enqueue import publish, publish_on_commit
from notifications.services.reminders import reminder_reschedule
from tracker.models import Patient, TreatmentCourse
from tracker.signals import dose_corrected, dose_recorded, invitation_issued, password_reset_requested

logger = logging.getLogger(__name__)


@receiver(alert_changed, dispatch_uid="notifications.alert_changed")
def on_alert_changed(sender, alert_id: int, kind: str, **kwargs) -> None:
    """Fast path (already after commit): a worker writes and sends the rows at once. If the broker is
    down, the sweep finds the alert without notifications and delivers when it is back."""
    publish("notifications.tasks.alert_notify_now_task", alert_id, kind, what=f"alert {alert_id}")


def _reschedule_after_commit(patient_id: int, *, inline_if_broker_down: bool) -> None:
    """After commit, hand the reschedule to a worker (`reminder_reschedule_task`), off the request."""

    def inline() -> None:
        logger.warning("Rescheduling the reminders of patient %s here (broker unavailable)", patient_id)
        reminder_reschedule(patient=Patient.objects.select_related("center").get(pk=patient_id))

    publish_on_commit("notifications.tasks.reminder_reschedule_task", patient_id,
                      what=f"the reminder reschedule of patient {patient_id}",
                      if_broker_down=inline if inline_if_broker_down else None)


@receiver(checkin_recorded, dispatch_uid="notifications.checkin_reminders")
def on_checkin_recorded(sender, patient_id: int, moves_reminders: bool, **kwargs) -> None:
    """The first complete check-in of a local date moves the next reminder on (already after commit: a worker
    does it, off the request); a later one that day changes nothing the reschedule reads (the last complete
    check-in's date). Without a broker that can wait: the scan finds the check-in on the expected date at the
    reminder time, sends nothing and reschedules then."""
    if moves_reminders:
        publish("notifications.tasks.reminder_reschedule_task", patient_id,
                what=f"the reminder reschedule of patient {patient_id}")


@receiver(readings_stored, dispatch_uid="notifications.readings_stored")
def on_readings_stored(sender, patients: dict, urgent: frozenset = frozenset(), **kwargs) -> None:
    """A batch of device readings was stored (already after commit): each patient's marker remembers from when
    readings wait for grading, then a worker grades them (clinical-rules §10): on the `readings` queue, or on the
    default queue, ahead of that backlog, for the `urgent` patients (a reading past a limit). If the broker is
    down, or the task is lost, the readings sweep grades them within a minute or two
    (`readings_grade_missed_task`)."""
    try:
        readings_request_grading(patients=patients)
    except Exception:  # the sweep finds readings received after the last grading even without the marker
        logger.exception("Could not mark the readings of %s patients for grading", len(patients))
    for patient_id, since in sorted(patients.items()):
        publish("notifications.tasks.readings_grade_task", patient_id, since.isoformat(),
                what=f"grading the readings of patient {patient_id}",
                queue=settings.CELERY_TASK_DEFAULT_QUEUE if patient_id in urgent else settings.READINGS_QUEUE)


@receiver(post_save, sender=TreatmentCourse, dispatch_uid="notifications.course_reminders")
def on_course_saved(sender, instance, **kwargs) -> None:
    """A course started, ended or changed dates. The scan would not notice a course that ended, so without
    a broker this one is done here (course saves are rare staff actions, not the check-in path)."""
    _reschedule_after_commit(instance.patient_id, inline_if_broker_down=True)


@receiver(dose_recorded, dispatch_uid="notifications.dose_recorded_reminders")
@receiver(dose_corrected, dispatch_uid="notifications.dose_corrected_reminders")
def on_dose_changed(sender, course_id: int, **kwargs) -> None:
    """A step-up or first full dose starts 12-hourly check-ins (clinical-rules §8, policy): the reminders move
    to its slots after commit (inline without a broker: a dose is a rare staff action, and the first slot is
    only hours away)."""
    patient_id = TreatmentCourse.objects.filter(pk=course_id).values_list("patient_id", flat=True).first()
    if patient_id is not None:
        _reschedule_after_commit(patient_id, inline_if_broker_down=True)


@receiver(invitation_issued, dispatch_uid="notifications.invitation_issued")
def on_invitation_issued(sender, invitation, **kwargs) -> dict:
    """Inside the enrolment's transaction: the invitation's message goes in the outbox with the accounts."""
    return {"channel": invitation_notify(invitation=invitation)}


@receiver(password_reset_requested, dispatch_uid="notifications.password_reset_requested")
def on_password_reset_requested(sender, user, **kwargs) -> None:
    password_reset_notify(user=user)
