"""The windows after doses in the every-page banner, and a physician clearing a no-driving window a neurologic
finding reopened, in a real browser (clinical-rules §8). Maria, on her phone (360 px wide), sees on every page that
she may not drive through the step-up doses and since which dose; Dr. Kim clears the window reopened by a check-in
from the staff page, with a note. Screenshots: screenshots/dose_banner_360.png, screenshots/dose_window_clear.png."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import DoseWindow
from monitoring.services.dose_windows import dose_windows_after_findings
from tests.browser.conftest import SCREENSHOTS
from tests.browser.support import NEW_YORK, sign_in
from tests.factories import CheckInFactory, UserFactory
from tracker.models import Role

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_no_driving_banner_after_step_up_doses_shows_on_every_page_of_her_phone(live_server, tecvayli_patient,
                                                                                    new_page, shot):
    maria, course = tecvayli_patient
    su1 = timezone.localtime(course.doses.get().started_at, NEW_YORK)
    phone = new_page(360, 740)
    sign_in(phone, live_server.url, "maria")
    for path in (f"/patients/{maria.uuid}/", f"/patients/{maria.uuid}/checkin/", "/inbox/"):
        phone.goto(f"{live_server.url}{path}")
        banner = phone.locator(".dose-banner[data-kind=dose_driving]")
        expect(banner).to_have_count(1)
        expect(banner).to_contain_text("No driving during the step-up doses: the end is set after the last one")
        expect(banner).to_contain_text(f"Since step-up dose 1 on {su1:%a} {su1.day} {su1:%b}, {su1:%H:%M}.")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, path
    phone.goto(f"{live_server.url}/patients/{maria.uuid}/")
    shot(phone, "dose_banner_360")
    phone.locator(".dose-banner").screenshot(path=str(SCREENSHOTS / "dose_banner_360_banner.png"))


def test_a_physician_clears_the_reopened_no_driving_window_from_the_staff_page(live_server, tecvayli_patient,
                                                                              new_page, shot):
    maria, course = tecvayli_patient
    UserFactory(username="kim", role=Role.PHYSICIAN, teams=[course.care_team], first_name="Lee", last_name="Kim")
    checkin = CheckInFactory(patient=maria, recorded_at=timezone.now() - dt.timedelta(hours=5))
    icans = type("F", (), {"condition": "icans", "min_grade": 1})()
    dose_windows_after_findings(courses=[course], checkin=checkin, findings=[icans])
    reopened = DoseWindow.objects.get(course=course, checkin=checkin)

    staff = new_page(1366, 900)
    sign_in(staff, live_server.url, "kim")
    staff.goto(f"{live_server.url}/staff/patients/{maria.uuid}/#dose-windows")
    form = staff.locator("form.dose-window-clear")
    expect(form).to_have_count(1)
    form.scroll_into_view_if_needed()
    shot(staff, "dose_window_clear")
    staff.locator("#dose-windows").screenshot(path=str(SCREENSHOTS / "dose_window_clear_section.png"))
    form.get_by_label("Neurologic symptoms resolved: may drive again. Note (required)").fill(
        "Neurology review: tremor gone, ICE 10/10.")
    with staff.expect_navigation():
        form.get_by_role("button", name="Clear to drive").click()
    expect(staff.locator("form.dose-window-clear")).to_have_count(0)
    expect(staff.locator("#dose-windows")).to_contain_text("by Lee Kim: Neurology review: tremor gone, ICE 10/10.")
    reopened.refresh_from_db()
    assert reopened.cleared_at is not None
