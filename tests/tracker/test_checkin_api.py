"""POST and GET /api/v1/checkins/: storage, units, validation and the common error shape."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import CheckInFactory
from tracker.models import CheckIn

URL = "/api/v1/checkins/"

CAR_T_COMPLETE = {
    "temperature": "37.2", "temperature_unit": "C", "consciousness": "alert",
    "chills": False, "short_of_breath": False, "dizzy_or_fainting": False, "severe_nausea_vomiting_diarrhea": False,
    "fast_heartbeat": False, "severe_fatigue": False, "severe_muscle_joint_pain": False, "confusion": False,
    "agitation": False, "speech_trouble": False, "balance_loss": False, "tremor": False, "seizure": False,
    "focal_weakness": False,
}


def test_patient_posts_a_checkin_for_themselves_and_it_is_stored(as_user, patient):
    response = as_user(patient.user).post(URL, {"temperature": "37.4", "heart_rate": 82}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    stored = CheckIn.objects.get(uuid=body["id"])
    assert stored.patient == patient
    assert stored.temperature_c == Decimal("37.4")
    assert stored.entered_role == "patient"
    assert stored.channel == "api"
    assert body["patient"] == str(patient.uuid)
    assert body["is_complete"] is False  # only two answers


def test_a_fully_answered_car_t_checkin_is_complete(as_user, patient):
    response = as_user(patient.user).post(URL, CAR_T_COMPLETE, format="json")
    assert response.status_code == 201
    assert response.json()["is_complete"] is True


def test_fahrenheit_is_stored_in_celsius_and_100_4_f_is_38_0_c(as_user, patient):
    response = as_user(patient.user).post(URL, {"temperature": "100.4", "temperature_unit": "F"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert Decimal(body["temperature_c"]) == Decimal("38.0")
    assert Decimal(body["temperature_entered"]) == Decimal("100.4")
    assert body["temperature_unit"] == "F"


def test_caregiver_checks_in_for_linked_patient(as_user, caregiver, patient):
    response = as_user(caregiver).post(URL, {"patient": str(patient.uuid), "temperature": "38.3"}, format="json")
    assert response.status_code == 201
    assert CheckIn.objects.get().entered_role == "caregiver"


def test_nurse_enters_a_phone_report_for_a_team_patient(as_user, nurse, patient):
    response = as_user(nurse).post(URL, {"patient": str(patient.uuid), "temperature": "37.0"}, format="json")
    assert response.status_code == 201
    assert CheckIn.objects.get().entered_role == "staff"


def test_staff_must_name_the_patient(as_user, nurse, patient):
    response = as_user(nurse).post(URL, {"temperature": "37.0"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"patient": ["This field is required."]}


def test_nurse_cannot_check_in_for_another_teams_patient(as_user, other_nurse, patient):
    response = as_user(other_nurse).post(URL, {"patient": str(patient.uuid), "temperature": "37.0"}, format="json")
    assert response.status_code == 400
    assert "patient" in response.json()["fields"]
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"temperature": "29.9"}, "temperature", "between 30.0 and 45.0"),
        ({"temperature": "45.1"}, "temperature", "between 30.0 and 45.0"),
        ({"temperature": "85.9", "temperature_unit": "F"}, "temperature", "between 86.0 and 113.0"),
        ({"temperature": "hot"}, "temperature", "valid number"),
        ({"spo2": 101}, "spo2", "less than or equal to 100"),
        ({"heart_rate": 19}, "heart_rate", "greater than or equal to 20"),
        ({"heart_rate": 251}, "heart_rate", "less than or equal to 250"),
        ({"heart_rate": "fast"}, "heart_rate", "valid integer"),
        ({"systolic_bp": 80, "diastolic_bp": 80}, "diastolic_bp", "lower than the top"),
        ({"systolic_bp": 120}, "diastolic_bp", "both blood pressure numbers"),
        ({"chills": "maybe"}, "chills", "valid boolean"),
        ({"consciousness": "sleepy"}, "consciousness", "not a valid choice"),
        ({"rash_percent": 101}, "rash_percent", "less than or equal to 100"),
        ({"ice_orientation": 4}, "ice_naming", "all five parts"),
        ({"ice_orientation": 5, "ice_naming": 3, "ice_command": 1, "ice_writing": 1, "ice_counting": 1},
         "ice_orientation", "less than or equal to 4"),
        ({"favourite_colour": "blue"}, "favourite_colour", "Unknown field"),
        ({"temperature_unit": "K"}, "temperature_unit", "not a valid choice"),
    ],
)
def test_impossible_values_are_refused_naming_the_field(as_user, patient, payload, field, fragment):
    response = as_user(patient.user).post(URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert set(body) == {"type", "detail", "fields"}
    assert field in body["fields"], body
    assert fragment in " ".join(body["fields"][field])
    assert field in body["detail"]
    assert not CheckIn.objects.exists()


def test_future_dated_checkin_is_refused(as_user, patient):
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    response = as_user(patient.user).post(URL, {"recorded_at": future, "temperature": "37"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["recorded_at"] == ["A check-in cannot be dated in the future."]


def test_several_bad_fields_are_all_named_and_nothing_is_saved(as_user, patient):
    response = as_user(patient.user).post(
        URL, {"temperature": "50", "spo2": 120, "heart_rate": 10, "extra": 1}, format="json"
    )
    assert response.status_code == 400
    assert "extra" in response.json()["fields"]
    response = as_user(patient.user).post(URL, {"temperature": "50", "spo2": 120, "heart_rate": 10}, format="json")
    assert set(response.json()["fields"]) == {"temperature", "spo2", "heart_rate"}
    assert not CheckIn.objects.exists()


def test_malformed_json_gets_the_common_error_shape(as_user, patient):
    response = as_user(patient.user).post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "parse_error"
    assert response.json()["fields"] == {}


def test_anonymous_gets_401_in_the_common_shape(as_user, db):
    response = as_user(None).get(URL)
    assert response.status_code == 401
    assert response.json()["type"] == "not_authenticated"


def test_list_is_newest_first_and_filterable_by_patient(as_user, nurse, patient, team_a):
    from tests.factories import CourseFactory, PatientFactory

    second = PatientFactory(care_team=team_a)
    CourseFactory(patient=second)
    client = as_user(nurse)
    for p, temp in ((patient, "37.0"), (second, "37.5"), (patient, "38.1")):
        assert client.post(URL, {"patient": str(p.uuid), "temperature": temp}, format="json").status_code == 201
    all_rows = client.get(URL).json()["results"]
    assert [r["temperature_c"] for r in all_rows] == ["38.1", "37.5", "37.0"]
    mine = client.get(URL, {"patient": str(patient.uuid)}).json()["results"]
    assert [r["temperature_c"] for r in mine] == ["38.1", "37.0"]


@pytest.mark.parametrize("count", [3, 40])
def test_list_query_count_does_not_grow_with_rows(as_user, nurse, patient, django_assert_max_num_queries, count):
    from monitoring.services.intake import checkin_submit
    from tests.factories import CourseFactory, PatientFactory

    for n in range(count):
        p = patient if n % 2 else PatientFactory(care_team=patient.care_team)
        if not p.courses.exists():
            CourseFactory(patient=p)
        checkin_submit(patient=p, entered_by=nurse, channel="api", values={"temperature_c": Decimal("37.0")})
    client = as_user(nurse)
    with django_assert_max_num_queries(4):  # +1: the audit row
        response = client.get(URL)
    assert response.status_code == 200
    assert len(response.json()["results"]) == count


# -------------------------------------------------------------------------------------- cost of a check-in

QUIET = {**CAR_T_COMPLETE, "heart_rate": 80}


def _earlier_checkins(patient, count: int) -> None:
    now = timezone.now()
    for hours in range(count):
        CheckInFactory(patient=patient, recorded_at=now - dt.timedelta(hours=hours + 1), temperature_c=Decimal("37.0"))


@pytest.mark.parametrize("history", [0, 30])
def test_a_quiet_checkin_costs_the_same_queries_whatever_the_history(as_user, patient, history,
                                                                      django_assert_max_num_queries):
    """Stored, graded and answered in a fixed number of queries: the patient row (found among those visible,
    locked, with the center's policy and whether a follow-up is open), its active courses, the driving
    windows, the recent check-ins, the two INSERTs and the audit row, whatever the number of earlier
    check-ins or courses (with token authentication, one more: tests/monitoring/test_intake.py)."""
    from tests.factories import CourseFactory
    from tracker.models import Therapy

    CourseFactory(patient=patient, therapy=Therapy.objects.get(code="pembrolizumab"))
    _earlier_checkins(patient, history)
    client = as_user(patient.user)
    with django_assert_max_num_queries(9):  # 7 + the savepoint and its release in a test transaction
        response = client.post(URL, QUIET, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["urgency"] == "none"


@pytest.mark.django_db(transaction=True)
def test_grading_a_checkin_locks_the_patient_row_not_the_center(team_a):
    """Check-ins of different patients of one center are graded side by side: the lock taken while a
    check-in is stored and graded holds the patient's row only."""
    import threading

    from django.db import connection, transaction

    from monitoring.services.context import checkin_context
    from tests.factories import CourseFactory, PatientFactory
    from tracker.catalogue import sync_catalogue
    from tracker.models import Center, Patient, Therapy

    sync_catalogue(Therapy)  # a transactional test may follow one that emptied the tables
    patient = PatientFactory(care_team=team_a)
    CourseFactory(patient=patient)

    held, release, seen = threading.Event(), threading.Event(), {}

    def hold_patient_lock():
        try:
            with transaction.atomic():
                locked = checkin_context(patient.pk)
                seen["courses"] = len(locked.courses)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_patient_lock)
    holder.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            # Would raise DatabaseError ("could not obtain lock") if the center's row were locked too.
            Center.objects.select_for_update(nowait=True).get(pk=patient.center_id)
            # A row that merely refers to the patient (a scan's notification: its foreign key takes KEY SHARE)
            # does not wait for the check-in.
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM tracker_patient WHERE id = %s FOR KEY SHARE NOWAIT", [patient.pk])
            # Another check-in of the same patient does wait.
            with pytest.raises(Exception, match="could not obtain lock"):
                with transaction.atomic():
                    Patient.objects.select_for_update(no_key=True, nowait=True).get(pk=patient.pk)
    finally:
        release.set()
        holder.join(10)
    assert seen["courses"] == 1


def test_the_schema_says_inputs_refuse_unknown_fields(client):
    """What the server does (unknown fields answer 400, naming them) is what the schema states."""
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    components = schema["components"]["schemas"]
    strict = {name for name, body in components.items() if body.get("additionalProperties") is False}
    assert {"CheckInInputRequest", "TokenInputRequest"} <= strict
