"""A physician clears a no-driving window that a neurologic finding reopened during a T-cell engager course
(clinical-rules §8: no driving from any new neurologic symptom until it has resolved) from the staff patient page:
a button with a required note, audited, for physicians of the patient's team only, refused for a window no
finding reopened. Through the test client."""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine

from monitoring.models import DoseWindow, DoseWindowKind, WindowEvent
from monitoring.services.dose_windows import dose_windows_after_findings
from tests.factories import CheckInFactory, CourseFactory, PatientFactory, UserFactory
from tests.monitoring.support import signed_in
from tracker.dose_services import dose_record
from tracker.models import AuditEvent, Role, Therapy

NY = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=NY)


@pytest.fixture
def course(team_a, nurse, django_capture_on_commit_callbacks):
    patient = PatientFactory(care_team=team_a)
    course = CourseFactory(patient=patient, therapy=Therapy.objects.get(code="teclistamab"),
                           start_date=dt.date(2026, 10, 20))
    start = dt.datetime(2026, 10, 20, 9, tzinfo=NY)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        dose_record(course=course, recorded_by=nurse, values={
            "step_code": "su1", "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
            "setting": "infusion_center", "kept_for_monitoring": False})
    return course


@pytest.fixture
def reopened(course):
    """An ICANS finding on Monday 2 November reopened no driving until a physician clears it."""
    checkin = CheckInFactory(patient=course.patient, recorded_at=dt.datetime(2026, 11, 2, 12, tzinfo=NY))
    icans = type("F", (), {"condition": "icans", "min_grade": 1})()
    with time_machine.travel(checkin.recorded_at, tick=False):
        dose_windows_after_findings(courses=[course], checkin=checkin, findings=[icans])
    return DoseWindow.objects.get(course=course, checkin=checkin)


def url(window) -> str:
    return f"/staff/dose-windows/{window.uuid}/clear/"


def page_of(client, patient) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/staff/patients/{patient.uuid}/")
    assert response.status_code == 200
    return response.content.decode()


def post(client, window, note):
    with time_machine.travel(NOW, tick=False):
        return client.post(url(window), {"note": note})


def test_a_physician_sees_the_button_and_clears_the_window_with_a_note(reopened, physician):
    client = signed_in(physician)
    body = page_of(client, reopened.course.patient)
    assert f'action="{url(reopened)}"' in body and "Clear to drive" in body
    response = post(client, reopened, "Neurology review: tremor resolved")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/patients/{reopened.course.patient.uuid}/#dose-windows"
    reopened.refresh_from_db()
    assert reopened.cleared_at == NOW and reopened.cleared_by == physician
    assert reopened.clearance_reason == "Neurology review: tremor resolved"
    event = reopened.events.get(kind=WindowEvent.Kind.CLEARED)
    assert event.actor == physician and event.note == "Neurology review: tremor resolved"
    audit = AuditEvent.objects.filter(action="clear_window", user=physician).get()
    assert audit.patient_id == reopened.course.patient_id and audit.status_code == 302
    body = page_of(client, reopened.course.patient)
    assert "Clear to drive" not in body
    assert "Neurology review: tremor resolved" in body


def test_the_note_is_required(reopened, physician):
    response = post(signed_in(physician), reopened, "   ")
    assert response.status_code == 400
    body = response.content.decode()
    assert re.search(r'<p class="error" id="clear-error-\d+" role="alert">A clearance needs a reason.</p>', body)
    reopened.refresh_from_db()
    assert reopened.cleared_at is None


def test_a_nurse_sees_no_button_and_is_refused(reopened, nurse):
    client = signed_in(nurse)
    body = page_of(client, reopened.course.patient)
    assert "Clear to drive" not in body
    assert "A physician clears it when the symptoms have resolved." in body
    response = post(client, reopened, "Seems fine")
    assert response.status_code == 403
    assert "Only a physician can clear a patient to drive." in response.content.decode()
    reopened.refresh_from_db()
    assert reopened.cleared_at is None
    assert AuditEvent.objects.filter(action="clear_window", user=nurse, status_code=403).exists()


def test_a_physician_of_another_team_and_a_patient_get_not_found(reopened, team_b):
    other = UserFactory(role=Role.PHYSICIAN, teams=[team_b])
    assert post(signed_in(other), reopened, "Resolved").status_code == 404
    assert post(signed_in(reopened.course.patient.user), reopened, "Resolved").status_code == 404
    reopened.refresh_from_db()
    assert reopened.cleared_at is None


def test_a_window_no_neurologic_finding_reopened_is_refused(course, physician):
    step_up = DoseWindow.objects.get(course=course, kind=DoseWindowKind.DRIVING, dose__isnull=False)
    assert "Clear to drive" not in page_of(signed_in(physician), course.patient)
    response = post(signed_in(physician), step_up, "Wants to drive")
    assert response.status_code == 409
    step_up.refresh_from_db()
    assert step_up.cleared_at is None


def test_a_second_clearance_is_refused(reopened, physician):
    client = signed_in(physician)
    assert post(client, reopened, "Resolved").status_code == 302
    assert post(client, reopened, "Resolved again").status_code == 409
    assert reopened.events.filter(kind=WindowEvent.Kind.CLEARED).count() == 1


def test_a_get_is_not_allowed(reopened, physician):
    with time_machine.travel(NOW, tick=False):
        assert signed_in(physician).get(url(reopened)).status_code == 405
