"""The notice that a window after T-cell engager doses ended (clinical-rules §8): no driving (48 h after the last
step-up dose) and tarlatamab's stay within 1 hour of care (48 h from the start of the infusion), told once each to
the patient, caregivers and the team's nurse, translated, hour-precise across the 2026-11-01 DST change; none for a
window still covered by another of its kind, cleared, or long past."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from monitoring.models import DoseWindow, DoseWindowKind
from notifications.models import Notification
from notifications.services.digest import window_ends_notify
from tests.factories import CaregiverLinkFactory, CheckInFactory
from tests.notifications.notif_support import new_patient, reachable
from tracker.dose_services import dose_record

NY = zoneinfo.ZoneInfo("America/New_York")


def ny(month, day, hour, minute=0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=NY)


@pytest.fixture
def deliver(eager_tasks, outside_calls, django_capture_on_commit_callbacks):
    def _run(moment):
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            return window_ends_notify(now=moment)
    return _run


@pytest.fixture
def tarla(team_a, nurse, django_capture_on_commit_callbacks):
    """Tarlatamab SU1 on Friday 30 October 10:00 EDT: stay within 1 hour until Sunday 09:00 EST (48 real h)."""
    reachable(nurse)
    patient = new_patient(team_a, therapy_code="tarlatamab", start=dt.date(2026, 10, 29))
    reachable(patient.user)
    caregiver = CaregiverLinkFactory(patient=patient).user
    reachable(caregiver)
    start = ny(10, 30, 10)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        dose_record(course=patient.courses.get(), recorded_by=nurse, values={
            "step_code": "su1", "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
            "setting": "infusion_center", "kept_for_monitoring": False})
    return patient


def rows_of(window):
    return Notification.objects.filter(kind="window_end", dedup_key__startswith=f"window_end:{window.uuid}:")


def test_the_stay_nearby_window_end_is_told_once_to_everyone_at_its_hour(tarla, nurse, deliver, outside_calls):
    nearby = DoseWindow.objects.get(course__patient=tarla, kind=DoseWindowKind.NEARBY)
    assert nearby.closes_at == ny(11, 1, 9) and nearby.closes_at.astimezone(NY).tzname() == "EST"
    assert deliver(ny(11, 1, 8, 59)) == 0
    assert deliver(ny(11, 1, 9, 10)) == 1
    rows = rows_of(nearby)
    caregiver = tarla.caregivers.get()
    assert {(r.recipient_id, r.channel) for r in rows} == {
        (tarla.user_id, "inapp"), (tarla.user_id, "sms"), (caregiver.pk, "inapp"), (caregiver.pk, "sms"),
        (nurse.pk, "inapp")}
    assert all(r.context["window_kind"] == "dose_nearby" for r in rows)
    texts = [s["text"] for s in outside_calls.sms()]
    assert any("You no longer need to stay within 1 hour of your treatment center" in t for t in texts)
    assert all(tarla.full_name not in t for t in texts)  # no names in SMS
    count = Notification.objects.count()
    assert deliver(ny(11, 1, 9, 25)) == 0  # once
    assert Notification.objects.count() == count


def test_in_spanish_for_a_spanish_speaking_patient(tarla, deliver, outside_calls):
    tarla.user.preferred_language = "es"
    tarla.user.save(update_fields=["preferred_language"])
    deliver(ny(11, 1, 9, 10))
    [text] = [s["text"] for s in outside_calls.sms() if s["to"] == tarla.user.phone]
    assert text.startswith("Ya no necesita quedarse a menos de 1 hora de su centro de tratamiento.")


def test_the_no_driving_window_end_is_told_when_it_closes(tarla, nurse, deliver, outside_calls):
    course = tarla.courses.get()
    start = ny(11, 6, 10)  # the first treatment dose completes the step-up schedule
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        dose_record(course=course, recorded_by=nurse, values={
            "step_code": "first_treatment", "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
            "setting": "infusion_center", "kept_for_monitoring": False})
    driving = DoseWindow.objects.get(course=course, kind=DoseWindowKind.DRIVING, dose__isnull=False)
    assert driving.closes_at == ny(11, 8, 10, 5)
    deliver(ny(11, 8, 10))
    assert not rows_of(driving).exists()
    deliver(ny(11, 8, 10, 15))
    assert rows_of(driving).filter(recipient=tarla.user, channel="sms").exists()
    assert any("no-driving period has ended" in s["text"] for s in outside_calls.sms())


def test_no_notice_while_a_neurologic_finding_still_forbids_driving(tarla, nurse, deliver):
    course = tarla.courses.get()
    start = ny(11, 6, 10)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        dose_record(course=course, recorded_by=nurse, values={
            "step_code": "first_treatment", "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
            "setting": "infusion_center", "kept_for_monitoring": False})
    neuro = DoseWindow.objects.create(course=course, kind=DoseWindowKind.DRIVING, reason="driving_neuro_finding",
                                      checkin=CheckInFactory(patient=tarla, recorded_at=ny(11, 7, 9)),
                                      opens_at=ny(11, 7, 9))
    driving = DoseWindow.objects.get(course=course, kind=DoseWindowKind.DRIVING, dose__isnull=False)
    deliver(ny(11, 8, 10, 15))
    driving.refresh_from_db()
    assert driving.end_notified_at is not None and not rows_of(driving).exists()
    assert not rows_of(neuro).exists()


def test_a_window_that_ended_long_ago_gets_no_notice(tarla, deliver):
    nearby = DoseWindow.objects.get(course__patient=tarla, kind=DoseWindowKind.NEARBY)
    assert deliver(ny(11, 2, 9, 30)) == 0  # 24 h and a half after it closed
    assert not rows_of(nearby).exists()
