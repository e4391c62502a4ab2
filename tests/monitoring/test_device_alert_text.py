"""Alerts that only devices raise (clinical-rules §10), as staff read them: `low_oxygen` (a worn pulse oximeter) and
`device_silence` (a streaming device that stopped sending) have plain-words headlines in the reader's language
on every staff page that lists alerts, and the "why it fired" of a device alert gives the readings' times on the
center's clock with its zone ("14:05 EST"), in the reader's language, while the stored evidence keeps ISO times.
Through the full stack with the test client."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Alert, AlertStatus
from monitoring.services.stream_grading import readings_grade
from notifications.services.device_silence import device_silence_scan
from tests.factories import CourseFactory, PatientFactory, UserFactory
from tests.monitoring.stream_support import store, wear
from tests.monitoring.support import signed_in, text_of
from tracker.models import ReadingType, Role, Therapy
from tracker.models.devices import DeviceKind

# Wednesday 12 Feb 2025 in New York (the center's zone, EST): the readings from 19:05 UTC, 14:05 EST.
FIRST = dt.datetime(2025, 2, 12, 19, 5, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 2, 12, 19, 15, tzinfo=dt.UTC)
LOW_OXYGEN = {"en": "Low oxygen on a pulse oximeter: below 90 %",
              "es": "Oxígeno bajo en el oxímetro de pulso: por debajo del 90 %"}
SILENCE = {"en": "A monitoring device stopped sending readings", "es": "Un dispositivo de control dejó de enviar lecturas"}
SILENCE_URGENT = {"en": "A monitoring device has sent no readings for a long time",
                  "es": "Un dispositivo de control lleva mucho tiempo sin enviar lecturas"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def get(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def headline(html: str) -> str:
    return text_of(re.search(r"<h1>(.*?)</h1>", html, re.S).group(1))


def why_it_fired(html: str) -> str:
    """The "Why it fired" text and the evidence behind the alert, as the reader sees them."""
    rationale = re.search(r'<p class="rationale">(.*?)</p>', html, re.S).group(1)
    evidence = re.search(r'<ul class="evidence">(.*?)</ul>', html, re.S).group(1)
    return text_of(rationale) + " | " + text_of(evidence)


@pytest.fixture
def readers(team_a):
    return {"en": UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="en"),
            "es": UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="es")}


@pytest.fixture
def on_lenalidomide(team_a):
    """A patient whose check-in rules do not grade a low SpO2 alone: a sustained one is `low_oxygen` (§10)."""
    patient = PatientFactory(care_team=team_a, first_name="Rosa", last_name="Diaz", preferred_language="es")
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code="lenalidomide"))
    return patient


@pytest.fixture
def low_oxygen(on_lenalidomide):
    """§10: SpO2 < 90 % sustained 5 minutes is an emergency. SpO2 88 % every minute from 14:05 to 14:12 EST."""
    oximeter = wear(on_lenalidomide, kind=DeviceKind.PULSE_OXIMETER, started_at=FIRST - dt.timedelta(hours=1),
                    interval=60)
    since = store(oximeter, [88] * 8, start=FIRST, every=60, type=ReadingType.SPO2)
    readings_grade(patient_id=on_lenalidomide.pk, since=since)
    return Alert.objects.get(patient=on_lenalidomide, condition="low_oxygen")


def silent_patch(patient):
    """A patch after CAR T (the stay-near-the-center window, §3) whose last reading was at 14:05 EST."""
    patch = wear(patient, started_at=FIRST - dt.timedelta(hours=1))
    store(patch, [37.0] * 3, start=FIRST - dt.timedelta(minutes=4))
    return patch


def scan_at(moment):
    with time_machine.travel(moment, tick=False):
        return device_silence_scan()


def silence_alert(patient):
    return Alert.objects.filter(patient=patient, condition="device_silence").exclude(
        status=AlertStatus.RESOLVED).get()


def alert_url(alert):
    return f"/staff/alerts/{alert.uuid}/"


def staff_pages_headlines(client, alert) -> dict[str, str]:
    """The alert's headline where staff read it: its page, the dashboard row, the alert list, the patient page."""
    link = rf'<a href="/staff/alerts/{alert.uuid}/">(.*?)</a>'
    found = {"alert page": headline(get(client, alert_url(alert)))}
    for name, url in (("dashboard", "/staff/"), ("alert list", "/staff/alerts/"),
                      ("patient page", f"/staff/patients/{alert.patient.uuid}/")):
        shown = [text_of(m) for m in re.findall(link, get(client, url), re.S)]
        assert shown, (name, url)
        found[name] = shown[0]
    return found


