"""Connected devices in a real browser (clinical-rules §10). The nurse's dashboard shows Maria's patch temperature
with its age beside her typed one, and Robert's silent patch flagged with the age of his last reading; Maria's staff
page draws the patch and oximeter readings as lines with her check-in as points; on her phone (360 px) Maria reads
that her patch is connected, Robert that his has gone quiet and what to check. Screenshots go to /tmp/shots/ (and
screenshots/)."""

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.support import sign_in
from tests.factories import (
    CareTeamFactory,
    CheckInFactory,
    CourseFactory,
    DeviceAssignmentFactory,
    DeviceFactory,
    PatientFactory,
    UserFactory,
    add_readings,
    open_silence_alert,
)
from tracker.catalogue import sync_catalogue
from tracker.models import Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots")


@pytest.fixture
def ward(db):
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Cellular Therapy")
    nurse = UserFactory(username="ana", role=Role.NURSE, teams=[team], first_name="Ana", last_name="Ruiz")
    now = timezone.now()
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez",
                           user=UserFactory(username="maria", role=Role.PATIENT, first_name="Maria"))
    CourseFactory(patient=maria)
    CheckInFactory(patient=maria, recorded_at=now - dt.timedelta(hours=3), temperature_c=Decimal("37.1"),
                   heart_rate=84, spo2=97, is_complete=True)
    patch = DeviceAssignmentFactory(patient=maria, started_at=now - dt.timedelta(hours=8), assigned_by=nurse)
    oximeter = DeviceAssignmentFactory(patient=maria, started_at=now - dt.timedelta(hours=8), assigned_by=nurse,
                                       device=DeviceFactory(kind="pulse_oximeter", center=maria.center))
    end = now - dt.timedelta(minutes=2)
    # Six hours every 2 minutes: calm, then the last hour warmer (the patch leads the typed readings).
    add_readings(patch, 1, [36.8 + (i % 5) / 20 + (0.012 * (i - 150) if i > 150 else 0) for i in range(180)], end=end)
    add_readings(oximeter, 2, [78 + i % 7 + (0.2 * (i - 150) if i > 150 else 0) for i in range(180)], end=end)
    add_readings(oximeter, 3, [96 + i % 3 for i in range(180)], end=end)

    robert = PatientFactory(care_team=team, first_name="Robert", last_name="Chen",
                            user=UserFactory(username="robert", role=Role.PATIENT, first_name="Robert"))
    CourseFactory(patient=robert)
    quiet = DeviceAssignmentFactory(patient=robert, started_at=now - dt.timedelta(hours=5), assigned_by=nurse)
    add_readings(quiet, 1, [36.9] * 60, end=now - dt.timedelta(minutes=42))
    open_silence_alert(robert, opened_at=now - dt.timedelta(minutes=12))
    return {"maria": maria, "robert": robert, "nurse": nurse}


def keep(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    shutil.copy(SHOTS / f"{name}.png", SCREENSHOTS / f"{name}.png")


def test_nurse_sees_device_temperature_with_its_age_and_the_silent_flag(live_server, ward, new_page):
    page = new_page(1366, 900)
    sign_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/staff/")
    maria_row = page.locator(f'tr[data-patient="{ward["maria"].uuid}"]')
    expect(maria_row.locator(".device-reading")).to_contain_text("°C · 2 min ago")
    expect(maria_row).not_to_contain_text("device silent")
    robert_row = page.locator(f'tr[data-patient="{ward["robert"].uuid}"]')
    expect(robert_row.locator(".pill.device-silent")).to_have_text("device silent")
    expect(robert_row.locator(".device-reading.stale")).to_contain_text("36.9 °C · 42 min ago")  # greyed
    keep(page, "device_dashboard")

    page.goto(f"{live_server.url}/staff/patients/{ward['maria'].uuid}/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-temperature'))")
    labels = page.evaluate("""() => ['chart-temperature', 'chart-heart_rate', 'chart-spo2'].map(id =>
        Chart.getChart(document.getElementById(id)).data.datasets.map(d => [d.label, d.data.length, d.showLine]))""")
    temperature, heart_rate, spo2 = labels
    assert temperature[0] == ["Temperature °C (device)", 180, None]  # a line
    assert temperature[1] == ["Temperature °C (check-in)", 1, False]  # a point
    assert heart_rate[0][1] == 180 and spo2[0][1] == 180
    page.locator("#chart-temperature").scroll_into_view_if_needed()
    keep(page, "device_charts")


def test_patient_phone_shows_the_patch_connected_or_gone_quiet(live_server, ward, new_page):
    phone = new_page(360, 740)
    sign_in(phone, live_server.url, "maria")
    phone.goto(f"{live_server.url}/patients/{ward['maria'].uuid}/")
    line = phone.locator(".device-status.connected")
    expect(line).to_contain_text("Your temperature patch is connected — last reading 2 minutes ago")
    keep(phone, "device_patient_connected_360")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    other = new_page(360, 740)
    sign_in(other, live_server.url, "robert")
    other.goto(f"{live_server.url}/patients/{ward['robert'].uuid}/")
    quiet = other.locator(".device-status.quiet")
    expect(quiet).to_contain_text("Your patch has not sent a reading since")
    expect(quiet).to_contain_text("Check it is on your skin and your phone is nearby.")
    keep(other, "device_patient_quiet_360")
    assert other.evaluate("document.documentElement.scrollWidth") <= 360


def test_patient_phone_shows_what_to_do_after_a_patch_fever_until_the_team_has_seen_it(live_server, ward, new_page):
    """A fever the patch found (§10: >= 38.0 °C sustained 10 minutes) while no check-in told the patient: her home page
    says what to do at the top, in words and tap-to-call, as after a check-in (Lucia, after CAR T)."""
    from monitoring.services.stream_grading import readings_grade

    now = timezone.now()
    maria = PatientFactory(care_team=ward["maria"].care_team, first_name="Lucia", last_name="Perez",
                           user=UserFactory(username="lucia", role=Role.PATIENT, first_name="Lucia"))
    CourseFactory(patient=maria)
    patch = DeviceAssignmentFactory(patient=maria, started_at=now - dt.timedelta(hours=2), assigned_by=ward["nurse"])
    add_readings(patch, 1, [36.9] * 20 + [38.3, 38.4, 38.6, 38.5, 38.7, 38.6, 38.8], end=now - dt.timedelta(minutes=1))
    graded = readings_grade(patient_id=maria.pk, since=now - dt.timedelta(minutes=60))
    assert graded.alert_ids
    phone = new_page(360, 740)
    sign_in(phone, live_server.url, "lucia")
    phone.goto(f"{live_server.url}/patients/{maria.uuid}/")
    card = phone.locator(".device-alert")
    expect(card).to_be_visible()
    expect(card.locator("h1")).not_to_be_empty()
    expect(card).to_contain_text("From your monitoring device's readings")
    expect(card.locator("a.call")).to_have_count(1)  # urgent: the center's 24/7 number (911 is for emergencies)
    keep(phone, "device_patient_fever_card_360")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
