"""The Doses section of the staff patient page in a real browser (clinical-rules §8): a nurse records Maria's
second step-up dose of teclistamab from the form (step chosen from the product's schedule, times on the center's
clock), lands back on the patient page and sees it listed as given with its 48-hour monitoring, the next doses
planned. A screenshot goes to /tmp/doses_page.png (and screenshots/)."""

import datetime as dt
import shutil
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.support import sign_in
from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.dose_services import dose_record
from tracker.models import DoseAdministration, Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def tecvayli_patient(db):
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Myeloma")
    nurse = UserFactory(username="ana", role=Role.NURSE, teams=[team], first_name="Ana", last_name="Ruiz")
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez",
                           user=UserFactory(username="maria", role=Role.PATIENT))
    today = timezone.localtime(timezone.now(), NEW_YORK).date()
    course = CourseFactory(patient=maria, therapy=Therapy.objects.get(code="teclistamab"),
                           start_date=today - dt.timedelta(days=3))
    su1 = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(9, 0), tzinfo=NEW_YORK)
    dose_record(course=course, recorded_by=nurse, values={
        "step_code": "su1", "started_at": su1, "ended_at": su1 + dt.timedelta(minutes=5), "setting": "inpatient",
        "kept_for_monitoring": True, "route": ""})
    return maria, course


def test_a_nurse_records_a_step_up_dose_and_sees_it_listed(live_server, tecvayli_patient, new_page, shot):
    maria, course = tecvayli_patient
    page = new_page(1366, 900)
    sign_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/staff/patients/{maria.uuid}/")
    section = page.locator("#doses")
    expect(section.get_by_role("heading", name="Doses")).to_be_visible()
    expect(section.locator("tr.given")).to_have_count(1)
    section.get_by_text("Record a dose").click()
    form = section.locator("form.dose-form")
    form.get_by_label("Dose (schedule step)").select_option("su2")
    start = timezone.localtime(timezone.now() - dt.timedelta(hours=2), NEW_YORK).replace(second=0, microsecond=0)
    form.get_by_label("Started").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Ended").fill((start + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Hospital inpatient").check()
    form.get_by_label("Kept for monitoring after the dose").check()
    form.screenshot(path=str(SCREENSHOTS / "doses_form.png"))
    with page.expect_navigation():
        form.get_by_role("button", name="Record the dose").click()
    assert page.url.endswith(f"/staff/patients/{maria.uuid}/#doses")
    given = page.locator("#doses tr.given")
    expect(given).to_have_count(2)
    expect(given.nth(1)).to_contain_text("Step-up dose 2")
    expect(given.nth(1)).to_contain_text("48 h, until")
    expect(page.locator("#doses tr.planned").first).to_contain_text("First treatment dose")
    dose = DoseAdministration.objects.get(course=course, step_code="su2")
    assert dose.started_at == start and dose.kept_for_monitoring and dose.setting == "inpatient"
    page.locator("#doses").scroll_into_view_if_needed()
    page.locator("#doses").screenshot(path="/tmp/doses_page.png")
    shot(page, "doses_page")
    shutil.copy("/tmp/doses_page.png", SCREENSHOTS / "doses_section.png")
