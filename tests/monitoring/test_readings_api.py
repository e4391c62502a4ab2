"""POST /api/v1/readings/ (clinical-rules §10): a device signs in with its key and sends a batch; each reading is
checked on its own and the rest of the batch is kept; duplicates are stored once; readings land on the patient
whose assignment covers their measured_at; nothing a device sends gives a 500."""

import datetime as dt
import json

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.signals import readings_stored
from tests.factories import DeviceAssignmentFactory, DeviceFactory, PatientFactory
from tracker.models import DeviceAssignment, DeviceCredential, Reading, ReadingType, ReadingUnit
from tracker.readings import assignments_refresh_temperature

URL = "/api/v1/readings/"
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def worn(patient, nurse):
    """A patch worn by `patient` since yesterday, and its key."""
    assignment = DeviceAssignmentFactory(patient=patient, assigned_by=nurse, started_at=NOW - dt.timedelta(days=1))
    credential, key = DeviceCredential.issue(assignment.device, created_by=nurse)
    return assignment, key


def device_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {key}")
    return client


def reading(minutes_ago: float = 0, value: float = 37.0, type_: str = "temperature", unit: str = "Cel",
            offset: str = "-05:00") -> dict:
    sign = -1 if offset[0] == "-" else 1
    zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    moment = (NOW - dt.timedelta(minutes=minutes_ago)).astimezone(zone)
    return {"type": type_, "value": value, "unit": unit, "measured_at": moment.isoformat()}


def post(key: str, body, content_type: str = "application/json"):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return device_client(key).post(URL, payload, content_type=content_type)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_batch_is_stored_and_answered_202(worn, patient):
    assignment, key = worn
    response = post(key, {"readings": [reading(4), reading(2, 37.4), reading(0, 118, "heart_rate", "/min")]})
    assert response.status_code == 202, response.content
    assert response.json() == {"received": 3, "stored": 3, "duplicates": 0, "refused": []}
    rows = list(Reading.objects.filter(patient=patient).order_by("type", "measured_at"))
    assert [(r.type, r.value, r.unit, r.utc_offset_minutes) for r in rows] == [
        (ReadingType.TEMPERATURE, 37.0, ReadingUnit.CEL, -300), (ReadingType.TEMPERATURE, 37.4, ReadingUnit.CEL, -300),
        (ReadingType.HEART_RATE, 118.0, ReadingUnit.PER_MIN, -300)]
    assert rows[0].measured_at == NOW - dt.timedelta(minutes=4) and rows[0].received_at == NOW
    assignment.refresh_from_db()
    assert assignment.last_measured_at == NOW and assignment.last_received_at == NOW


def test_the_same_batch_sent_again_stores_nothing_twice(worn, patient):
    _, key = worn
    batch = {"readings": [reading(m) for m in range(10)]}
    assert post(key, batch).json()["stored"] == 10
    again = post(key, batch)
    assert again.status_code == 202
    assert again.json() == {"received": 10, "stored": 0, "duplicates": 10, "refused": []}
    assert Reading.objects.filter(patient=patient).count() == 10


def test_the_same_moment_sent_with_another_offset_is_a_duplicate(worn):
    _, key = worn
    assert post(key, {"readings": [reading(3, offset="-05:00")]}).json()["stored"] == 1
    assert post(key, {"readings": [reading(3, offset="+01:00")]}).json()["duplicates"] == 1


def test_late_and_out_of_order_readings_are_accepted_and_times_never_go_back(worn, patient):
    assignment, key = worn
    post(key, {"readings": [reading(0)]})
    answer = post(key, {"readings": [reading(30), reading(600), reading(90)]}).json()
    assert answer["stored"] == 3
    assignment.refresh_from_db()
    assert assignment.last_measured_at == NOW  # the newest reading, not the last batch's


def kept(assignment) -> tuple:
    assignment.refresh_from_db()
    return assignment.last_temperature, assignment.last_temperature_at


def test_each_assignment_keeps_its_newest_temperature_and_a_late_one_never_replaces_it(worn):
    """What the dashboard and the patient's page show without reading the readings table."""
    assignment, key = worn
    assert kept(assignment) == (None, None)
    post(key, {"readings": [reading(6, 37.1), reading(2, 37.6), reading(4, 37.3), reading(0, 96, "heart_rate", "/min")]})
    assert kept(assignment) == (37.6, NOW - dt.timedelta(minutes=2))
    post(key, {"readings": [reading(3, 39.0), reading(30, 39.5)]})  # late: stored, but older than what is kept
    assert kept(assignment) == (37.6, NOW - dt.timedelta(minutes=2))
    post(key, {"readings": [reading(2, 40.0)]})  # the same moment again with another value: a duplicate
    assert kept(assignment) == (37.6, NOW - dt.timedelta(minutes=2))
    post(key, {"readings": [reading(0, 99.5, unit="[degF]"), reading(0, 80, "heart_rate", "/min")]})
    assert kept(assignment)[0] == pytest.approx(37.5) and kept(assignment)[1] == NOW
    post(key, {"readings": [reading(-1, 70, "heart_rate", "/min")]})  # other vitals leave it alone
    assert kept(assignment)[1] == NOW


