"""A check-in belongs to the patient's local day (their time zone, through DST changes), and a day counts as
logged only when it has a complete, current check-in (selectors.logged_dates)."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from tests.factories import CourseFactory, PatientFactory
from tracker import selectors
from tracker.models import CheckIn, Therapy
from tracker.questions import question_groups_for, required_fields

UTC = dt.UTC
URL = "/api/v1/checkins/"

# Answers for the questions that are not yes/no, when they are required.
NOT_YES_NO = {"temperature_c": ("temperature", "37.0"), "consciousness": ("consciousness", "alert"),
              "extra_stools": ("extra_stools", 0), "abdominal_pain": ("abdominal_pain", "none"),
              "rash_percent": ("rash_percent", 0)}


def complete_payload(patient, **overrides) -> dict:
    """Every question required for the patient's therapies answered, all quiet."""
    payload = {"temperature_unit": "C"}
    for name in required_fields(selectors.patient_question_groups(patient)):
        key, value = NOT_YES_NO.get(name, (name, False))
        payload[key] = value
    payload.update(overrides)
    return payload


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def make_patient(team, time_zone, therapy="yescarta"):
    patient = PatientFactory(care_team=team, time_zone=time_zone)
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code=therapy), start_date=dt.date(2026, 1, 1))
    return patient


def post_checkin(as_user, patient, payload, moment):
    """The patient checks in at `moment` (UTC), without giving recorded_at: the server's clock decides."""
    with time_machine.travel(moment, tick=False):
        response = as_user(patient.user).post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    return CheckIn.objects.get(uuid=response.json()["id"])


def test_complete_payload_helper_really_is_complete_for_car_t_and_checkpoint(as_user, team_a):
    for therapy in ("yescarta", "carvykti", "pembrolizumab"):
        patient = make_patient(team_a, "America/New_York", therapy)
        assert question_groups_for(selectors.active_therapies(patient)) == selectors.patient_question_groups(patient)
        checkin = post_checkin(as_user, patient, complete_payload(patient), at(2026, 3, 10, 15, 0))
        assert checkin.is_complete, therapy


@pytest.mark.parametrize(
    ("time_zone", "local_date"),
    [
        ("America/Los_Angeles", dt.date(2026, 3, 7)),  # 20:30 PST on the 7th
        ("America/New_York", dt.date(2026, 3, 7)),  # 23:30 EST on the 7th
        ("UTC", dt.date(2026, 3, 8)),
        ("Europe/Berlin", dt.date(2026, 3, 8)),  # 05:30 CET on the 8th
        ("Asia/Tokyo", dt.date(2026, 3, 8)),  # 13:30 JST on the 8th
    ],
)
def test_local_date_is_the_patients_date_at_the_moment_of_the_checkin(as_user, team_a, time_zone, local_date):
    patient = make_patient(team_a, time_zone)
    checkin = post_checkin(as_user, patient, {"temperature": "37.0"}, at(2026, 3, 8, 4, 30))
    assert checkin.local_date == local_date
    assert checkin.recorded_at == at(2026, 3, 8, 4, 30)


def test_local_date_follows_the_patient_not_the_center_or_the_server(as_user, team_a):
    assert team_a.center.time_zone == "America/New_York"
    patient = make_patient(team_a, "America/Los_Angeles")
    # 06:00 UTC is 01:00 on the 8th in New York (the center) but 22:00 on the 7th in Los Angeles.
    checkin = post_checkin(as_user, patient, {"temperature": "37.0"}, at(2026, 3, 8, 6, 0))
    assert checkin.local_date == dt.date(2026, 3, 7)


def test_recorded_at_sent_with_an_offset_is_dated_in_the_patients_zone(as_user, team_a):
    la, berlin = make_patient(team_a, "America/Los_Angeles"), make_patient(team_a, "Europe/Berlin")
    sent = "2026-03-07T20:30:00-08:00"  # 2026-03-08 04:30 UTC
    with time_machine.travel(at(2026, 3, 8, 12, 0), tick=False):
        for patient, expected in ((la, dt.date(2026, 3, 7)), (berlin, dt.date(2026, 3, 8))):
            response = as_user(patient.user).post(URL, {"recorded_at": sent, "temperature": "37.0"}, format="json")
            assert response.status_code == 201
            assert response.json()["local_date"] == expected.isoformat()
            assert CheckIn.objects.get(uuid=response.json()["id"]).recorded_at == at(2026, 3, 8, 4, 30)


