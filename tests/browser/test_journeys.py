"""The journeys of shared/journeys.md in a real browser: a caregiver logs a fever with dizziness, the
on-call nurse's open dashboard shows the emergency without a reload, she acknowledges and resolves it,
and the timeline shows every step; another team never sees the patient; Spanish is spoken to those who
prefer it."""

import datetime as dt
import re

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from tests.browser.support import sign_in
from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.models import Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(db, settings):
    settings.DASHBOARD_POLL_SECONDS = 1
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team, other_team = CareTeamFactory(name="Cellular Therapy"), CareTeamFactory(name="Thoracic Oncology")
    nurse = UserFactory(username="nora", role=Role.NURSE, teams=[team], first_name="Nora", last_name="Quinn")
    other_nurse = UserFactory(username="tomas", role=Role.NURSE, teams=[other_team])
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez",
                           user=UserFactory(username="maria", role=Role.PATIENT))
    CourseFactory(patient=maria, start_date=timezone.localdate() - dt.timedelta(days=2))
    quiet = PatientFactory(care_team=team, first_name="Quentin", last_name="Abbott")
    CourseFactory(patient=quiet, therapy=Therapy.objects.get(code="kymriah"))
    rosa = PatientFactory(care_team=other_team, first_name="Rosa", last_name="Diaz", preferred_language="es",
                          user=UserFactory(username="rosa", role=Role.PATIENT, preferred_language="es"))
    CourseFactory(patient=rosa, therapy=Therapy.objects.get(code="pembrolizumab"))
    return {"nurse": nurse, "other_nurse": other_nurse, "maria": maria, "rosa": rosa, "quiet": quiet}




def test_fever_with_dizziness_reaches_the_open_dashboard_and_is_acknowledged_and_resolved(
    live_server, people, new_page, shot
):
    nurse_page = new_page()
    sign_in(nurse_page, live_server.url, "nora")
    expect(nurse_page).to_have_url(f"{live_server.url}/staff/")
    first_row = nurse_page.locator("table.dashboard tbody tr").first
    expect(first_row).not_to_contain_text("Lopez")  # nothing to sort her up yet

    patient_page = new_page(360, 800)
    sign_in(patient_page, live_server.url, "maria")
    patient_page.click("text=Check in now")
    patient_page.fill("#temperature", "38.4")
    patient_page.check("input[name=temperature_unit][value=C]")
    patient_page.check("input[name=yes][value=dizzy_or_fainting]")
    shot(patient_page, "checkin-360")
    patient_page.get_by_role("button", name="Send check-in").click()
    guidance = patient_page.locator("section.guidance")
    expect(guidance).to_have_attribute("data-urgency", "emergency")
    expect(guidance).to_contain_text("Call 911")
    expect(guidance).to_contain_text("(555) 010-0199")
    shot(patient_page, "checkin-result-360")

    # No reload: htmx polling brings the emergency to the top of the nurse's open dashboard.
    expect(first_row).to_contain_text("Lopez", timeout=15_000)
    expect(first_row).to_contain_text("emergency")
    expect(first_row).to_contain_text("38.4")
    shot(nurse_page, "dashboard-desktop")

    first_row.get_by_role("button", name="Acknowledge").click()
    expect(nurse_page.locator("table.dashboard tbody tr").first).to_contain_text("acknowledged")
    row = nurse_page.locator("table.dashboard tbody tr").first
    row.locator("summary").click()
    row.locator("textarea[name=note]").fill("Called her husband; sent to the emergency department.")
    row.get_by_role("button", name="Resolve").click()
    expect(nurse_page.locator("table.dashboard tbody tr").first).not_to_contain_text("emergency")

    nurse_page.goto(f"{live_server.url}/staff/patients/{people['maria'].uuid}/")
    timeline = nurse_page.locator("ol.timeline")
    expect(timeline).to_contain_text("Check-in")
    expect(timeline).to_contain_text("Opened")
    expect(timeline).to_contain_text("Acknowledged by Nora Quinn")
    expect(timeline).to_contain_text("Resolved by Nora Quinn")
    expect(timeline).to_contain_text("sent to the emergency department")
    expect(nurse_page.locator("#chart-temperature")).to_be_visible()
    shot(nurse_page, "patient-detail-desktop")

    small = new_page(360, 800)
    sign_in(small, live_server.url, "nora")
    shot(small, "dashboard-360")
    small.goto(f"{live_server.url}/staff/patients/{people['maria'].uuid}/")
    shot(small, "patient-detail-360")
    desktop_patient = new_page()
    sign_in(desktop_patient, live_server.url, "maria")
    desktop_patient.click("text=Check in now")
    shot(desktop_patient, "checkin-desktop")


def test_a_nurse_on_another_team_cannot_see_the_patient(live_server, people, new_page):
    page = new_page()
    sign_in(page, live_server.url, "tomas")
    expect(page.locator("table.dashboard")).not_to_contain_text("Lopez")
    response = page.goto(f"{live_server.url}/staff/patients/{people['maria'].uuid}/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/patients/{people['maria'].uuid}/checkin/")
    assert response.status == 404


def test_spanish_speaking_patient_gets_the_checkin_form_in_spanish(live_server, people, new_page, shot):
    page = new_page(360, 800)
    sign_in(page, live_server.url, "rosa")
    with translation.override("es"):
        heading = translation.gettext("How are you right now?")
        check_in = translation.gettext("Check in now")
        stools = translation.gettext("How many more stools (bowel movements) than usual today?")
    assert heading != "How are you right now?", "the Spanish catalogue is missing"
    page.click(f"text={check_in}")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("label[for=extra_stools]")).to_have_text(stools)
    shot(page, "checkin-spanish-360")
    # The switch in the footer takes her to English and back.
    page.select_option("#language", "en")
    page.click("footer button[type=submit]")
    expect(page.locator("h1")).to_have_text(re.compile("How are you right now"))
