"""The patient's home page with a worn device (clinical-rules §10): "connected — last reading 2 minutes ago", or,
when quiet longer than three expected intervals or while the silence alert is open, a calm warning with the time
of the last reading on the patient's clock and what to check. English and Spanish, patient and caregiver. And the
latest device temperature on the staff alert page's facts line."""

import datetime as dt
import html as html_lib
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DeviceAssignmentFactory, DeviceFactory, add_readings, open_silence_alert
from tests.monitoring.support import signed_in

# Tuesday 10 Feb 2026, 15:44 UTC: 10:44 in New York (the patient's zone).
NOW = dt.datetime(2026, 2, 10, 15, 44, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def home(client, patient) -> str:
    response = client.get(f"/patients/{patient.uuid}/")
    assert response.status_code == 200
    return response.content.decode()


def device_text(html: str) -> str:
    found = re.search(r'<(p|section) class="device-status[^"]*"[^>]*>(.*?)</\1>', html, re.S)
    assert found, "no device status"
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(2)))).strip()


def test_a_sending_patch_is_connected_with_the_age_of_its_last_reading_and_the_temperature(patient):
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [36.8, 36.9], end=NOW - dt.timedelta(minutes=2))
    html = home(signed_in(patient.user), patient)
    assert 'class="device-status connected"' in html
    text = device_text(html)
    assert text == "Your temperature patch is connected — last reading 2 minutes ago: 98.4 °F (36.9 °C)."  # her unit first


def test_a_patch_quiet_longer_than_three_intervals_asks_to_check_it_with_the_local_time(patient):
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [36.8], end=NOW - dt.timedelta(minutes=2, seconds=1) * 3)  # 10:37:57 New York
    text = device_text(home(signed_in(patient.user), patient))
    assert text == ("Your patch has not sent a reading since 10:37. Check it is on your skin and your phone is "
                    "nearby. You can still check in and type the temperature.")


def test_within_three_intervals_it_is_still_connected(patient):
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [36.8], end=NOW - dt.timedelta(minutes=5))
    assert "connected" in device_text(home(signed_in(patient.user), patient))


def test_an_open_silence_alert_shows_the_warning_and_that_the_care_team_knows(patient):
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [36.8], end=NOW - dt.timedelta(minutes=1))
    open_silence_alert(patient)
    text = device_text(home(signed_in(patient.user), patient))
    assert "since 10:43" in text and "Your care team has been told." in text


def test_a_reading_of_another_day_shows_the_day_too(patient):
    patch = DeviceAssignmentFactory(patient=patient, started_at=NOW - dt.timedelta(days=3))
    add_readings(patch, 1, [36.8], end=NOW - dt.timedelta(days=1, hours=1))
    assert "since Mon 9 Feb, 09:44." in device_text(home(signed_in(patient.user), patient))


def test_a_patch_that_never_sent_says_so(patient):
    DeviceAssignmentFactory(patient=patient)
    assert device_text(home(signed_in(patient.user), patient)).startswith("The patch has not sent a reading yet.")


def test_a_pulse_oximeter_alone_is_named_and_asks_for_the_finger(patient):
    oximeter = DeviceAssignmentFactory(patient=patient, device=DeviceFactory(kind="pulse_oximeter",
                                                                             center=patient.center))
    add_readings(oximeter, 3, [97], end=NOW - dt.timedelta(minutes=30))
    text = device_text(home(signed_in(patient.user), patient))
    assert text.startswith("Your pulse oximeter has not sent a reading since 10:14. Check it is on your finger")


def test_no_device_no_line_and_a_returned_device_neither(patient):
    assert "device-status" not in home(signed_in(patient.user), patient)
    patch = DeviceAssignmentFactory(patient=patient, started_at=NOW - dt.timedelta(days=2))
    patch.ended_at = NOW - dt.timedelta(hours=1)
    patch.save()
    assert "device-status" not in home(signed_in(patient.user), patient)


def test_a_thermometer_used_by_hand_is_not_watched_for_silence(patient):
    thermometer = DeviceAssignmentFactory(patient=patient, device=DeviceFactory(kind="thermometer",
                                                                                center=patient.center))
    add_readings(thermometer, 1, [36.8], end=NOW - dt.timedelta(hours=5))
    assert "device-status" not in home(signed_in(patient.user), patient)


def test_the_caregiver_reads_it_about_the_patient(patient, caregiver):
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [36.8], end=NOW - dt.timedelta(minutes=20))
    text = device_text(home(signed_in(caregiver), patient))
    assert text.startswith("Maria's patch has not sent a reading since 10:24. Check the patch is on Maria's skin "
                           "and the phone is nearby.")


def test_in_spanish_in_the_patients_unit(patient):
    patient.preferred_language = "es"
    patient.temperature_unit = "F"
    patient.save()
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [37.0], end=NOW - dt.timedelta(minutes=1))
    client = signed_in(patient.user)
    assert device_text(home(client, patient)).startswith(
        "Su parche de temperatura está conectado: última lectura hace 1 minuto: 98,6 °F")
    with time_machine.travel(NOW + dt.timedelta(minutes=30), tick=False):
        assert device_text(home(client, patient)).startswith(
            "Su parche no ha enviado ninguna lectura desde las 10:43. Compruebe que lo tiene sobre la piel")


def test_the_device_line_costs_no_query_beyond_the_open_assignments_and_never_reads_the_readings(patient):
    client = signed_in(patient.user)
    home(client, patient)
    with CaptureQueriesContext(connection) as without:
        home(client, patient)
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [36.8] * 300)
    home(client, patient)
    with CaptureQueriesContext(connection) as worn:
        home(client, patient)
    assert len(worn) == len(without)  # the open assignments are read either way; the temperature is kept on them
    assert not [q for q in worn.captured_queries if "tracker_reading" in q["sql"]]


def test_the_alert_page_shows_the_latest_device_temperature_and_the_silent_flag(patient, nurse):
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [38.2], end=NOW - dt.timedelta(minutes=42))
    alert = open_silence_alert(patient)
    html = signed_in(nurse).get(f"/staff/alerts/{alert.uuid}/").content.decode()
    facts = re.search(r'<p class="facts-line">(.*?)</p>', html, re.S).group(1)
    text = re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", facts))).strip()
    assert text.endswith("device 38.2 °C · 42 min ago device silent")
    assert '<strong class="fever">38.2 °C</strong>' in facts  # clinical-rules §1
