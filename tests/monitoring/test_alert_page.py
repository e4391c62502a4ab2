"""The alert page (/staff/alerts/<uuid>/) and the patient page as a nurse reads them: plain words with
the rule ids behind "Why", every time on the center's clock with its zone, tap-to-call numbers of the patient
and caregivers, a call log that becomes part of the alert's history (page and API), and the staff member's own
language. Through the full stack with the test client."""

import datetime as dt
import html as html_lib
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from monitoring.models import Alert, AlertEvent
from monitoring.services.alerts import alert_acknowledge
from monitoring.services.intake import checkin_submit
from tests.factories import UserFactory
from tests.monitoring.support import signed_in, text_of
from tracker.models import AuditEvent, Role
from tracker.questions import YES_NO_QUESTIONS, required_fields
from tracker.selectors import patient_question_groups

# Wednesday 12 Feb 2025, 17:00 UTC: 12:00 EST in New York (the center's zone), 11:00 in Chicago.
NOW = dt.datetime(2025, 2, 12, 17, 0, tzinfo=dt.UTC)
JULY = dt.datetime(2025, 7, 9, 17, 0, tzinfo=dt.UTC)  # 13:00 EDT


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def without_details(html: str) -> str:
    """What the page shows before anything is opened: <details> bodies (the "Why" disclosure) left out."""
    return re.sub(r"<details[^>]*>.*?</details>", "", html, flags=re.S)


def fever_checkin(patient, at, **extra):
    question_groups = patient_question_groups(patient)
    values = {q.field: False for q in YES_NO_QUESTIONS if q.required and q.applies_to in question_groups}
    values.update({name: "alert" for name in required_fields(question_groups) if name == "consciousness"})
    values.update(temperature_c=Decimal("38.4"), temperature_entered=Decimal("38.4"), temperature_unit="C", **extra)
    with time_machine.travel(at, tick=False):
        return checkin_submit(patient=patient, entered_by=patient.user, channel="api", values=values,
                              recorded_at=at).checkin


@pytest.fixture
def people(patient, nurse, caregiver):
    patient.phone = "(555) 010-0142"
    patient.save()
    caregiver.first_name, caregiver.last_name, caregiver.phone = "David", "Lopez", "+1 555 010 0143"
    caregiver.save()
    link = caregiver.caregiver_links.get()
    link.relationship = "husband"
    link.save()
    nurse.first_name, nurse.last_name = "Ana", "Ruiz"
    nurse.save()
    return {"patient": patient, "nurse": nurse, "caregiver": caregiver}


@pytest.fixture
def fever(people, patient):
    """clinical-rules §1: any fever after CAR T is urgent (signs of at least grade 1 CRS). Checked in at
    11:58 EST, graded at once (the alert opened then)."""
    checkin = fever_checkin(patient, NOW - dt.timedelta(minutes=2))
    return checkin.assessment.alerts.get()


def alert_url(alert, action=""):
    return f"/staff/alerts/{alert.uuid}/" + (f"{action}/" if action else "")


