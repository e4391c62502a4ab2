"""The Doses section of the staff patient page in a real browser (clinical-rules §8): a nurse records Maria's
second step-up dose of teclistamab from the form (step chosen from the product's schedule, times on the center's
clock), lands back on the patient page and sees it listed as given with its 48-hour monitoring, the next doses
planned. A screenshot goes to /tmp/doses_page.png (and screenshots/)."""

import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.support import fill_step_up_dose_2, sign_in
from tracker.models import DoseAdministration

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_nurse_records_a_step_up_dose_and_sees_it_listed(live_server, tecvayli_patient, new_page, shot):
    maria, course = tecvayli_patient
    page = new_page(1366, 900)
    sign_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/staff/patients/{maria.uuid}/")
    section = page.locator("#doses")
    expect(section.get_by_role("heading", name="Doses")).to_be_visible()
    expect(section.locator("tr.given")).to_have_count(1)
    form, start = fill_step_up_dose_2(section)
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