@pytest.mark.parametrize(
    ("moment", "local_date"),
    [
        # Spring forward, 2026-03-08: 02:00 EST becomes 03:00 EDT (offset -5 before, -4 after).
        (at(2026, 3, 8, 4, 30), dt.date(2026, 3, 7)),  # 23:30 EST
        (at(2026, 3, 8, 6, 59), dt.date(2026, 3, 8)),  # 01:59 EST
        (at(2026, 3, 8, 7, 0), dt.date(2026, 3, 8)),  # 03:00 EDT
        (at(2026, 3, 9, 3, 30), dt.date(2026, 3, 8)),  # 23:30 EDT (a -5 offset would also say the 8th)
        (at(2026, 3, 9, 4, 30), dt.date(2026, 3, 9)),  # 00:30 EDT (a -5 offset would wrongly say the 8th)
        # Fall back, 2026-11-01: 02:00 EDT becomes 01:00 EST.
        (at(2026, 11, 1, 3, 30), dt.date(2026, 10, 31)),  # 23:30 EDT
        (at(2026, 11, 1, 4, 30), dt.date(2026, 11, 1)),  # 00:30 EDT (a -5 offset would wrongly say the 31st)
        (at(2026, 11, 1, 5, 30), dt.date(2026, 11, 1)),  # 01:30 EDT, first time round
        (at(2026, 11, 1, 6, 30), dt.date(2026, 11, 1)),  # 01:30 EST, second time round
        (at(2026, 11, 2, 4, 30), dt.date(2026, 11, 1)),  # 23:30 EST (a -4 offset would wrongly say the 2nd)
        (at(2026, 11, 2, 5, 30), dt.date(2026, 11, 2)),  # 00:30 EST
    ],
)
def test_local_date_is_right_across_daylight_saving_changes_in_new_york(as_user, team_a, moment, local_date):
    patient = make_patient(team_a, "America/New_York")
    checkin = post_checkin(as_user, patient, {"temperature": "37.0"}, moment)
    assert checkin.local_date == local_date


def test_the_short_and_the_long_dst_days_each_count_once(as_user, team_a):
    patient = make_patient(team_a, "America/New_York")
    post_checkin(as_user, patient, complete_payload(patient), at(2026, 3, 8, 5, 0))  # 00:00 EST on the 8th
    post_checkin(as_user, patient, complete_payload(patient), at(2026, 3, 9, 3, 59))  # 23:59 EDT on the 8th
    post_checkin(as_user, patient, complete_payload(patient), at(2026, 11, 1, 4, 0))  # 00:00 EDT on 1 Nov
    post_checkin(as_user, patient, complete_payload(patient), at(2026, 11, 2, 4, 59))  # 23:59 EST on 1 Nov
    assert selectors.logged_dates(patient, start=dt.date(2026, 3, 7), end=dt.date(2026, 3, 9)) == {dt.date(2026, 3, 8)}
    assert selectors.logged_dates(patient, start=dt.date(2026, 10, 31), end=dt.date(2026, 11, 2)) == {
        dt.date(2026, 11, 1)
    }


@pytest.mark.parametrize(
    ("time_zone", "moment"),
    [
        ("America/New_York", at(2026, 3, 10, 6, 0)),  # 02:00 EDT on the 10th
        ("Asia/Tokyo", at(2026, 3, 9, 17, 0)),  # 02:00 JST on the 10th, still the 9th in UTC
        ("Pacific/Auckland", at(2026, 3, 9, 13, 0)),  # 02:00 NZDT on the 10th
    ],
)
def test_a_2am_fever_checkin_counts_for_that_local_day(as_user, team_a, time_zone, moment):
    patient = make_patient(team_a, time_zone)
    checkin = post_checkin(as_user, patient, complete_payload(patient, temperature="38.6", chills=True), moment)
    assert checkin.local_date == dt.date(2026, 3, 10)
    assert checkin.is_complete
    assert selectors.logged_dates(patient, start=dt.date(2026, 3, 9), end=dt.date(2026, 3, 10)) == {
        dt.date(2026, 3, 10)
    }
    client = Client()
    client.force_login(patient.user)
    with time_machine.travel(moment + dt.timedelta(hours=1), tick=False):
        page = client.get(f"/patients/{patient.uuid}/")
    assert page.context["today"] == dt.date(2026, 3, 10)
    assert page.context["logged_today"] is True
    # Until the care team acknowledges the fever's alert, the page leads with what to do, not "done" in green.
    assert "Your check-in was sent and your care team has been told." in page.content.decode()


def test_home_page_today_is_the_patients_today(as_user, team_a, settings):
    settings.SESSION_IDLE_MINUTES = 10**6  # 90 minutes pass between the requests; idle sign-out is tested elsewhere
    patient = make_patient(team_a, "America/Los_Angeles")
    post_checkin(as_user, patient, complete_payload(patient), at(2026, 3, 8, 4, 30))  # 20:30 PST on the 7th
    client = Client()
    client.force_login(patient.user)
    with time_machine.travel(at(2026, 3, 8, 7, 0), tick=False):  # 23:00 PST, still the 7th
        page = client.get(f"/patients/{patient.uuid}/")
        assert page.context["logged_today"] is True
    with time_machine.travel(at(2026, 3, 8, 8, 30), tick=False):  # 00:30 PST on the 8th: a new day
        page = client.get(f"/patients/{patient.uuid}/")
        assert page.context["today"] == dt.date(2026, 3, 8)
        assert page.context["logged_today"] is False
        assert dict(page.context["days"])[dt.date(2026, 3, 7)] == "done"


