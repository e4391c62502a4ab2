"""Grading device readings (clinical-rules §10): sustained values open the same alerts as typed ones, once; late and
out-of-order batches are graded in time order; concurrent batches of one patient take turns; a lost task is
caught by the sweep."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Alert, AlertEvent, AlertStatus, StreamGrading
from monitoring.services import stream_grading
from monitoring.services.alerts import alert_resolve
from monitoring.services.intake import checkin_submit
from monitoring.services.stream_grading import (
    readings_grade,
    readings_grade_missed,
    readings_missed,
    readings_request_grading,
)
from tests.monitoring.stream_support import store, wear
from tracker.models import ReadingType
from tracker.models.devices import DeviceKind

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)  # the patient fixture's course: two days ago
START = NOW - dt.timedelta(minutes=40)


@pytest.fixture
def patch(patient):
    with time_machine.travel(START - dt.timedelta(hours=1), tick=False):
        return wear(patient, started_at=START - dt.timedelta(hours=1))


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def open_alerts(patient):
    return list(Alert.objects.filter(patient=patient).exclude(status=AlertStatus.RESOLVED))


def fever_alert(patient):
    (alert,) = open_alerts(patient)
    return alert


def test_a_sustained_fever_opens_one_urgent_crs_alert(patient, patch, at_now):
    since = store(patch, [37.2, 37.6] + [38.4] * 8, start=START)  # 38.4 from +4 to +18 min: 14 minutes
    result = readings_grade(patient_id=patient.pk, since=since)
    alert = fever_alert(patient)
    assert (alert.condition, alert.urgency, alert.min_grade) == ("crs", 3, 1)  # §1: any fever after CAR T urgent
    assert alert.rule_ids == ["crs.fever"]
    assert alert.first_checkin is None
    (entry,) = alert.evidence
    assert entry["device"]["first_measured_at"] == (START + dt.timedelta(minutes=4)).isoformat()
    assert entry["device"]["last_measured_at"] == (START + dt.timedelta(minutes=18)).isoformat()
    assert entry["device"]["readings"] == 8 and entry["device"]["coverage_percent"] == 100
    assert entry["device"]["device"].startswith("Acme Patch #SN")
    assert entry["recorded_at"] == entry["device"]["last_measured_at"]
    assert result.alert_ids == (alert.pk,)
    assert AlertEvent.objects.filter(alert=alert).count() == 1


def test_grading_the_same_readings_twice_opens_nothing_twice(patient, patch, at_now):
    since = store(patch, [38.4] * 8, start=START)
    readings_grade(patient_id=patient.pk, since=since)
    readings_grade(patient_id=patient.pk, since=since)
    alert = fever_alert(patient)
    assert len(alert.evidence) == 1
    assert AlertEvent.objects.filter(alert=alert).count() == 1


@pytest.mark.parametrize(("values", "why"), [
    ([37.1] * 4 + [39.5] + [37.1] * 4, "single spike"),
    ([37.2, 37.6, 38.1, 38.2, 38.3, 38.3, 38.2, 37.8, 37.4], "8-minute rise (38.1-38.2 from +4 to +12 min)"),
])
def test_no_alert_for_a_spike_or_a_short_rise(patient, patch, at_now, values, why):
    readings_grade(patient_id=patient.pk, since=store(patch, values, start=START))
    assert open_alerts(patient) == [], why


def test_low_coverage_does_not_alert(patient, patch, at_now):
    store(patch, [38.5], start=START)
    store(patch, [38.5] * 2, start=START + dt.timedelta(minutes=8))  # 3 readings over 10 minutes: 40 %
    store(patch, [38.5], start=START + dt.timedelta(minutes=12))
    readings_grade(patient_id=patient.pk, since=START)
    assert open_alerts(patient) == []


def test_a_later_batch_continuing_the_fever_updates_the_same_alert(patient, patch, at_now):
    readings_grade(patient_id=patient.pk, since=store(patch, [38.4] * 7, start=START))
    first = fever_alert(patient)
    later = store(patch, [38.6] * 5, start=START + dt.timedelta(minutes=14))
    readings_grade(patient_id=patient.pk, since=later)
    alert = fever_alert(patient)
    assert alert.pk == first.pk
    (entry,) = alert.evidence  # the same stretch of fever, now longer
    assert entry["device"]["first_measured_at"] == START.isoformat()
    assert entry["device"]["last_measured_at"] == (START + dt.timedelta(minutes=22)).isoformat()
    assert AlertEvent.objects.filter(alert=alert).count() == 1  # nothing new for a person to see


def test_a_typed_fever_and_a_patch_fever_are_one_alert(patient, patch, at_now):
    checkin_submit(patient=patient, entered_by=patient.user, channel="api",
                   values={"temperature_c": "38.3"}, recorded_at=NOW - dt.timedelta(hours=2))
    readings_grade(patient_id=patient.pk, since=store(patch, [38.4] * 8, start=START))
    alert = fever_alert(patient)
    assert alert.first_checkin is not None
    assert len(alert.evidence) == 2 and "checkin" in alert.evidence[0] and "device" in alert.evidence[1]


def test_readings_with_low_spo2_make_the_fever_an_emergency(patient, patch, at_now):
    oximeter = wear(patient, kind=DeviceKind.PULSE_OXIMETER, started_at=START - dt.timedelta(hours=1), interval=60)
    store(patch, [38.4] * 8, start=START)
    store(oximeter, [91] * 12, start=START + dt.timedelta(minutes=2), every=60, type=ReadingType.SPO2)
    readings_grade(patient_id=patient.pk, since=START)
    alert = fever_alert(patient)
    assert (alert.condition, alert.urgency, alert.min_grade) == ("crs", 4, 2)


def test_an_out_of_order_batch_is_graded_in_time_order(patient, patch, at_now):
    """The second half of a fever arrives first, the first half later: graded together, with the true onset."""
    later = store(patch, [38.3] * 4, start=START + dt.timedelta(minutes=8))
    readings_grade(patient_id=patient.pk, since=later)
    assert open_alerts(patient) == []  # 6 minutes so far
    earlier = store(patch, [38.3] * 4, start=START, received_at=NOW)
    readings_grade(patient_id=patient.pk, since=earlier)
    entry = fever_alert(patient).evidence[0]["device"]
    assert entry["first_measured_at"] == START.isoformat()
    assert entry["last_measured_at"] == (START + dt.timedelta(minutes=14)).isoformat()


def test_readings_a_nurse_already_resolved_do_not_reopen_the_alert(patient, patch, nurse, at_now):
    readings_grade(patient_id=patient.pk, since=store(patch, [38.4] * 8, start=START))
    alert_resolve(alert=fever_alert(patient), user=nurse, note="Seen in clinic")
    readings_grade(patient_id=patient.pk, since=START)
    assert open_alerts(patient) == []


def test_a_fever_back_after_a_nurse_resolved_one_opens_a_new_alert(patient, patch, nurse, at_now):
    with time_machine.travel(START + dt.timedelta(minutes=11), tick=False):
        readings_grade(patient_id=patient.pk, since=store(patch, [38.4] * 6, start=START))
    with time_machine.travel(START + dt.timedelta(minutes=14), tick=False):
        store(patch, [37.2] * 2, start=START + dt.timedelta(minutes=12))
        alert_resolve(alert=fever_alert(patient), user=nurse, note="Called: paracetamol advice")
    since = store(patch, [38.6] * 7, start=START + dt.timedelta(minutes=16))
    readings_grade(patient_id=patient.pk, since=since)
    alert = fever_alert(patient)
    assert alert.evidence[0]["device"]["first_measured_at"] == since.isoformat()


def test_the_staff_pages_show_an_alert_raised_by_readings(patient, patch, nurse, at_now):
    from tests.monitoring.support import signed_in

    readings_grade(patient_id=patient.pk, since=store(patch, [38.4] * 8, start=START))
    client = signed_in(nurse)
    page = client.get(f"/staff/alerts/{fever_alert(patient).uuid}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "raised by device readings" in html and "Device readings from" in html
    assert client.get("/staff/").status_code == 200
    assert client.get(f"/staff/patients/{patient.uuid}/").status_code == 200


def test_one_grading_run_costs_a_fixed_number_of_queries(patient, patch, at_now):
    """Quiet readings: the same queries for 10 or 300 readings (one indexed query reads them)."""
    def grading_queries(count, start):
        since = store(patch, [37.0] * count, start=start)
        with CaptureQueriesContext(connection) as queries:
            readings_grade(patient_id=patient.pk, since=since)
        return [q["sql"] for q in queries]
    grading_queries(5, START - dt.timedelta(hours=20))  # the patient's marker is written the first time
    few = grading_queries(10, START)
    many = grading_queries(300, START - dt.timedelta(hours=12))
    assert len(few) == len(many) == 8, many


@pytest.mark.parametrize("count", [20, 200])
def test_the_grading_run_that_opens_an_alert_costs_a_fixed_number_of_queries(patient, patch, at_now, count):
    """The quiet run's 8, and 4 for the alert: was it resolved already, the open one, the alert, its event."""
    readings_grade(patient_id=patient.pk, since=store(patch, [37.0], start=START - dt.timedelta(hours=20)))
    since = store(patch, [38.4] * count, start=NOW - dt.timedelta(seconds=120 * count))
    with CaptureQueriesContext(connection) as queries:
        readings_grade(patient_id=patient.pk, since=since)
    assert len(queries) == 12, [q["sql"][:120] for q in queries]