def test_a_reassigned_patch_keeps_each_patients_temperature_on_their_own_assignment(worn, patient, nurse):
    first, key = worn
    first.ended_at = NOW - dt.timedelta(hours=1)
    first.save()
    second = DeviceAssignment.objects.create(device=first.device, patient=PatientFactory(care_team=patient.care_team),
                                             started_at=NOW - dt.timedelta(minutes=30), assigned_by=nurse)
    post(key, {"readings": [reading(5, 36.9), reading(70, 38.2), reading(90, 38.0)]})
    assert kept(first) == (38.2, NOW - dt.timedelta(minutes=70))
    assert kept(second) == (36.9, NOW - dt.timedelta(minutes=5))


def test_a_bulk_load_is_brought_up_to_date_from_the_readings(worn, patient):
    """assignments_refresh_temperature: readings written without the ingest (a bench load) set what it keeps."""
    assignment, _ = worn
    Reading.objects.bulk_create([
        Reading(patient=patient, type=ReadingType.TEMPERATURE, measured_at=NOW - dt.timedelta(minutes=m),
                device=assignment.device, value=36.0 + m / 10, unit=ReadingUnit.CEL, utc_offset_minutes=0,
                received_at=NOW) for m in (9, 3, 7)])
    assert assignments_refresh_temperature(DeviceAssignment.objects.filter(pk=assignment.pk)) == 1
    assert kept(assignment) == (36.3, NOW - dt.timedelta(minutes=3))


def test_future_readings_are_refused_by_index_and_the_rest_kept(worn, patient):
    _, key = worn
    batch = {"readings": [reading(1), reading(-10), reading(-4)]}  # 10 minutes ahead: refused; 4 ahead: kept
    answer = post(key, batch).json()
    assert answer["received"] == 3 and answer["stored"] == 2
    assert answer["refused"] == [{"index": 1, "field": "measured_at", "reason": answer["refused"][0]["reason"]}]
    assert "5 minutes" in answer["refused"][0]["reason"]


def test_fahrenheit_is_stored_as_celsius_with_the_unit_kept(worn, patient):
    _, key = worn
    assert post(key, {"readings": [reading(1, 100.4, unit="[degF]")]}).json()["stored"] == 1
    row = Reading.objects.get(patient=patient)
    assert row.value == pytest.approx(38.0) and row.unit == ReadingUnit.DEG_F


@pytest.mark.parametrize(("item", "field"), [
    ({"type": "temperature", "value": 37, "unit": "/min"}, "unit"),
    ({"type": "spo2", "value": 97, "unit": "Cel"}, "unit"),
    ({"type": "temperature", "value": 55.0}, "value"),
    ({"type": "spo2", "value": 101, "unit": "%"}, "value"),
    ({"type": "heart_rate", "value": 0, "unit": "/min"}, "value"),
    ({"type": "weight"}, "type"),
    ({"value": "38"}, "value"),
    ({"value": True}, "value"),
    ({"value": 10 ** 400}, "value"),
    ({"measured_at": "2026-12-02T10:00:00"}, "measured_at"),
    ({"measured_at": "2026-12-02"}, "measured_at"),
    ({"measured_at": "2026-13-02T10:00:00Z"}, "measured_at"),
    ({"measured_at": "2026-12-02T10:00:00\u0000Z"}, "measured_at"),
    ({"measured_at": 1764687600}, "measured_at"),
    ({"unit": None}, "unit"),
])
def test_a_bad_field_refuses_that_reading_only(worn, patient, item, field):
    _, key = worn
    bad = {**reading(2), **item}
    answer = post(key, {"readings": [reading(1), bad, reading(3)]})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["stored"] == 2
    assert [(r["index"], r["field"]) for r in body["refused"]] == [(1, field)]
    assert body["refused"][0]["reason"]


@pytest.mark.parametrize("body", [
    "[]", "{}", '{"readings": {}}', '{"readings": null}', '{"readings": "x"}', '{"readings": []}', "null", "42",
    '"readings"', "{", '{"readings": [NaN]}', '{"readings": [1e999999]}', "\u0000", '{"readings": [null, 1, []]}',
    '{"device": 5, "readings": []}', "[" * 100000, '{"readings": [' + "[" * 80 + "]" * 80 + "]}",
])
def test_fuzzed_bodies_never_give_a_500(worn, body):
    _, key = worn
    response = post(key, body)
    assert response.status_code in (202, 400, 403), (body[:40], response.status_code, response.content[:200])
    if response.status_code == 400:
        assert response.json()["fields"] or response.json()["detail"]


