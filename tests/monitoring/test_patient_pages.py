"""What the pages show from monitoring: the instruction after a check-in, the no-driving banner on every
patient page (clinical-rules §3), and findings with rule ids for staff only."""

import datetime as dt
import html as html_lib
import re

import pytest
import time_machine
from django.utils import timezone

from monitoring.models import Window
from tests.monitoring.support import PHONE, banner_text, form_post, signed_in
from tracker.models import CheckIn


@pytest.fixture
def frozen():
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        yield moment


def checkin_url(patient) -> str:
    return f"/patients/{patient.uuid}/checkin/"


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html_lib.unescape(response.content.decode())


def submit(client, patient, *, ticked=(), **values):
    form = client.get(checkin_url(patient)).content.decode()
    return client.post(checkin_url(patient), form_post(form, ticked=ticked, **values))


def test_after_a_fever_with_dizziness_the_detail_page_says_call_911_and_shows_the_24_7_number(patient, frozen):
    """clinical-rules §1: fever plus dizziness after CAR T → emergency; Urgency levels: call 911 first."""
    client = signed_in(patient.user)
    response = submit(client, patient, ticked=["dizzy_or_fainting"], temperature="38.3", temperature_unit="C",
                      consciousness="alert")
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert response["Location"] == f"/patients/{patient.uuid}/checkins/{checkin.uuid}/"
    body = page(client, response["Location"])
    guidance = re.search(r'<section class="guidance ([\w-]+)"[^>]*>(.*?)</section>', body, re.S)
    assert guidance, body
    assert guidance.group(1) == "emergency"
    text = guidance.group(2)
    assert "Emergency" in text
    assert "Call 911 or go to the emergency department now" in text
    assert PHONE in text
    assert f'href="tel:{PHONE}"' in text
    assert checkin.assessment.urgency_label == "emergency"


def test_a_normal_checkin_page_tells_the_patient_nothing_needs_action(patient, frozen):
    client = signed_in(patient.user)
    response = submit(client, patient, temperature="37.0", temperature_unit="C", consciousness="alert")
    body = page(client, response["Location"])
    assert "nothing in this check-in needs action now" in body
    assert "911" not in body
    assert PHONE in body


def test_every_car_t_patient_page_shows_the_no_driving_banner(patient, frozen):
    """clinical-rules §3: no driving for 2 weeks after infusion, shown with its end date and days left."""
    window = Window.objects.get(course__patient=patient, kind="driving")
    today = timezone.localtime(frozen, patient.tz).date()
    expected = banner_text(window.ends_on, (window.ends_on - today).days)
    client = signed_in(patient.user)
    detail = submit(client, patient, temperature="37.0", temperature_unit="C", consciousness="alert")["Location"]
    for url in (f"/patients/{patient.uuid}/", checkin_url(patient), detail):
        body = page(client, url)
        assert expected in body, url
        assert "No driving or heavy machinery: confusion or a seizure can come on without warning." in body


def test_caregiver_pages_show_the_banner_too(patient, caregiver, frozen):
    window = Window.objects.get(course__patient=patient, kind="driving")
    today = timezone.localtime(frozen, patient.tz).date()
    body = page(signed_in(caregiver), f"/patients/{patient.uuid}/")
    assert banner_text(window.ends_on, (window.ends_on - today).days) in body


def test_checkpoint_patient_pages_have_no_driving_banner(other_patient, frozen):
    client = signed_in(other_patient.user)
    response = submit(client, other_patient, temperature="37.0", temperature_unit="C")
    assert response.status_code == 302
    for url in (f"/patients/{other_patient.uuid}/", checkin_url(other_patient), response["Location"]):
        body = page(client, url)
        assert "No driving until" not in body, url
        assert "Stay near your treating center" not in body, url


def test_banner_goes_away_when_the_window_ends(patient):
    window = Window.objects.get(course__patient=patient, kind="driving")
    end_day = dt.datetime.combine(window.ends_on, dt.time(12), tzinfo=patient.tz)
    with time_machine.travel(end_day - dt.timedelta(days=1), tick=False):
        assert banner_text(window.ends_on, 1) in page(signed_in(patient.user), f"/patients/{patient.uuid}/")
    with time_machine.travel(end_day, tick=False):
        assert "No driving until" not in page(signed_in(patient.user), f"/patients/{patient.uuid}/")


def test_staff_see_findings_with_rule_ids_and_the_patient_does_not(patient, nurse, frozen):
    client = signed_in(patient.user)
    detail = submit(client, patient, ticked=["dizzy_or_fainting"], temperature="38.3", temperature_unit="C",
                    consciousness="alert")["Location"]
    staff_body = page(signed_in(nurse), detail)
    assert "Findings" in staff_body
    assert "crs.fever_with_dizziness" in staff_body
    assert "clinical-rules §1 ASTCT CRS" in staff_body
    patient_body = page(client, detail)
    assert "crs.fever" not in patient_body
    assert "clinical-rules" not in patient_body
    assert "<h2>Findings</h2>" not in patient_body


def test_staff_view_of_a_patient_shows_the_patients_banner(patient, nurse, frozen):
    window = Window.objects.get(course__patient=patient, kind="driving")
    today = timezone.localtime(frozen, patient.tz).date()
    body = page(signed_in(nurse), f"/patients/{patient.uuid}/")
    assert banner_text(window.ends_on, (window.ends_on - today).days) in body