# --- Headlines in the reader's language -------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "es"])
def test_a_low_oxygen_alert_from_an_oximeter_has_its_headline_in_the_readers_language(low_oxygen, readers, language):
    assert (low_oxygen.urgency, low_oxygen.rule_ids) == (4, ["stream.spo2_below_90"])  # §10: emergency
    for page, shown in staff_pages_headlines(signed_in(readers[language]), low_oxygen).items():
        assert LOW_OXYGEN[language] in shown, (page, shown)


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_device_silence_alert_has_its_headline_in_the_readers_language_same_day_then_urgent(
        patient, readers, language):
    silent_patch(patient)
    for after, stage, words in ((dt.timedelta(minutes=30), 2, SILENCE),  # §10: 30 min → same-day
                                (dt.timedelta(hours=2), 3, SILENCE_URGENT)):  # 2 h → urgent (policy)
        assert scan_at(FIRST + after)["raised"] == 1
        alert = silence_alert(patient)
        assert alert.urgency == stage
        with time_machine.travel(FIRST + after, tick=False):
            for page, shown in staff_pages_headlines(signed_in(readers[language]), alert).items():
                assert words[language] in shown, (page, shown)


def test_the_spanish_page_keeps_no_english_headline_of_a_device_alert(low_oxygen, patient, readers):
    silent_patch(patient)
    scan_at(FIRST + dt.timedelta(minutes=30))
    with time_machine.travel(FIRST + dt.timedelta(minutes=30), tick=False):
        dashboard = text_of(get(signed_in(readers["es"]), "/staff/"))
    assert LOW_OXYGEN["es"] in dashboard and SILENCE["es"] in dashboard
    for english in ("pulse oximeter", "monitoring device", "stopped sending"):
        assert english not in dashboard, english


# --- Why it fired: the readings' times on the center's clock ---------------------------------------------------

def test_why_a_low_oxygen_alert_fired_gives_the_readings_times_on_the_centers_clock(low_oxygen, readers):
    english = why_it_fired(get(signed_in(readers["en"]), alert_url(low_oxygen)))
    assert "Device readings from 12 Feb 14:05 EST to 12 Feb 14:12 EST (8 readings, coverage 100 %)" in english
    assert "SpO2 88 % < 90 %, sustained 5 min" in english
    assert "UTC" not in english and "19:05" not in english
    spanish = why_it_fired(get(signed_in(readers["es"]), alert_url(low_oxygen)))
    assert re.search(r"Lecturas del dispositivo del 12 \w+ 14:05 EST al 12 \w+ 14:12 EST \(8 lecturas", spanish), spanish
    assert "mantenida 5 min" in spanish
    assert "UTC" not in spanish and "Device readings" not in spanish


def test_the_alert_list_gives_the_readings_times_on_the_readers_center_clock(low_oxygen, readers):
    html = get(signed_in(readers["es"]), "/staff/alerts/")
    rationale = text_of(re.search(r'<p class="rationale">(.*?)</p>', html, re.S).group(1))
    assert "14:05 EST" in rationale and "14:12 EST" in rationale and "UTC" not in rationale


def test_why_a_silence_alert_fired_says_since_when_on_the_centers_clock(patient, readers):
    silent_patch(patient)
    scan_at(FIRST + dt.timedelta(minutes=30))
    alert = silence_alert(patient)
    with time_machine.travel(FIRST + dt.timedelta(minutes=30), tick=False):
        english = why_it_fired(get(signed_in(readers["en"]), alert_url(alert)))
        spanish = why_it_fired(get(signed_in(readers["es"]), alert_url(alert)))
    assert re.search(r"No reading from Acme Patch #SN\d+ since 12 Feb 14:05 EST \(30 min; center limit 30 min\)",
                     english), english
    assert re.search(r"Ninguna lectura de Acme Patch #SN\d+ desde el 12 \w+ 14:05 EST \(30 min; límite del centro",
                     spanish), spanish
    assert "UTC" not in english + spanish