def test_a_body_that_is_not_a_batch_is_refused_naming_the_field(worn):
    _, key = worn
    response = post(key, {"readings": "many"})
    assert response.status_code == 400
    assert "readings" in response.json()["fields"]


def test_at_most_1000_readings_in_a_batch(worn, patient):
    _, key = worn
    assert post(key, {"readings": [reading(m / 60) for m in range(1000)]}).json()["stored"] == 1000
    response = post(key, {"readings": [reading(m / 60) for m in range(1001)]})
    assert response.status_code == 400 and "readings" in response.json()["fields"]


def test_a_body_larger_than_the_cap_is_refused_413(worn):
    _, key = worn
    response = post(key, '{"readings": [], "pad": "' + "x" * (1024 * 1024) + '"}')
    assert response.status_code == 413


def test_no_key_unknown_key_and_revoked_key_are_401(worn, nurse):
    assignment, key = worn
    assert APIClient().post(URL, {"readings": [reading()]}, format="json").status_code == 401
    assert post("dev_not-a-key", {"readings": [reading()]}).status_code == 401
    DeviceCredential.objects.update(revoked_at=timezone.now(), revoked_by=nurse)
    response = post(key, {"readings": [reading()]})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Device")
    assert not Reading.objects.exists()


def test_a_person_signed_in_cannot_post_readings(worn, nurse):
    client = APIClient()
    client.force_login(nurse)
    assert client.post(URL, {"readings": [reading()]}, format="json").status_code == 401


def test_the_key_of_device_a_cannot_post_as_device_b(worn, nurse, patient):
    _, key = worn
    other = DeviceAssignmentFactory(patient=PatientFactory(care_team=patient.care_team), assigned_by=nurse,
                                    started_at=NOW - dt.timedelta(days=1))
    response = post(key, {"device": str(other.device.uuid), "readings": [reading()]})
    assert response.status_code == 403 and "device" in response.json()["fields"]
    assert not Reading.objects.exists()
    own = post(key, {"device": str(worn[0].device.uuid), "readings": [reading()]})
    assert own.status_code == 202 and own.json()["stored"] == 1
    assert Reading.objects.get().device_id == worn[0].device_id


def test_a_reassigned_device_writes_to_whoever_wore_it_at_measured_at(worn, patient, nurse):
    """The patch goes from `patient` to another patient at 14:00. Readings measured after land on the new
    patient, never on the first; readings measured while the first patient wore it (sent late) land on the first;
    readings measured in the gap between the two assignments land on no one."""
    first, key = worn
    first.ended_at = NOW - dt.timedelta(hours=1, minutes=10)
    first.save()
    second_patient = PatientFactory(care_team=patient.care_team)
    DeviceAssignment.objects.create(device=first.device, patient=second_patient, started_at=NOW - dt.timedelta(hours=1),
                                    assigned_by=nurse)
    answer = post(key, {"readings": [reading(5), reading(65), reading(75), reading(120)]}).json()
    assert answer["stored"] == 3
    assert answer["refused"] == [{"index": 1, "field": "measured_at",
                                  "reason": "The device was not assigned to a patient at this time."}]
    assert sorted(Reading.objects.filter(patient=second_patient).values_list("measured_at", flat=True)) == [
        NOW - dt.timedelta(minutes=5)]
    assert sorted(Reading.objects.filter(patient=patient).values_list("measured_at", flat=True)) == [
        NOW - dt.timedelta(minutes=120), NOW - dt.timedelta(minutes=75)]


def test_an_unassigned_device_stores_nothing(patient, nurse):
    device = DeviceFactory(center=patient.center)
    _, key = DeviceCredential.issue(device, created_by=nurse)
    answer = post(key, {"readings": [reading(1)]}).json()
    assert answer["stored"] == 0 and answer["refused"][0]["field"] == "measured_at"


def test_readings_stored_is_sent_after_commit_with_each_patients_earliest_new_reading(worn, patient,
                                                                                        django_capture_on_commit_callbacks):
    _, key = worn
    sent = []

    def receiver(sender, patients, **kwargs):
        sent.append(patients)

    readings_stored.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(key, {"readings": [reading(3), reading(9), reading(1)]})
        assert sent == [{patient.pk: NOW - dt.timedelta(minutes=9)}]
        with django_capture_on_commit_callbacks(execute=True):
            post(key, {"readings": [reading(3)]})  # nothing new: no signal
        assert len(sent) == 1
    finally:
        readings_stored.disconnect(receiver)