def get(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


# --- 7. Plain words, with the rules behind "Why" ------------------------------------------------------------------

def test_alert_page_says_what_happened_in_plain_words_and_keeps_rule_ids_behind_why(fever, nurse):
    html = get(signed_in(nurse), alert_url(fever))
    shown = text_of(without_details(html))
    assert "Fever ≥ 38 °C after CAR T — signs of at least grade 1 CRS" in text_of(html.split("</h1>", 1)[0])
    for jargon in ("crs.fever", "[crs", "— →", "open →", "T1", "+00:00", "2025-02-12T"):
        assert jargon not in shown, jargon
    why = re.search(r'<details class="why">(.*?)</details>', html, re.S)
    assert why and "crs.fever" in why.group(1) and "clinical-rules §1 ASTCT CRS" in why.group(1)


def test_history_reads_as_sentences_on_the_centers_clock(fever, nurse):
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        alert_acknowledge(alert=fever, user=nurse, note="Calling her now")
    history = text_of(get(signed_in(nurse), alert_url(fever)).split('id="history"', 1)[1].split("</section>", 1)[0])
    assert "Opened by the rules at 11:58 EST" in history
    assert "Acknowledged by Ana Ruiz at 12:05 EST Calling her now" in history


def test_folded_in_rules_are_not_shown_as_tags(people, patient, nurse):
    """clinical-rules §1: fever with dizziness is an emergency; the fever-alone finding is folded into it."""
    alert = fever_checkin(patient, NOW - dt.timedelta(minutes=1), dizzy_or_fainting=True).assessment.alerts.get()
    assert "[crs.fever, urgent]" in alert.rationale  # what the rules engine stores
    html = get(signed_in(nurse), alert_url(alert))
    assert "[crs.fever" not in html
    assert "Fever ≥ 38 °C with dizziness or fainting after CAR T — signs of at least grade 2 CRS" in text_of(html)
    why = re.search(r'<details class="why">(.*?)</details>', html, re.S).group(1)
    assert "crs.fever," in why and "crs.fever_with_dizziness" in why


# --- 2. Times on the center's clock, with the zone ---------------------------------------------------------------

def test_every_time_on_the_alert_page_is_new_york_time_with_its_abbreviation(fever, nurse):
    text = text_of(get(signed_in(nurse), alert_url(fever)))
    assert "opened 12 Feb 11:58 EST" in text
    assert "Escalates at 12:13 EST if nobody acknowledges it." in text  # urgent: 15 minutes (policy)
    assert "12 Feb 11:58 EST urgent Temperature 38.4 °C" in text  # the check-in behind it
    assert "UTC" not in text and "17:00" not in text


def test_summer_times_say_edt(people, patient, nurse):
    with time_machine.travel(JULY, tick=False):
        alert = fever_checkin(patient, JULY).assessment.alerts.get()
        text = text_of(get(signed_in(nurse), alert_url(alert)))
    assert "opened 9 Jul 13:00 EDT" in text


def test_dashboard_and_timeline_times_name_the_zone(fever, nurse, patient):
    client = signed_in(nurse)
    rows = text_of(get(client, "/staff/"))
    assert "Updated 12:00:00 EST." in rows
    assert "opened 12 Feb 11:58 EST" in rows
    timeline = get(client, f"/staff/patients/{patient.uuid}/").split('class="timeline"', 1)[1]
    assert re.search(r"<time datetime=\"[^\"]+\">12 Feb 11:58 EST</time>", timeline)


# --- 3. Tap to call ---------------------------------------------------------------------------------------------

def test_alert_page_patient_page_and_dashboard_row_have_tap_to_call_numbers(fever, nurse, patient):
    client = signed_in(nurse)
    for url in (alert_url(fever), f"/staff/patients/{patient.uuid}/"):
        html = get(client, url)
        assert 'href="tel:5550100142"' in html, url  # the patient
        assert 'href="tel:+15550100143"' in html, url  # her husband
        text = text_of(html)
        assert "Patient Maria Lopez Call (555) 010-0142" in text, url
        assert "Caregiver (husband) David Lopez Call +1 555 010 0143" in text, url
    row = get(client, "/staff/").split(f'data-patient="{patient.uuid}"', 1)[1].split("</tr>", 1)[0]
    assert 'href="tel:5550100142"' in row and 'href="tel:+15550100143"' in row
    assert "Patient (555) 010-0142 David (husband) +1 555 010 0143" in text_of(row)


def test_a_patient_without_a_number_says_so(fever, nurse, patient):
    patient.phone = ""
    patient.save()
    text = text_of(get(signed_in(nurse), alert_url(fever)))
    assert "Patient Maria Lopez no phone number on file" in text


# --- 4. The call log --------------------------------------------------------------------------------------------

def test_a_logged_call_is_part_of_the_alerts_history_and_audited(fever, nurse):
    client = signed_in(nurse)
    with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
        response = client.post(alert_url(fever, "call"), {"called": "patient", "outcome": "advised_911",
                                                          "note": "Husband driving her to the ED"})
    assert response.status_code == 302 and response["Location"] == alert_url(fever) + "#calls"
    event = fever.events.get(kind=AlertEvent.Kind.CALL)
    assert (event.actor, event.call_with, event.call_outcome) == (nurse, "patient", "advised_911")
    assert event.note == "Husband driving her to the ED"
    fever.refresh_from_db()
    assert fever.status == "open" and fever.next_escalation_at is not None  # a call is not an acknowledgement
    html = get(client, alert_url(fever))
    history = text_of(html.split('id="history"', 1)[1].split("</section>", 1)[0])
    assert ("Ana Ruiz called the patient at 12:03 EST: advised to call 911 or go to the emergency department "
            "Husband driving her to the ED") in history
    assert AuditEvent.objects.filter(action="call", patient=fever.patient, username=nurse.username).exists()
    timeline = text_of(get(client, f"/staff/patients/{fever.patient.uuid}/"))
    assert "Ana Ruiz called the patient: advised to call 911 or go to the emergency department" in timeline


def test_a_call_without_an_outcome_is_refused_with_the_form_kept(fever, nurse):
    response = signed_in(nurse).post(alert_url(fever, "call"), {"called": "caregiver", "note": "rang twice"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The call was not recorded" in html
    assert 'value="caregiver" required checked' in html and "rang twice" in html
    assert not fever.events.filter(kind=AlertEvent.Kind.CALL).exists()


def test_another_teams_nurse_cannot_log_a_call(fever, other_nurse):
    response = signed_in(other_nurse).post(alert_url(fever, "call"), {"called": "patient", "outcome": "no_answer"})
    assert response.status_code == 404
    assert not fever.events.filter(kind=AlertEvent.Kind.CALL).exists()


def test_calls_api_logs_a_call_and_lists_it_with_the_events(fever, nurse, as_user, other_nurse, patient):
    url = f"/api/v1/alerts/{fever.uuid}/calls/"
    response = as_user(nurse).post(url, {"called": "caregiver", "outcome": "no_answer"}, format="json",
                                   HTTP_IDEMPOTENCY_KEY="call-1")
    assert response.status_code == 201, response.content
    call = response.json()["events"][-1]
    assert call["kind"] == "call" and call["call_with"] == "caregiver" and call["call_outcome"] == "no_answer"
    assert call["actor"] == "Ana Ruiz"
    again = as_user(nurse).post(url, {"called": "caregiver", "outcome": "no_answer"}, format="json",
                                HTTP_IDEMPOTENCY_KEY="call-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert fever.events.filter(kind="call").count() == 1
    bad = as_user(nurse).post(url, {"called": "neighbour", "outcome": "no_answer"}, format="json")
    assert bad.status_code == 400 and "called" in bad.json()["fields"]
    assert as_user(other_nurse).post(url, {"called": "patient", "outcome": "no_answer"}, format="json").status_code == 404
    assert as_user(patient.user).post(url, {"called": "patient", "outcome": "no_answer"}, format="json").status_code == 403


# --- 8. The staff member's language -----------------------------------------------------------------------------

def test_a_spanish_speaking_nurse_reads_the_staff_pages_in_spanish(fever, team_a, patient):
    enfermera = UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="es")
    client = signed_in(enfermera)
    with translation.override("es"):
        expected = [translation.gettext(s) for s in ("Patients by risk", "Open alerts, newest first", "Acknowledge")]
        call = translation.gettext("Log a call")
        headline = translation.gettext("Fever ≥ 38 °C after CAR T")
    assert expected[0] != "Patients by risk", "the Spanish catalogue is missing"
    dashboard = get(client, "/staff/")
    assert '<html lang="es">' in dashboard
    for text in expected:
        assert text in html_lib.unescape(dashboard), text
    page = html_lib.unescape(get(client, alert_url(fever)))
    assert call in page and headline in page
    # The footer's language switch (the cookie) wins over her preference, as on the patient pages.
    english = Client()
    english.force_login(enfermera)
    english.cookies["django_language"] = "en"
    assert "Patients by risk" in get(english, "/staff/")


def why_it_fired(html: str) -> str:
    """The "Why it fired" text and the check-ins behind the alert, as the reader sees them."""
    rationale = re.search(r'<p class="rationale">(.*?)</p>', html, re.S).group(1)
    evidence = re.search(r'<ul class="evidence">(.*?)</ul>', html, re.S).group(1)
    return text_of(rationale) + " | " + text_of(evidence)


def test_a_spanish_speaking_nurse_reads_why_a_fever_alert_fired_in_spanish(fever, team_a, nurse):
    """clinical-rules §1: a fever after CAR T. The rules' reason, with its values, in the reader's language: Spanish
    for a nurse who speaks Spanish, English for one who speaks English, from the same stored alert."""
    enfermera = UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="es")
    spanish = why_it_fired(get(signed_in(enfermera), alert_url(fever)))
    english = why_it_fired(get(signed_in(nurse), alert_url(fever)))
    assert "Temperatura 38.4 °C ≥ 38.0 °C el día" in spanish and "después de la infusión" in spanish
    assert "Temperature" not in spanish and "after infusion" not in spanish
    assert "Temperature 38.4 °C ≥ 38.0 °C on day" in english and "after infusion" in english
    assert "Temperatura" not in english
    inbox = text_of(re.search(r'<p class="rationale">(.*?)</p>', get(signed_in(enfermera), "/staff/alerts/"),
                              re.S).group(1))
    assert inbox.startswith("Temperatura 38.4 °C ≥ 38.0 °C el día")


def test_the_check_in_page_gives_staff_the_rules_findings_in_the_page_language(fever, team_a, patient):
    enfermera = UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="es")
    client = signed_in(enfermera)
    client.cookies["django_language"] = "es"  # the footer's language switch
    url = reverse("checkin-detail", args=[patient.uuid, fever.first_checkin.uuid])
    found = text_of(re.search(r"<h2>[^<]*</h2><ul>(.*?)</ul>", get(client, url), re.S).group(1))
    assert "Temperatura 38.4 °C ≥ 38.0 °C el día" in found and "after infusion" not in found


def test_an_alert_stored_before_the_rationale_keys_shows_its_stored_text_and_keeps_it_as_history(
        fever, team_a, patient):
    """Alerts stored with English text only: the text is shown (without the rules' tags); a new finding adds its
    reason in the reader's language above it, and the old text stays as what came before."""
    old = "Temperature 38.1 °C ≥ 38.0 °C on day 2 after infusion [crs.fever, urgent]"
    Alert.objects.filter(pk=fever.pk).update(rationale=old, rationale_messages=[],
                                             evidence=[{k: v for k, v in entry.items() if k != "rationale_messages"}
                                                       for entry in fever.evidence])
    enfermera = UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="es")
    client = signed_in(enfermera)
    assert "Temperature 38.1 °C ≥ 38.0 °C on day 2 after infusion" in why_it_fired(get(client, alert_url(fever)))
    assert "[crs.fever" not in why_it_fired(get(client, alert_url(fever)))
    fever_checkin(patient, NOW - dt.timedelta(minutes=1), dizzy_or_fainting=True)
    shown = why_it_fired(get(client, alert_url(fever)))
    assert shown.startswith("Temperatura 38.4 °C ≥ 38.0 °C con mareo o desmayo")
    assert "Antes: Temperature 38.1 °C ≥ 38.0 °C on day 2 after infusion |" in shown and "[crs" not in shown