def test_a_center_on_another_clock_reads_the_same_readings_on_its_own(low_oxygen, readers):
    """The times follow the patient's center's zone: 13:05 CST in Chicago, from the same stored alert."""
    center = low_oxygen.patient.center
    center.time_zone = "America/Chicago"
    center.save()
    english = why_it_fired(get(signed_in(readers["en"]), alert_url(low_oxygen)))
    assert "Device readings from 12 Feb 13:05 CST to 12 Feb 13:12 CST" in english


def test_the_stored_alert_keeps_machine_readable_times_and_the_english_record(low_oxygen):
    """Evidence and the rationale's keys keep ISO times; the English record (`Alert.rationale`) stays in UTC."""
    (entry,) = low_oxygen.evidence
    assert entry["device"]["first_measured_at"] == FIRST.isoformat()
    assert entry["device"]["last_measured_at"] == (FIRST + dt.timedelta(minutes=7)).isoformat()
    (latest,) = low_oxygen.rationale_messages
    why = latest[0]
    assert why[0].startswith("Device readings from {first} to {last}")
    assert why[1]["first"] == ["{time}", {"time": FIRST.isoformat()}]
    assert low_oxygen.rationale.startswith("Device readings from 2025-02-12 19:05 UTC to 2025-02-12 19:12 UTC")


# --- The patient's card ---------------------------------------------------------------------------------------

def device_card(html: str) -> str | None:
    found = re.search(r'<section class="[^"]*device-alert[^"]*".*?</section>', html, re.S)
    return text_of(found.group(0)) if found else None


def test_the_patient_reads_what_to_do_after_a_device_emergency_in_their_language(low_oxygen, on_lenalidomide):
    """No check-in answer told the patient: their home page does, at the top, until the team acknowledges it."""
    html = get(signed_in(on_lenalidomide.user), f"/patients/{on_lenalidomide.uuid}/")
    card = device_card(html)
    assert card is not None and html.index("device-alert") < html.index('class="greeting"')
    assert card.startswith("Llame al 911 ahora: es una emergencia Llamar al 911")  # §10 < 90 %: emergency
    assert "Su monitor de oxígeno ha mostrado un nivel de oxígeno bajo durante varios minutos." in card
    assert card.endswith("Según las lecturas de su dispositivo de control, mié 12 Feb, 14:15 EST. Su equipo de "
                         "atención ya recibió el aviso; esto se queda aquí hasta que lo haya visto.")
    assert 'href="tel:911"' in html
    low_oxygen.status, low_oxygen.acknowledged_at = AlertStatus.ACKNOWLEDGED, NOW
    low_oxygen.save()
    assert device_card(get(signed_in(on_lenalidomide.user), f"/patients/{on_lenalidomide.uuid}/")) is None


def test_a_silence_alert_has_no_what_to_do_card_its_device_status_says_it(patient):
    silent_patch(patient)
    assert scan_at(FIRST + dt.timedelta(minutes=30))["raised"] == 1
    with time_machine.travel(FIRST + dt.timedelta(minutes=30), tick=False):
        assert device_card(get(signed_in(patient.user), f"/patients/{patient.uuid}/")) is None


def test_the_device_card_costs_no_query_more_than_the_home_page_without_it(low_oxygen, on_lenalidomide):
    client = signed_in(on_lenalidomide.user)
    url = f"/patients/{on_lenalidomide.uuid}/"
    get(client, url)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            get(client, url)
        return len(captured)

    with_card = queries()
    Alert.objects.filter(pk=low_oxygen.pk).update(status=AlertStatus.ACKNOWLEDGED, acknowledged_at=NOW)
    assert queries() == with_card