def test_a_60_reading_batch_costs_a_constant_number_of_queries(worn, django_assert_num_queries):
    _, key = worn
    client = device_client(key)
    client.post(URL, json.dumps({"readings": [reading(300)]}), content_type="application/json")  # key's last use
    batch = json.dumps({"readings": [reading(m) for m in range(60)]})
    # credential, savepoint, assignments (locked), one INSERT for all 60, the assignment's times, release
    with django_assert_num_queries(6):
        response = client.post(URL, batch, content_type="application/json")
    assert response.json()["stored"] == 60
    bigger = json.dumps({"readings": [reading(m + 0.5) for m in range(240)]})
    with django_assert_num_queries(6):
        assert client.post(URL, bigger, content_type="application/json").json()["stored"] == 240


# --- FHIR -------------------------------------------------------------------------------------------------------

def observation(code: str, value=None, unit: str = "", minutes_ago: float = 1, components=None,
                status: str = "final") -> dict:
    resource = {"resourceType": "Observation", "status": status,
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "effectiveDateTime": (NOW - dt.timedelta(minutes=minutes_ago)).isoformat()}
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                                     "code": unit}
    if components:
        resource["component"] = [{"code": {"coding": [{"system": "http://loinc.org", "code": c}]},
                                  "valueQuantity": {"value": v, "system": "http://unitsofmeasure.org",
                                                    "code": "mm[Hg]"}} for c, v in components]
    return resource


def bundle(*resources) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def test_a_fhir_bundle_of_observations_maps_to_the_same_readings(worn, patient):
    _, key = worn
    body = bundle(observation("8310-5", 101.3, "[degF]", 4), observation("8867-4", 112, "/min", 3),
                  observation("59408-5", 91, "%", 2), observation("2708-6", 92, "%", 1),
                  observation("85354-9", components=[("8480-6", 88), ("8462-4", 52)], minutes_ago=1),
                  observation("29463-7", 70, "kg"), observation("8310-5", 38.0, "Cel", status="entered-in-error"),
                  observation("8310-5", 38.1, "Cel", -30))
    response = post(key, body, content_type="application/fhir+json")
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["stored"] == 6
    assert [(r["index"], r["field"]) for r in answer["refused"]] == [(5, "code"), (6, "status"), (7, "measured_at")]
    types = dict(Reading.objects.filter(patient=patient).values_list("type", "value"))
    assert types[ReadingType.TEMPERATURE] == pytest.approx(38.5)
    assert types[ReadingType.SYSTOLIC] == 88 and types[ReadingType.DIASTOLIC] == 52
    assert post(key, body, content_type="application/fhir+json").json()["duplicates"] == 6


@pytest.mark.parametrize("body", [
    "[]", "{}", '{"resourceType": "Patient"}', '{"resourceType": "Bundle"}', '{"resourceType": "Bundle", "entry": 3}',
    '{"resourceType": "Bundle", "entry": [null, 1, {"resource": []}, {"resource": {"resourceType": "Observation"}}]}',
    '{"resourceType": "Observation", "code": {"coding": "x"}, "component": 5}',
    '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "code": {"coding": '
    '[{"system": "http://loinc.org", "code": "85354-9"}]}, "component": [1, {"code": null}]}}]}',
])
def test_fuzzed_fhir_bodies_never_give_a_500(worn, body):
    _, key = worn
    response = post(key, body, content_type="application/fhir+json")
    assert response.status_code in (202, 400), (body, response.content[:200])


def test_the_openapi_schema_documents_that_the_rest_of_a_batch_is_kept(admin_user, as_user):
    schema = as_user(admin_user).get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    text = schema.content.decode()
    assert "/api/v1/readings/" in text
    assert "the rest of the batch is stored" in text
    assert "application/fhir+json" in text


def test_the_migration_fills_what_existing_assignments_keep_from_their_readings(worn, patient, nurse):
    """tracker 0018 sets the newest temperature of the assignments already holding readings (the current model
    registry stands in for the migration's historical one)."""
    from importlib import import_module

    from django.apps import apps

    backfill = import_module("tracker.migrations.0018_assignment_last_temperature").backfill
    first, _ = worn
    first.ended_at = NOW - dt.timedelta(hours=1)
    first.save()
    second = DeviceAssignment.objects.create(device=first.device, patient=patient, assigned_by=nurse,
                                             started_at=NOW - dt.timedelta(minutes=30))
    Reading.objects.bulk_create([
        Reading(patient=patient, type=type_, measured_at=NOW - dt.timedelta(minutes=m), device=first.device,
                value=value, unit=unit, utc_offset_minutes=0, received_at=NOW)
        for m, type_, value, unit in [(90, 1, 38.1, 1), (70, 1, 38.4, 1), (20, 1, 37.0, 1), (10, 2, 88, 3)]])
    DeviceAssignment.objects.update(last_measured_at=NOW)
    backfill(apps, None)
    assert kept(first) == (38.4, NOW - dt.timedelta(minutes=70))
    assert kept(second) == (37.0, NOW - dt.timedelta(minutes=20))
