"""The Doses section of the staff patient page and the pages that record and correct a dose (clinical-rules §8),
in English and Spanish, working without JavaScript."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CourseFactory
from tracker.models import AuditEvent, DoseAdministration, Therapy

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def local(moment: dt.datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M")


def days_ago(days: int, hour: int = 9) -> dt.datetime:
    day = timezone.localtime(timezone.now(), NEW_YORK).date() - dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=NEW_YORK)


@pytest.fixture
def tecvayli(patient):
    return CourseFactory(patient=patient, therapy=Therapy.objects.get(code="teclistamab"),
                         start_date=timezone.localtime(timezone.now(), NEW_YORK).date() - dt.timedelta(days=10))


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


def form(step="su1", start=None, **extra) -> dict:
    start = start or days_ago(3)
    return {"step_code": step, "started_at": local(start), "ended_at": local(start + dt.timedelta(minutes=5)),
            "setting": "inpatient", "kept_for_monitoring": "on", **extra}


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_patient_page_lists_recorded_and_planned_doses_with_a_record_form(nurse_client, nurse, patient, tecvayli):
    response = nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form("su1"))
    assert response.status_code == 302 and response["Location"].endswith(f"/staff/patients/{patient.uuid}/#doses")
    page = nurse_client.get(f"/staff/patients/{patient.uuid}/").content.decode()
    section = text_of(page.split('id="doses"', 1)[1].split("</section>", 1)[0])
    assert "Tecvayli" in section and "Step-up dose 1 step-up schedule Given" in section and "48 h, until" in section
    assert "Step-up dose 2 step-up schedule Planned" in section
    assert "First treatment dose step-up schedule Planned" in section and "Weekly treatment dose Planned" in section
    assert 'name="step_code"' in page and 'value="su2"' in page  # the step chosen from the product's schedule
    assert DoseAdministration.objects.get().recorded_by == nurse


def test_a_bad_dose_is_shown_again_with_each_error_beside_its_field_and_nothing_saved(nurse_client, tecvayli):
    start = days_ago(3)
    response = nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/",
                                 form("su1", start=start, ended_at=local(start - dt.timedelta(hours=1))))
    assert response.status_code == 400
    html = response.content.decode()
    assert "The end is before the start." in html and "Nothing was saved" in html
    assert DoseAdministration.objects.count() == 0
    response = nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form("su1", start=days_ago(30)))
    assert response.status_code == 400 and "before the course started" in response.content.decode()
    response = nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", {"step_code": "su1"})
    assert response.status_code == 400 and response.content.decode().count('class="error"') >= 2


def test_the_errors_are_in_spanish_for_a_spanish_reader(client, nurse, tecvayli):
    nurse.preferred_language = "es"
    nurse.save()
    client.force_login(nurse)
    start = days_ago(3)
    response = client.post(f"/staff/courses/{tecvayli.uuid}/doses/",
                           form("su1", start=start, ended_at=local(start - dt.timedelta(hours=1))))
    html = response.content.decode()
    assert "El final es anterior al inicio." in html and "Dosis escalonada 1" in html
    assert "Registrar una dosis" in html


def test_a_correction_needs_a_reason_and_keeps_the_original(nurse_client, patient, tecvayli):
    nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form("su1"))
    original = DoseAdministration.objects.get()
    url = f"/staff/courses/{tecvayli.uuid}/doses/{original.uuid}/correct/"
    page = nurse_client.get(url).content.decode()
    assert 'value="su1" selected' in page or 'value="su1"' in page
    response = nurse_client.post(url, form("su2"))
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert DoseAdministration.objects.count() == 1
    response = nurse_client.post(url, form("su2", reason="It was step-up dose 2"))
    assert response.status_code == 302
    correction = DoseAdministration.objects.get(corrects=original)
    assert correction.step_code == "su2" and correction.correction_reason == "It was step-up dose 2"
    section = text_of(nurse_client.get(f"/staff/patients/{patient.uuid}/").content.decode().split('id="doses"', 1)[1])
    assert "Step-up dose 2 step-up schedule Given corrected" in section and "It was step-up dose 2" in section
    actions = set(AuditEvent.objects.filter(path__startswith="/staff/courses/").values_list("action", flat=True))
    assert actions == {"record_dose", "correct_dose", "view"}


def test_the_patient_page_query_count_does_not_grow_with_doses(nurse_client, patient, tecvayli):
    url = f"/staff/patients/{patient.uuid}/"
    nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form("su1", start=days_ago(9)))
    nurse_client.get(url)
    with CaptureQueriesContext(connection) as one:
        nurse_client.get(url)
    for days, step in ((8, "su2"), (7, "first_treatment"), (6, "weekly"), (5, "weekly"), (4, "weekly")):
        assert nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form(step, start=days_ago(days))).status_code == 302
    with CaptureQueriesContext(connection) as many:
        nurse_client.get(url)
    assert len(many) == len(one)


def test_other_teams_and_patients_cannot_reach_the_dose_pages(client, other_nurse, patient, tecvayli):
    for user in (other_nurse, patient.user):
        client.force_login(user)
        assert client.get(f"/staff/courses/{tecvayli.uuid}/doses/").status_code == 404
        assert client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form()).status_code == 404
    assert DoseAdministration.objects.count() == 0


def test_the_dose_pages_resolve_every_template_variable(nurse_client, patient, tecvayli, caplog):
    """An unresolved template variable is logged with the page's data (PHI): every name must be set, with doses of
    a schedule and free-named ones, a correction, and refused forms."""
    import logging

    car_t = patient.courses.exclude(pk=tecvayli.pk).get()
    with caplog.at_level(logging.DEBUG, logger="django.template"):
        nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form("su1", start=days_ago(9)))
        nurse_client.post(f"/staff/courses/{car_t.uuid}/doses/", form("cycle 1 day 1", start=days_ago(1)))
        dose = DoseAdministration.objects.get(course=tecvayli)
        nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/{dose.uuid}/correct/", form("su1", reason="time",
                                                                                            start=days_ago(9, 10)))
        for url in (f"/staff/patients/{patient.uuid}/", f"/staff/courses/{tecvayli.uuid}/doses/",
                    f"/staff/courses/{tecvayli.uuid}/doses/{dose.uuid}/correct/"):
            assert nurse_client.get(url).status_code == 200
        assert nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", {"step_code": "su2"}).status_code == 400
        assert nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/{dose.uuid}/correct/",
                                 {"step_code": "su2"}).status_code == 400
    unresolved = [r.getMessage() for r in caplog.records if "Exception while resolving variable" in r.getMessage()]
    assert unresolved == []


def test_the_therapy_card_shows_the_label_date_and_the_unverified_and_policy_markers(nurse_client, patient):
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code="glofitamab"))
    page = text_of(nurse_client.get(f"/staff/patients/{patient.uuid}/").content.decode())
    assert "late 2025 copy of the label" in page and "clinical-rules §8" in page
    assert "unverified 24 h after the first step-up dose is from a Swiss label" in page
    assert "unverified No driving during the step-up schedule" in page


def test_a_planned_dose_whose_day_has_passed_is_marked_overdue(nurse_client, patient, tecvayli):
    nurse_client.post(f"/staff/courses/{tecvayli.uuid}/doses/", form("su1", start=days_ago(5)))
    section = text_of(nurse_client.get(f"/staff/patients/{patient.uuid}/").content.decode().split('id="doses"', 1)[1])
    assert "Step-up dose 2 step-up schedule Planned overdue" in section  # planned 2 days ago (day 4)
    assert "First treatment dose step-up schedule Planned overdue" not in section  # tomorrow (day 7)