def test_every_staff_template_string_has_a_spanish_translation(fever, team_a, patient, caregiver):
    """The staff pages rendered in Spanish keep no English sentence of ours (names and rule text aside)."""
    enfermera = UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="es")
    client = signed_in(enfermera)
    client.post(alert_url(fever, "call"), {"called": "patient", "outcome": "no_answer"})
    for url in ("/staff/", "/staff/alerts/", alert_url(fever), f"/staff/patients/{patient.uuid}/", "/inbox/"):
        text = text_of(without_details(get(client, url)).split("<main", 1)[1])
        for english in ("Open alerts", "Acknowledge", "Call ", "History", "Who was notified", "opened ", "Timeline",
                        "No readings yet", "Resolve", "Inbox", "called the patient", "Trends"):
            assert not re.search(rf"\b{re.escape(english.strip())}\b", text), (url, english)


# --- 6. Charts: a time axis on the center's clock, and no empty chart ---------------------------------------------

def test_a_vital_without_readings_gets_no_chart_but_says_so(fever, nurse, patient):
    """The check-ins had a temperature only: no SpO2, blood pressure or ICE chart with 0-1 axes."""
    import json

    html = get(signed_in(nurse), f"/staff/patients/{patient.uuid}/")
    assert 'id="chart-temperature"' in html
    for vital in ("spo2", "bp", "ice", "heart_rate"):
        assert f'id="chart-{vital}"' not in html, vital
    empty = dict(re.findall(r'<li data-vital="(\w+)">(.*?)</li>', html))
    assert set(empty) == {"spo2", "bp", "ice", "heart_rate"}
    assert all("No readings yet" in text for text in empty.values())
    data = json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert data["zone"] == "America/New_York"
    assert data["fever_c"] == 38.0  # clinical-rules §1
    assert data["spo2_min"] == 92 and data["systolic_min"] == 90  # clinical-rules §1, policy defaults


def test_staff_pages_resolve_every_template_variable(fever, nurse, patient, caplog):
    """An unresolved template variable is logged by django.template at DEBUG with the page's data (PHI): every
    name the staff pages and the inbox read must be set, including after a refused form."""
    import logging

    from notifications.models import Notification

    Notification.objects.create(dedup_key="resolve-check", kind="alert", channel="inapp", recipient=nurse,
                                urgency="urgent", status="sent", sent_at=NOW, context={"link": alert_url(fever)})
    client = signed_in(nurse)
    with caplog.at_level(logging.DEBUG, logger="django.template"):
        for url in ("/staff/", "/staff/alerts/", alert_url(fever), f"/staff/patients/{patient.uuid}/", "/inbox/"):
            get(client, url)
        client.get("/staff/", headers={"HX-Request": "true"})
        client.post(alert_url(fever, "call"), {"called": "patient"})  # refused: no outcome
        client.post(alert_url(fever, "resolve"), {"note": " "})  # refused: no note
    unresolved = [r.getMessage() for r in caplog.records if "Exception while resolving variable" in r.getMessage()]
    assert unresolved == []
