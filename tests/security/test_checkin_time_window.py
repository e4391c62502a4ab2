"""A check-in is accepted only for a time the rules can judge, through the full stack.

Dated before the course started (or years back), a check-in found no therapy to grade it by: 39.6 °C and a
pulse of 135 came back "none". Now `recorded_at` (API, the page's field, amendments) must be no later than
now, no more than the center's `checkin_max_age_hours` back (policy, default 72) and not before the start of
the patient's earliest course in the patient's time zone; otherwise 400 naming `recorded_at`, nothing saved."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from monitoring.models import Alert
from monitoring.rules.policy import POLICY, POLICY_FIELDS
from monitoring.services.intake import checkin_submit
from monitoring.services.policy import policy_set
from tests.factories import CourseFactory, PatientFactory, UserFactory
from tests.monitoring.support import CAR_T_NORMAL
from tests.security.authz_support import token_client
from tracker.models import CheckIn, Role

NOW = dt.datetime(2026, 5, 10, 15, 0, tzinfo=dt.UTC)  # 11:00 in New York
COURSE_START = dt.date(2026, 5, 9)
SICK = {**CAR_T_NORMAL, "temperature": "39.6", "heart_rate": 135}  # clinical-rules §1: fever, fast pulse


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def maria(clock, team_a):
    """Infused with Yescarta yesterday (New York)."""
    patient = PatientFactory(care_team=team_a, first_name="Maria", last_name="Lopez", time_zone="America/New_York")
    CourseFactory(patient=patient, start_date=COURSE_START)
    return patient


def post(patient, recorded_at, values=SICK, client=None):
    client = client or token_client(patient.user)
    return client.post("/api/v1/checkins/", {**values, "recorded_at": recorded_at}, format="json")


def assert_refused_naming_recorded_at(response, *, containing: str = ""):
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["type"] == "validation_error"
    assert list(body["fields"]) == ["recorded_at"]
    assert containing in body["fields"]["recorded_at"][0]


def test_a_fever_dated_before_the_course_started_is_refused_not_graded_none(maria):
    response = post(maria, "2026-05-08T12:00:00-04:00")  # the day before the infusion, within 72 hours
    assert_refused_naming_recorded_at(response, containing="before the treatment started (2026-05-09)")
    assert not CheckIn.objects.exists() and not Alert.objects.exists()


def test_the_course_start_is_the_patients_midnight_not_utcs(maria):
    # 03:30 UTC on the 9th is still the 8th in New York: before the infusion day.
    assert_refused_naming_recorded_at(post(maria, "2026-05-09T03:30:00Z"))
    # 04:30 UTC on the 9th is 00:30 in New York: the infusion day. Accepted and graded.
    response = post(maria, "2026-05-09T04:30:00Z")
    assert response.status_code == 201, response.json()
    assert response.json()["urgency"] != "none"
    assert response.json()["alerts"]


@pytest.mark.parametrize("recorded_at", ["2019-01-01T12:00:00Z", "2001-06-30T08:00:00-04:00"])
def test_years_back_is_refused(maria, recorded_at):
    assert_refused_naming_recorded_at(post(maria, recorded_at))
    assert not CheckIn.objects.exists()


def test_more_than_the_policy_hours_back_is_refused(clock, team_a):
    patient = PatientFactory(care_team=team_a, time_zone="America/New_York")
    CourseFactory(patient=patient, start_date=dt.date(2026, 4, 1))
    too_old = (NOW - dt.timedelta(hours=72, minutes=1)).isoformat()
    assert_refused_naming_recorded_at(post(patient, too_old), containing="at most 72 hours back")
    response = post(patient, (NOW - dt.timedelta(hours=71)).isoformat())
    assert response.status_code == 201, response.json()
    assert response.json()["urgency"] != "none"


def test_the_center_sets_the_hours(clock, team_a):
    patient = PatientFactory(care_team=team_a, time_zone="America/New_York")
    CourseFactory(patient=patient, start_date=dt.date(2026, 4, 1))
    policy_set(center=patient.center, name="checkin_max_age_hours", value="24", user=None, reason="Our practice")
    assert_refused_naming_recorded_at(post(patient, (NOW - dt.timedelta(hours=25)).isoformat()),
                                      containing="at most 24 hours back")
    assert post(patient, (NOW - dt.timedelta(hours=23)).isoformat()).status_code == 201


def test_the_limit_is_a_center_policy_with_a_default_of_72_hours():
    default, source, marker = POLICY_FIELDS["checkin_max_age_hours"]
    assert (default, marker) == (72, POLICY)
    assert "clinical-rules gives no number" in source


def test_the_check_in_page_refuses_a_time_before_the_course_started(maria):
    client = Client()
    client.force_login(maria.user)
    response = client.post(f"/patients/{maria.uuid}/checkin/",
                           {"temperature": "39.6", "temperature_unit": "C", "heart_rate": "135",
                            "recorded_at": "2026-05-08T09:00"})  # the hidden or typed field: local time
    assert response.status_code == 400
    assert "before the treatment started" in response.content.decode()
    assert not CheckIn.objects.exists()


def test_a_staff_phone_entry_obeys_the_same_window(maria, nurse):
    response = post(maria, "2026-05-08T12:00:00-04:00", values={**SICK, "patient": str(maria.uuid)},
                    client=token_client(nurse))
    assert_refused_naming_recorded_at(response)


# --- Amendments -------------------------------------------------------------------------------------------------

@pytest.fixture
def original(maria):
    return checkin_submit(patient=maria, entered_by=maria.user, channel="api", values={"heart_rate": 80},
                          recorded_at=NOW - dt.timedelta(hours=2)).checkin


@pytest.mark.parametrize("recorded_at", ["2026-05-08T12:00:00-04:00", "2020-01-01T00:00:00Z"])
def test_an_amendment_cannot_move_a_checkin_out_of_the_window(maria, original, recorded_at):
    response = token_client(maria.user).post(f"/api/v1/checkins/{original.uuid}/amend/",
                                             {**SICK, "reason": "Wrong time", "recorded_at": recorded_at},
                                             format="json")
    assert_refused_naming_recorded_at(response)
    assert CheckIn.objects.count() == 1


def test_an_amendment_that_keeps_an_older_checkins_time_is_accepted(clock, team_a, nurse):
    """A nurse corrects last week's pulse: the time is not changed, so the window does not apply."""
    patient = PatientFactory(care_team=team_a)
    CourseFactory(patient=patient, start_date=dt.date(2026, 4, 1))
    old = checkin_submit(patient=patient, entered_by=nurse, channel="phone", values={"heart_rate": 80},
                         recorded_at=NOW - dt.timedelta(days=6)).checkin
    response = token_client(nurse).post(f"/api/v1/checkins/{old.uuid}/amend/",
                                        {"reason": "Pulse read back", "heart_rate": 88}, format="json")
    assert response.status_code == 201, response.json()
    assert CheckIn.objects.get(uuid=response.json()["id"]).recorded_at == old.recorded_at


def test_a_patient_without_a_course_is_held_to_the_hours_only(clock, team_a):
    patient = PatientFactory(care_team=team_a, user=UserFactory(role=Role.PATIENT))
    assert post(patient, (NOW - dt.timedelta(hours=10)).isoformat(), values={"temperature": "37.0"}).status_code == 201
    assert_refused_naming_recorded_at(post(patient, (NOW - dt.timedelta(hours=80)).isoformat(),
                                           values={"temperature": "37.0"}))
