"""Silence of a streaming device in a risk period (clinical-rules §10): 30 minutes → same-day alert and a reminder to
the patient, 2 h → urgent, closed by a "device back" event when readings resume."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Alert, AlertEvent, AlertStatus, DeviceSilence
from monitoring.services.stream_grading import readings_grade
from notifications.models import Notification, NotificationKind
from notifications.services.device_silence import device_silence_batch, device_silence_scan
from tests.factories import CourseFactory, PatientFactory
from tests.monitoring.stream_support import store, wear
from tracker.models import DeviceAssignment, Therapy
from tracker.models.devices import DeviceKind

ON = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=3)  # the course: 2 days ago


def scan_at(moment):
    with time_machine.travel(moment, tick=False):
        return device_silence_scan()


def silence_alert(patient):
    return Alert.objects.filter(patient=patient, condition="device_silence").exclude(
        status=AlertStatus.RESOLVED).first()


@pytest.fixture
def patch(patient, caregiver):
    return wear(patient, started_at=ON)


def test_silence_opens_same_day_at_30_minutes_with_a_reminder_and_urgent_at_2_hours(patient, caregiver, patch):
    store(patch, [37.0] * 3, start=ON)  # last reading received at ON + 4 min
    heard = ON + dt.timedelta(minutes=4)
    assert scan_at(heard + dt.timedelta(minutes=29)) == {"raised": 0, "ended": 0}
    assert silence_alert(patient) is None

    assert scan_at(heard + dt.timedelta(minutes=30))["raised"] == 1
    alert = silence_alert(patient)
    assert (alert.urgency, alert.rule_ids) == (2, ["stream.device_silence"])  # same-day: the nurse's task
    assert alert.evidence[0]["device"]["silent_since"] == heard.isoformat()
    reminders = Notification.objects.filter(kind=NotificationKind.DEVICE_SILENCE)
    assert {n.recipient_id for n in reminders} == {patient.user_id, caregiver.pk}
    assert scan_at(heard + dt.timedelta(minutes=31))["raised"] == 0  # raised once per stage
    assert silence_alert(patient).evidence == alert.evidence

    assert scan_at(heard + dt.timedelta(minutes=120))["raised"] == 1
    alert.refresh_from_db()
    assert alert.urgency == 3 and "stream.device_silence_urgent" in alert.rule_ids
    assert len(alert.evidence) == 1  # the same silence, now urgent
    assert AlertEvent.objects.filter(alert=alert, kind=AlertEvent.Kind.URGENCY_RAISED).count() == 1
    keys = sorted(Notification.objects.filter(kind=NotificationKind.DEVICE_SILENCE).values_list("dedup_key", flat=True))
    first = [k for k in keys if k.startswith(f"silence:{DeviceSilence.objects.get().pk}:1:")]
    again = [k for k in keys if k.startswith(f"silence:{DeviceSilence.objects.get().pk}:2:")]
    assert len(first) == len(again) == 2, keys  # again at the urgent stage, to the same people


def test_the_reminder_text_names_the_minutes_and_what_to_check(patient, patch):
    scan_at(ON + dt.timedelta(minutes=30))
    from notifications.channels.inapp import InAppChannel

    row = Notification.objects.filter(kind=NotificationKind.DEVICE_SILENCE, channel="inapp").first()
    body = InAppChannel().render(row, "body")
    assert "has not sent a reading for 30 minutes" in body and "phone is near" in body
    row.language = "es"
    assert "no ha enviado ninguna lectura en 30 minutos" in InAppChannel().render(row, "body")


def test_readings_resuming_close_the_alert_with_a_device_back_event(patient, patch):
    scan_at(ON + dt.timedelta(minutes=45))
    alert = silence_alert(patient)
    with time_machine.travel(ON + dt.timedelta(minutes=50), tick=False):
        since = store(patch, [37.0] * 2, start=ON + dt.timedelta(minutes=47))
        readings_grade(patient_id=patient.pk, since=since)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by is None
    event = AlertEvent.objects.get(alert=alert, kind=AlertEvent.Kind.DEVICE_BACK)
    assert event.actor is None and event.new_status == AlertStatus.RESOLVED
    silence = DeviceSilence.objects.get(assignment=patch)
    assert silence.end_reason == DeviceSilence.EndReason.DEVICE_BACK
    assert scan_at(ON + dt.timedelta(minutes=51)) == {"raised": 0, "ended": 0}


def test_the_scan_closes_a_silence_whose_device_came_back_without_grading(patient, patch):
    scan_at(ON + dt.timedelta(minutes=45))
    DeviceAssignment.objects.filter(pk=patch.pk).update(last_received_at=ON + dt.timedelta(minutes=46))
    assert scan_at(ON + dt.timedelta(minutes=47)) == {"raised": 0, "ended": 1}
    assert silence_alert(patient) is None


def test_taking_the_patch_off_ends_the_silence(patient, patch):
    scan_at(ON + dt.timedelta(minutes=45))
    DeviceAssignment.objects.filter(pk=patch.pk).update(ended_at=ON + dt.timedelta(minutes=46),
                                                        ended_by=patient.user)
    assert scan_at(ON + dt.timedelta(minutes=47))["ended"] == 1
    assert DeviceSilence.objects.get().end_reason == DeviceSilence.EndReason.ASSIGNMENT_ENDED


def test_no_silence_alert_outside_a_risk_period(team_a):
    on_lenalidomide = PatientFactory(care_team=team_a)
    CourseFactory(patient=on_lenalidomide, therapy=Therapy.objects.get(code="lenalidomide"))
    wear(on_lenalidomide, started_at=ON)
    long_after = PatientFactory(care_team=team_a)
    CourseFactory(patient=long_after, start_date=ON.date() - dt.timedelta(days=60))
    wear(long_after, started_at=ON)
    assert scan_at(ON + dt.timedelta(hours=3))["raised"] == 0
    assert not Alert.objects.filter(condition="device_silence").exists()


@pytest.mark.parametrize("kind", [DeviceKind.THERMOMETER, DeviceKind.BLOOD_PRESSURE_CUFF])
def test_no_silence_alert_for_a_device_used_by_hand(patient, kind):
    wear(patient, kind=kind, started_at=ON)
    assert scan_at(ON + dt.timedelta(hours=3))["raised"] == 0


def test_an_oximeter_falls_silent_too(patient):
    wear(patient, kind=DeviceKind.PULSE_OXIMETER, started_at=ON, interval=60)
    assert scan_at(ON + dt.timedelta(minutes=30))["raised"] == 1


def test_two_silent_devices_are_one_alert_closed_when_both_are_back(patient, patch):
    oximeter = wear(patient, kind=DeviceKind.PULSE_OXIMETER, started_at=ON, interval=60)
    scan_at(ON + dt.timedelta(minutes=40))
    alert = silence_alert(patient)
    assert len(alert.evidence) == 2
    DeviceAssignment.objects.filter(pk=patch.pk).update(last_received_at=ON + dt.timedelta(minutes=41))
    scan_at(ON + dt.timedelta(minutes=42))
    assert silence_alert(patient) is not None  # the oximeter is still silent
    DeviceAssignment.objects.filter(pk=oximeter.pk).update(last_received_at=ON + dt.timedelta(minutes=43))
    scan_at(ON + dt.timedelta(minutes=44))
    assert silence_alert(patient) is None


def test_a_batch_with_nothing_due_is_one_claim_query(patient, patch, team_a):
    for _ in range(5):
        other = PatientFactory(care_team=team_a)
        CourseFactory(patient=other)
        store(wear(other, started_at=ON), [37.0], start=ON + dt.timedelta(minutes=20))
    with time_machine.travel(ON + dt.timedelta(minutes=25), tick=False), \
            CaptureQueriesContext(connection) as queries:
        claimed, _ = device_silence_batch(now=ON + dt.timedelta(minutes=25), same_day=dt.timedelta(minutes=30),
                                          urgent=dt.timedelta(minutes=120))
    assert claimed == []
    assert len(queries) == 3, [q["sql"][:100] for q in queries]  # savepoint, the claim, release


# A batch that raises silences, however many: savepoint, the claim, the patients' lock, their centers' policies,
# caregivers, the open alerts, one INSERT of the new alerts, one of their events, one of the silence rows, the
# reminders' preferences, the reminder rows (one INSERT) and their in-app attempts, release. It was 8 plus 5 per
# device (the alert, its event and the silence written one by one, each patient's preferences read alone).
RAISING_BATCH = 13
# Raising open silences to urgent: the open silences read, the alerts and the silences updated instead of inserted.
URGENT_BATCH = 14


@pytest.mark.parametrize("due", [1, 4, 40])
def test_a_batch_raising_silences_costs_the_same_queries_for_any_number_of_devices(team_a, due):
    for _ in range(due):
        other = PatientFactory(care_team=team_a)
        CourseFactory(patient=other)
        wear(other, started_at=ON)
    with time_machine.travel(ON + dt.timedelta(minutes=31), tick=False), \
            CaptureQueriesContext(connection) as queries:
        claimed, results = device_silence_batch(now=ON + dt.timedelta(minutes=31), same_day=dt.timedelta(minutes=30),
                                                urgent=dt.timedelta(minutes=120))
    assert len(claimed) == due and set(results.values()) == {"same_day"}
    assert len(queries) == RAISING_BATCH, [q["sql"][:100] for q in queries]
    assert Alert.objects.filter(condition="device_silence").count() == DeviceSilence.objects.count() == due


@pytest.mark.parametrize("due", [4, 40])
def test_a_batch_making_silences_urgent_costs_the_same_queries_for_any_number_of_devices(team_a, due):
    for _ in range(due):
        other = PatientFactory(care_team=team_a)
        CourseFactory(patient=other)
        wear(other, started_at=ON)
    scan_at(ON + dt.timedelta(minutes=31))
    with time_machine.travel(ON + dt.timedelta(minutes=121), tick=False), \
            CaptureQueriesContext(connection) as queries:
        claimed, results = device_silence_batch(now=ON + dt.timedelta(minutes=121),
                                                same_day=dt.timedelta(minutes=30), urgent=dt.timedelta(minutes=120))
    assert len(claimed) == due and set(results.values()) == {"urgent"}
    assert len(queries) == URGENT_BATCH, [q["sql"][:100] for q in queries]
    assert set(Alert.objects.filter(condition="device_silence").values_list("urgency", flat=True)) == {3}
    assert AlertEvent.objects.filter(kind=AlertEvent.Kind.URGENCY_RAISED).count() == due
