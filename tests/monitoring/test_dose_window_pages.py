"""The patient's home page (and a caregiver's view of it) shows each open dose window on the patient's clock and
in the patient's language: what it is, until when, which dose opened it, and the next planned dose; the staff
patient page lists the windows with the dose that opened them (clinical-rules §8)."""

import datetime as dt
import html as html_lib
import re
import zoneinfo

import pytest
import time_machine

from tests.factories import CaregiverLinkFactory, CourseFactory, PatientFactory
from tests.monitoring.support import signed_in
from tracker.dose_services import dose_record
from tracker.models import Therapy

NY = zoneinfo.ZoneInfo("America/New_York")
# Tuesday 1 December 2026, 15:00 in New York; SU1 was on Saturday 28 November.
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=NY)


@pytest.fixture
def grace(team_a, nurse, django_capture_on_commit_callbacks):
    patient = PatientFactory(care_team=team_a, first_name="Grace")
    course = CourseFactory(patient=patient, therapy=Therapy.objects.get(code="teclistamab"),
                           start_date=dt.date(2026, 11, 28))
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        for step, start in (("su1", dt.datetime(2026, 11, 28, 9, tzinfo=NY)),
                            ("su2", dt.datetime(2026, 12, 1, 10, tzinfo=NY))):
            dose_record(course=course, recorded_by=nurse, values={
                "step_code": step, "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
                "setting": "inpatient", "kept_for_monitoring": True})
    return patient


def section(client, patient) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/patients/{patient.uuid}/")
    assert response.status_code == 200
    found = re.search(r'<section class="card dose-windows".*?</section>', response.content.decode(), re.S)
    assert found, "no dose windows section"
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def test_the_patient_sees_the_open_windows_the_dose_that_opened_them_and_the_next_dose(grace):
    text = section(signed_in(grace.user), grace)
    # SU2 on Tuesday 10:00 EST: the team watches 48 h, until Thursday 10:00; no driving through the schedule.
    assert "Your care team is watching you after this dose until Thursday 3 Dec, 10:00." in text
    assert "After your step-up dose 2 on Tuesday 1 Dec, 10:00." in text
    assert "Do not drive during your step-up doses and for 48 hours after the last one." in text
    assert "After your step-up dose 1 on Saturday 28 Nov, 09:00." in text
    assert "Your next dose (first treatment dose) is planned for Friday 4 Dec." in text
    assert "watching you after this dose until Monday" not in text  # SU1's 48 h ended on Monday 09:00


def test_in_spanish_for_a_spanish_speaking_patient(grace):
    grace.preferred_language = "es"
    grace.save(update_fields=["preferred_language"])
    text = section(signed_in(grace.user), grace)
    assert "No maneje durante sus dosis escalonadas" in text
    assert "Su próxima dosis" in text and "viernes 4" in text.lower()


def test_a_caregiver_sees_them_too(grace):
    caregiver = CaregiverLinkFactory(patient=grace).user
    text = section(signed_in(caregiver), grace)
    assert "After Grace's doses" in text and "Thursday 3 Dec, 10:00" in text


def test_staff_see_the_windows_with_the_dose_that_opened_them(grace, nurse):
    with time_machine.travel(NOW, tick=False):
        response = signed_in(nurse).get(f"/staff/patients/{grace.uuid}/")
    body = html_lib.unescape(response.content.decode())
    table = re.search(r'<section class="card dose-windows-staff".*?</section>', body, re.S)
    assert table, "no dose windows on the staff page"
    text = " ".join(re.sub(r"<[^>]+>", " ", table.group(0)).split())
    assert "Monitoring after a dose supervised Step-up dose 2 (cycle 1" in text
    assert "No driving" in text and "48 h after the last step-up dose" in text and "open" in text


def test_the_next_check_in_is_due_12_hours_after_the_step_up_dose(grace):
    text = section(signed_in(grace.user), grace)
    # SU2 on Tuesday 10:00, no check-in since: due by 22:00; the 12-hourly period ends on Friday 10:00.
    assert "Next check-in by Tuesday 1 Dec, 22:00. Until Friday 4 Dec, 10:00, check in every 12 hours." in text


def test_the_home_page_query_count_does_not_grow_with_doses_and_windows(grace, nurse, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with time_machine.travel(NOW + dt.timedelta(days=6), tick=False):
            client = signed_in(grace.user)
            client.get(f"/patients/{grace.uuid}/")  # warm-up
            with CaptureQueriesContext(connection) as queries:
                assert client.get(f"/patients/{grace.uuid}/").status_code == 200
        return len(queries)

    before = count()
    course = grace.courses.get()
    with time_machine.travel(NOW + dt.timedelta(days=6), tick=False), django_capture_on_commit_callbacks(execute=True):
        for step, day in (("first_treatment", 4), ("weekly", 6)):
            start = dt.datetime(2026, 12, day, 9, tzinfo=NY)
            dose_record(course=course, recorded_by=nurse, values={
                "step_code": step, "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
                "setting": "inpatient", "kept_for_monitoring": True})
    # Not more (one fewer here: the no-driving window closed, so the banner reads no dose windows).
    assert count() <= before