def test_several_checkins_on_one_day_are_all_kept(as_user, team_a):
    patient = make_patient(team_a, "America/New_York")
    moments = [at(2026, 3, 10, 12, 0), at(2026, 3, 10, 16, 0), at(2026, 3, 11, 0, 30)]  # 08:00, 12:00, 20:30 EDT
    made = [post_checkin(as_user, patient, complete_payload(patient, temperature=t), m)
            for t, m in zip(("37.0", "37.8", "38.4"), moments, strict=True)]
    assert {c.local_date for c in made} == {dt.date(2026, 3, 10)}
    assert CheckIn.objects.filter(patient=patient).count() == 3
    with time_machine.travel(at(2026, 3, 11, 1, 0), tick=False):
        rows = as_user(patient.user).get(URL).json()["results"]
    assert [r["temperature_c"] for r in rows] == ["38.4", "37.8", "37.0"]
    assert selectors.logged_dates(patient, start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 10)) == {
        dt.date(2026, 3, 10)
    }


# --- logged_dates ---------------------------------------------------------------------------------------------

DAY = dt.date(2026, 3, 10)
NOON = at(2026, 3, 10, 16, 0)  # 12:00 EDT


@pytest.fixture
def maria(team_a):
    return make_patient(team_a, "America/New_York")


def logged(patient, start=DAY, end=DAY):
    return selectors.logged_dates(patient, start=start, end=end)


def test_a_partial_checkin_does_not_count_the_day(as_user, maria):
    checkin = post_checkin(as_user, maria, {"temperature": "37.1"}, NOON)
    assert checkin.is_complete is False
    assert logged(maria) == set()


def test_a_checkin_missing_one_required_answer_does_not_count_the_day(as_user, maria):
    payload = complete_payload(maria)
    del payload["seizure"]
    post_checkin(as_user, maria, payload, NOON)
    assert logged(maria) == set()


def test_a_complete_checkin_counts_the_day(as_user, maria):
    post_checkin(as_user, maria, complete_payload(maria), NOON)
    assert logged(maria) == {DAY}


def test_a_later_partial_checkin_does_not_undo_a_complete_one(as_user, maria):
    post_checkin(as_user, maria, complete_payload(maria), NOON)
    post_checkin(as_user, maria, {"temperature": "37.9"}, NOON + dt.timedelta(hours=3))
    assert logged(maria) == {DAY}


def test_amending_a_complete_checkin_into_an_incomplete_one_uncounts_the_day(as_user, maria):
    checkin = post_checkin(as_user, maria, complete_payload(maria), NOON)
    assert logged(maria) == {DAY}
    with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
        response = as_user(maria.user).post(
            f"{URL}{checkin.uuid}/amend/", {"reason": "Did not really check for a tremor", "tremor": None},
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert response.json()["is_complete"] is False
    assert response.json()["local_date"] == DAY.isoformat()
    assert logged(maria) == set()


def test_amending_a_partial_checkin_into_a_complete_one_counts_the_day(as_user, maria):
    checkin = post_checkin(as_user, maria, {"temperature": "37.1"}, NOON)
    rest = complete_payload(maria)
    del rest["temperature"], rest["temperature_unit"]
    with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
        response = as_user(maria.user).post(
            f"{URL}{checkin.uuid}/amend/", {"reason": "Answered the rest", **rest}, format="json"
        )
    assert response.status_code == 201, response.json()
    assert response.json()["is_complete"] is True
    assert logged(maria) == {DAY}


def test_logged_dates_covers_its_range_inclusively_and_only_this_patient(as_user, maria, team_a):
    other = make_patient(team_a, "America/New_York")
    for days in (0, 1, 2, 4):
        post_checkin(as_user, maria, complete_payload(maria), NOON + dt.timedelta(days=days))
    post_checkin(as_user, other, complete_payload(other), NOON + dt.timedelta(days=3))
    assert logged(maria, start=DAY + dt.timedelta(days=1), end=DAY + dt.timedelta(days=4)) == {
        DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=4),
    }
    assert logged(other, start=DAY, end=DAY + dt.timedelta(days=4)) == {DAY + dt.timedelta(days=3)}


def test_a_checkpoint_patient_needs_the_checkpoint_answers_for_the_day_to_count(as_user, team_a):
    robert = make_patient(team_a, "America/Chicago", therapy="pembrolizumab")
    car_t_style = {"temperature": "37.0", "dizzy_or_fainting": False, "fast_heartbeat": False,
                   "severe_fatigue": False, "confusion": False}
    post_checkin(as_user, robert, car_t_style, NOON)
    assert logged(robert) == set()
    post_checkin(as_user, robert, complete_payload(robert), NOON + dt.timedelta(hours=1))
    assert logged(robert) == {DAY}