def test_the_reading_query_uses_the_primary_key_prefix(patient, patch, at_now):
    store(patch, [37.0] * 10, start=START)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT type, measured_at, value FROM tracker_reading WHERE patient_id = %s "
                       "AND type IN (1, 2, 3, 4) AND measured_at >= %s AND measured_at <= %s "
                       "ORDER BY type, measured_at", [patient.pk, START, NOW])
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "Index" in plan and "pkey" in plan, plan


def test_a_lost_task_is_caught_by_the_sweep(patient, patch):
    with time_machine.travel(NOW, tick=False):
        since = store(patch, [38.4] * 8, start=START, received_at=NOW)
        readings_request_grading(patients={patient.pk: since})  # the receiver's marker; the task never runs
        assert readings_missed() == {}  # its task has a minute
    with time_machine.travel(NOW + dt.timedelta(seconds=61), tick=False):
        assert readings_missed() == {patient.pk: since}
        assert readings_grade_missed() == 1
        assert fever_alert(patient).urgency == 3
        marker = StreamGrading.objects.get(pk=patient.pk)
        assert marker.pending_since is None and marker.received_through == patch.last_received_at
        assert readings_missed() == {}


def test_readings_no_signal_named_are_caught_by_the_sweep(patient, patch):
    """The process died between the ingest's commit and its signal: no marker, but readings were received after
    the last grading."""
    with time_machine.travel(NOW, tick=False):
        store(patch, [38.4] * 8, start=START, received_at=NOW - dt.timedelta(minutes=2))
        assert readings_grade_missed() == 1
        assert fever_alert(patient)
        assert readings_missed() == {}


