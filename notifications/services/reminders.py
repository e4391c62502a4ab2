"""Check-in reminders at each patient's local reminder time (center policy), a second reminder, then the
team's nurse. Daily through the CAR T daily period (clinical-rules §3), then every `checkin_interval_days`.
Times are built in the patient's IANA zone, so daylight-saving changes neither skip nor repeat a day; the
de-duplication key (patient, expected date, stage, recipient, channel) makes a repeated scan harmless."""

import datetime as dt
import zoneinfo

from django.db import transaction
from django.utils import timezone

from monitoring.rules.policy import parse_local_time
from monitoring.selectors import next_checkin_expected
from monitoring.services.policy import policy_for_center
from notifications.models import NotificationKind, ReminderState
from notifications.services.outbox import notification_create
from notifications.services.routing import ChainRole, channels_for, contact_for, on_call, patient_channels
from tracker.models import Patient
from tracker.models.therapies import CourseStatus
from tracker.selectors import logged_dates

Stage = ReminderState.Stage


def local_datetime(day: dt.date, hhmm: str, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    hour, minute = parse_local_time(hhmm)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def reminder_reschedule(*, patient: Patient, now: dt.datetime | None = None) -> ReminderState | None:
    """Work out the next local date a check-in is expected and when its first reminder is due."""
    now = now or timezone.now()
    policy = policy_for_center(patient.center)
    expected = next_checkin_expected(patient, now, policy)
    if expected is None:
        ReminderState.objects.filter(patient=patient).update(next_due_at=None)
        return None
    due = local_datetime(expected, policy.reminder_local_time, patient.tz)
    state, _ = ReminderState.objects.update_or_create(
        patient=patient, defaults={"expected_on": expected, "stage": Stage.WAITING, "next_due_at": due})
    return state


def _remind_patient(patient: Patient, state: ReminderState, stage: int) -> int:
    people = [u for u in [patient.user, *patient.caregivers.filter(is_active=True)] if u is not None]
    sent = 0
    for user in people:
        for channel in patient_channels(user, patient):
            sent += bool(notification_create(
                dedup_key=f"reminder:{patient.uuid}:{state.expected_on}:{stage}:user{user.pk}:{channel}",
                kind=NotificationKind.REMINDER, channel=channel, patient=patient, recipient=user,
                language=patient.preferred_language if user == patient.user else user.preferred_language,
                context={"link": f"/patients/{patient.uuid}/checkin/", **contact_for(user, patient)},
            ))
    return sent


def _tell_nurse(patient: Patient, state: ReminderState, now: dt.datetime) -> int:
    sent = 0
    for user in on_call(patient.care_team, ChainRole.PRIMARY_NURSE, now):
        for channel in channels_for(user, urgency=None):
            if channel == "sms":
                continue  # a missed check-in is not a page
            sent += bool(notification_create(
                dedup_key=f"missed:{patient.uuid}:{state.expected_on}:user{user.pk}:{channel}",
                kind=NotificationKind.MISSED_CHECKIN, channel=channel, patient=patient, recipient=user,
                language=user.preferred_language, context={"link": f"/patients/{patient.uuid}/"},
            ))
    return sent


def reminder_advance(*, state_id: int, now: dt.datetime | None = None) -> str:
    """Take one due reminder step for one patient. Returns what was done."""
    now = now or timezone.now()
    with transaction.atomic():
        state = (ReminderState.objects.select_for_update(skip_locked=True, of=("self",))
                 .select_related("patient__center", "patient__care_team", "patient__user")
                 .filter(pk=state_id, next_due_at__lte=now).first())
        if state is None:
            return "not due"
        patient = state.patient
        policy = policy_for_center(patient.center)
        if state.expected_on in logged_dates(patient, start=state.expected_on, end=state.expected_on):
            reminder_reschedule(patient=patient, now=now)
            return "logged"
        first = local_datetime(state.expected_on, policy.reminder_local_time, patient.tz)
        second = first + dt.timedelta(minutes=policy.second_reminder_minutes)
        if state.stage == Stage.WAITING:
            _remind_patient(patient, state, 1)
            state.stage, state.next_due_at = Stage.FIRST_SENT, second
            outcome = "first reminder"
        elif state.stage == Stage.FIRST_SENT:
            _remind_patient(patient, state, 2)
            state.stage = Stage.SECOND_SENT
            state.next_due_at = second + dt.timedelta(minutes=policy.missed_checkin_nurse_minutes)
            outcome = "second reminder"
        else:
            _tell_nurse(patient, state, now)
            # Overdue patients are expected again the next day.
            state.expected_on = state.expected_on + dt.timedelta(days=1)
            state.stage = Stage.WAITING
            state.next_due_at = local_datetime(state.expected_on, policy.reminder_local_time, patient.tz)
            outcome = "nurse told"
        state.save(update_fields=["expected_on", "stage", "next_due_at"])
        return outcome


def reminders_ensure_states(*, now: dt.datetime | None = None) -> int:
    """Patients with an active course but no reminder schedule get one."""
    missing = Patient.objects.filter(courses__status=CourseStatus.ACTIVE, reminder_state__isnull=True).distinct()
    count = 0
    for patient in missing.select_related("center"):
        reminder_reschedule(patient=patient, now=now)
        count += 1
    return count


def reminders_due(now: dt.datetime) -> list[int]:
    return list(ReminderState.objects.filter(next_due_at__lte=now).values_list("pk", flat=True)[:5000])
