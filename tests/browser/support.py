"""What the browser journeys share: the test users' password, signing in through the real form, and filling in
the staff page's dose form."""

import datetime as dt
import zoneinfo

from django.utils import timezone

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")

PASSWORD = "correct-horse-battery"


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def fill_step_up_dose_2(section):
    """Open the Doses section's form and fill in step-up dose 2, given two hours ago in hospital and kept for
    monitoring (New York time). Returns (the form, the start time); the caller submits it."""
    section.get_by_text("Record a dose").click()
    form = section.locator("form.dose-form")
    form.get_by_label("Dose (schedule step)").select_option("su2")
    start = timezone.localtime(timezone.now() - dt.timedelta(hours=2), NEW_YORK).replace(second=0, microsecond=0)
    form.get_by_label("Started").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Ended").fill((start + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Hospital inpatient").check()
    form.get_by_label("Kept for monitoring after the dose").check()
    return form, start