def test_the_marker_keeps_the_earliest_time_asked_for(patient, at_now):
    readings_request_grading(patients={patient.pk: START + dt.timedelta(minutes=10)})
    readings_request_grading(patients={patient.pk: START})
    readings_request_grading(patients={patient.pk: START + dt.timedelta(minutes=20)})
    assert StreamGrading.objects.get(pk=patient.pk).pending_since == START


def test_a_request_that_arrives_during_grading_stays_waiting_since_the_graded_one(patient, patch):
    """The queue health's lag: a newer request that came in while a grading ran is left waiting, measured from
    the request that grading covered (never from later, so a backlog is not understated)."""
    asked, newer, graded = NOW - dt.timedelta(minutes=3), NOW - dt.timedelta(minutes=2), NOW
    readings_request_grading(patients={patient.pk: START}, now=asked)
    assert StreamGrading.objects.get(pk=patient.pk).waiting_since == asked
    real_close = stream_grading.silence_close_resumed

    def newer_request_meanwhile(*, patient, now):  # after the grading read the marker and the readings
        readings_request_grading(patients={patient.pk: START + dt.timedelta(minutes=5)}, now=newer)
        return real_close(patient=patient, now=now)

    with time_machine.travel(graded, tick=False), pytest.MonkeyPatch.context() as mp:
        mp.setattr(stream_grading, "silence_close_resumed", newer_request_meanwhile)
        readings_grade(patient_id=patient.pk, since=START)
    marker = StreamGrading.objects.get(pk=patient.pk)
    assert (marker.pending_since, marker.requested_at, marker.waiting_since) == (START, newer, asked)
    with time_machine.travel(graded, tick=False):
        readings_grade(patient_id=patient.pk, since=START)
    marker.refresh_from_db()
    assert (marker.pending_since, marker.requested_at, marker.waiting_since) == (None, None, None)


def test_the_receiver_marks_and_hands_the_grading_to_a_worker(patient, patch, at_now, eager_tasks):
    store(patch, [38.4] * 8, start=START, signal=True)
    assert fever_alert(patient).urgency == 3
    assert StreamGrading.objects.get(pk=patient.pk).pending_since is None


@pytest.mark.django_db(transaction=True)
def test_two_batches_of_one_patient_graded_at_once_open_one_alert(team_a):
    """Two connections grade two halves of one fever at the same moment: they take turns on the patient's row,
    and the second finds the alert the first opened."""
    from tests.factories import CourseFactory, PatientFactory
    from tracker.catalogue import sync_catalogue
    from tracker.models import Therapy

    sync_catalogue(Therapy)
    patient = PatientFactory(care_team=team_a)
    CourseFactory(patient=patient)
    patch = wear(patient, started_at=START - dt.timedelta(hours=1))
    store(patch, [38.4] * 6, start=START)
    store(patch, [38.4] * 6, start=START + dt.timedelta(minutes=12))
    barrier = threading.Barrier(2)
    errors = []

    def grade(since):
        try:
            barrier.wait(timeout=10)
            readings_grade(patient_id=patient.pk, since=since, now=NOW)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=grade, args=(START + dt.timedelta(minutes=m),)) for m in (0, 12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    alerts = list(Alert.objects.filter(patient=patient))
    assert len(alerts) == 1 and alerts[0].condition == "crs"
    assert AlertEvent.objects.filter(alert=alerts[0]).count() == 1
