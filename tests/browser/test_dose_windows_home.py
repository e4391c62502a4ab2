"""Dose windows in a real browser (clinical-rules §8): a nurse records Maria's second step-up dose of teclistamab
on the staff page; Maria, on her phone (360 px wide), sees on her home page that her care team watches her for
48 hours after it, that she may not drive through the step-up doses, which dose opened each window, and her next
dose. A screenshot goes to /tmp/dose_windows_home.png (and screenshots/)."""

import datetime as dt
import shutil

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import DoseWindow
from tests.browser.conftest import SCREENSHOTS
from tests.browser.support import NEW_YORK, fill_step_up_dose_2, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_recorded_step_up_dose_opens_windows_the_patient_sees_on_her_phone(live_server, tecvayli_patient,
                                                                             new_page, shot):
    maria, course = tecvayli_patient
    staff = new_page(1366, 900)
    sign_in(staff, live_server.url, "ana")
    staff.goto(f"{live_server.url}/staff/patients/{maria.uuid}/")
    section = staff.locator("#doses")
    form, start = fill_step_up_dose_2(section)
    with staff.expect_navigation():
        form.get_by_role("button", name="Record the dose").click()
    expect(staff.locator("#dose-windows tr[data-kind=dose_monitoring]").first).to_contain_text("Step-up dose 2")
    assert DoseWindow.objects.filter(course=course, dose__step_code="su2", kind="dose_monitoring").exists()

    phone = new_page(360, 740)
    sign_in(phone, live_server.url, "maria")
    phone.goto(f"{live_server.url}/patients/{maria.uuid}/")
    windows = phone.locator("#dose-windows")
    expect(windows).to_be_visible()
    until = timezone.localtime(start + dt.timedelta(hours=48), NEW_YORK)
    watched = windows.locator("li.dose_monitoring")
    expect(watched).to_have_count(1)  # SU1's 48 h ended yesterday
    expect(watched).to_contain_text(f"Your care team is watching you after this dose until {until:%A} "
                                    f"{until.day} {until:%b}, {until:%H:%M}.")
    expect(watched).to_contain_text(f"After your step-up dose 2 on {start:%A} {start.day} {start:%b}, {start:%H:%M}.")
    expect(windows.locator("li.dose_driving")).to_contain_text(
        "Do not drive during your step-up doses and for 48 hours after the last one.")
    expect(windows.locator(".next-dose")).to_contain_text("Your next dose (first treatment dose) is planned for")
    windows.scroll_into_view_if_needed()
    phone.screenshot(path="/tmp/dose_windows_home.png", full_page=True)
    shot(phone, "dose_windows_home")
    shutil.copy("/tmp/dose_windows_home.png", SCREENSHOTS / "dose_windows_home_360.png")
    # Nothing wider than the phone's screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
