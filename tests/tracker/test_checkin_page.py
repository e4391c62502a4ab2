"""The check-in page for the people of shared/journeys.md: the temperature in the unit the patient uses (with
either decimal mark), errors that name their question and say how to fix them, a caregiver addressed as the
caregiver, the ICE screen as yes/no items scored by the server, the "I feel the same as usual" check-in, the
form's numbered parts, and a result page that leads with what to do and shows everything that was recorded."""

import html as html_lib
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import PatientFactory
from tracker.models import CheckIn, Patient
from tracker.questions import ICE_ITEMS, YES_NO_QUESTIONS

PHONE_HREF = "tel:5550100199"  # tests.factories.CenterFactory.phone_24_7, "(555) 010-0199"


def signed_in(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies["django_language"] = language  # the footer's switch
    return client


def url(patient) -> str:
    return f"/patients/{patient.uuid}/checkin/"


def text_of(response) -> str:
    return html_lib.unescape(response.content.decode())


def asked_fields(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="asked" value="(\w+)">', html)


def post_form(client, patient, *, ticked=(), **values):
    form = client.get(url(patient)).content.decode()
    return client.post(url(patient), {"asked": asked_fields(form), "yes": list(ticked), **values})


def error_of(body: str, name: str) -> str:
    match = re.search(rf'<p class="error" id="{name}-err">([^<]*)</p>', body)
    assert match, f"no error shown for {name}"
    return match.group(1)


# --- Temperature: the patient's unit, either decimal mark, errors that say how to switch ---------------------

def test_a_decimal_comma_is_accepted_on_the_page(patient):
    """The Spanish pages show 38,6: a patient typing 37,2 means 37.2."""
    response = post_form(signed_in(patient.user), patient, temperature="37,2", temperature_unit="C",
                         consciousness="alert")
    assert response.status_code == 302, text_of(response)
    assert CheckIn.objects.get().temperature_c == Decimal("37.2")


def test_a_decimal_comma_is_accepted_in_fahrenheit_on_the_spanish_page(patient):
    response = post_form(signed_in(patient.user, "es"), patient, temperature="100,4", temperature_unit="F",
                         consciousness="alert")
    assert response.status_code == 302
    stored = CheckIn.objects.get()
    assert (stored.temperature_entered, stored.temperature_c) == (Decimal("100.4"), Decimal("38.0"))


def test_the_api_keeps_strict_numbers(as_user, patient):
    """The API takes JSON numbers (or their plain string form); only the page reads a decimal comma."""
    response = as_user(patient.user).post("/api/v1/checkins/", {"temperature": "37,2"}, format="json")
    assert response.status_code == 400
    assert "temperature" in response.json()["fields"]
    assert not CheckIn.objects.exists()


def test_the_form_offers_the_unit_the_patient_chose_last_time(patient):
    client = signed_in(patient.user)
    assert '<input type="radio" name="temperature_unit" value="F" checked>' in text_of(client.get(url(patient)))
    response = post_form(client, patient, temperature="37.1", temperature_unit="C", consciousness="alert")
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.temperature_unit == "C"
    body = text_of(client.get(url(patient)))
    assert '<input type="radio" name="temperature_unit" value="C" checked>' in body
    assert "Tap °C or °F to match your thermometer" in body  # the switch says what it is for
    # Her home page shows her temperatures in her unit first.
    assert "37.1 °C (98.8 °F)" in text_of(client.get(f"/patients/{patient.uuid}/"))


def test_a_spanish_speaking_patient_starts_in_celsius(team_a):
    patient = PatientFactory(care_team=team_a, preferred_language="es")
    assert patient.center.time_zone.startswith("America/")
    assert patient.temperature_unit_shown == "C"
    body = text_of(signed_in(patient.user).get(url(patient)))
    assert '<input type="radio" name="temperature_unit" value="C" checked>' in body


def test_staff_typing_a_phone_report_does_not_change_the_patients_unit(patient, nurse):
    patient.temperature_unit = "C"
    patient.save()
    response = post_form(signed_in(nurse), patient, temperature="100.1", temperature_unit="F")
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.temperature_unit == "C"


@pytest.mark.parametrize(("typed", "unit", "says"), [
    ("37.2", "F", "If the thermometer shows °C, choose °C beside the temperature box"),
    ("99.1", "C", "If the thermometer shows °F, choose °F beside the temperature box"),
])
def test_a_temperature_in_the_other_unit_is_refused_with_how_to_switch(patient, typed, unit, says):
    response = post_form(signed_in(patient.user), patient, temperature=typed, temperature_unit=unit)
    assert response.status_code == 400
    body = text_of(response)
    assert says in error_of(body, "temperature")
    assert error_of(body, "temperature").startswith("Temperature: ")
    assert not CheckIn.objects.exists()


# --- Errors name their question, in the reader's language; focus goes to them -------------------------------

def test_every_error_names_its_question_in_plain_words(patient):
    response = post_form(signed_in(patient.user), patient, temperature="37.0", temperature_unit="C",
                         heart_rate="abc", spo2="150")
    assert response.status_code == 400
    body = text_of(response)
    assert error_of(body, "heart_rate") == "Pulse: please type a whole number, for example 72."
    assert error_of(body, "spo2") == "Oxygen level: please type a number from 1 to 100."
    assert "A valid integer is required" not in body
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', body, re.S)
    assert summary and 'autofocus' in summary.group(0)  # the browser puts focus on it (checkin.js too)
    assert "Pulse: please type a whole number" in summary.group(1)
    assert re.search(r"<title>Error:", body)


def test_errors_are_in_the_readers_language(patient):
    response = post_form(signed_in(patient.user, "es"), patient, temperature="37.0", temperature_unit="C",
                         heart_rate="abc")
    with translation.override("es"):
        expected = translation.gettext("%(question)s: %(problem)s") % {
            "question": translation.gettext("Pulse"),
            "problem": translation.gettext("please type a whole number, for example %(example)s.") % {"example": "72"},
        }
    assert expected.startswith("Pulso"), "the Spanish catalogue is missing"
    assert error_of(text_of(response), "heart_rate") == expected


# --- A caregiver is addressed as the caregiver ---------------------------------------------------------------

def test_a_caregiver_is_addressed_as_the_caregiver_with_the_patient_named(patient, caregiver):
    client = signed_in(caregiver)
    home = text_of(client.get(f"/patients/{patient.uuid}/"))
    assert "<h1>Checking in for Maria</h1>" in home
    assert "Hello, Maria" not in home
    assert "Maria's recent check-ins" in home
    form = text_of(client.get(url(patient)))
    assert "<h1>How is Maria right now?</h1>" in form
    assert "Checking in for Maria Lopez" in form
    assert "Is Maria using oxygen at home?" in form
    assert "Are you using oxygen at home?" not in form
    assert "How awake is Maria?" in form
    # The patient herself is asked about herself.
    own = text_of(signed_in(patient.user).get(url(patient)))
    assert "<h1>How are you right now?</h1>" in own and "Are you using oxygen at home?" in own


# --- The ICE screen: yes/no items, scored on the server ------------------------------------------------------

ICE_8 = {**{item.field: "1" for item in ICE_ITEMS}, "ice_object_3": "0", "ice_counts_back": "0"}


def test_the_ice_screen_is_yes_no_items_and_the_server_scores_them(patient, caregiver):
    client = signed_in(caregiver)
    form = client.get(url(patient)).content.decode()
    for item in ICE_ITEMS:
        assert f'<input type="radio" name="{item.field}" value="1"' in form
        assert f'<input type="radio" name="{item.field}" value="0"' in form
    assert "1 yes, 0 no" not in form  # nobody types points
    response = client.post(url(patient), {"asked": asked_fields(form), "temperature": "37.0",
                                          "temperature_unit": "C", "consciousness": "alert", **ICE_8})
    assert response.status_code == 302, text_of(response)
    stored = CheckIn.objects.get()
    assert (stored.ice_orientation, stored.ice_naming, stored.ice_command, stored.ice_writing,
            stored.ice_counting, stored.ice_score) == (4, 2, 1, 1, 0, 8)
    assert "8 of 10" in text_of(client.get(response["Location"]))


def test_a_half_answered_ice_screen_names_the_items_left_and_saves_nothing(patient, caregiver):
    client = signed_in(caregiver)
    form = client.get(url(patient)).content.decode()
    response = client.post(url(patient), {"asked": asked_fields(form), "temperature": "37.0",
                                          "temperature_unit": "C", "ice_year": "1", "ice_month": "0"})
    assert response.status_code == 400
    body = text_of(response)
    assert error_of(body, "ice_city") == "Says what city they are in: tap Yes or No, or leave the whole screen empty."
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', body, re.S).group(1)
    assert summary.count("<li>") == 1  # one line for the screen, linked to the first item left
    assert ('<a href="#f-ice_city">Word and memory screen: 8 questions have no answer yet. Tap Yes or No for '
            'each, or leave the whole screen empty.</a>') in summary
    assert '<input type="radio" name="ice_month" value="0" data-ice-part="ice_orientation" checked>' in body
    assert not CheckIn.objects.exists()


# --- "I feel the same as usual" ------------------------------------------------------------------------------

def test_same_as_usual_sends_the_usual_answers_and_still_asks_the_temperature(patient):
    client = signed_in(patient.user)
    page = text_of(client.get(url(patient) + "?quick=1"))
    assert 'name="same_as_usual" value="1"' in page
    assert 'id="temperature"' in page
    assert 'name="yes"' not in page  # no list of signs to go through
    refused = client.post(url(patient), {"same_as_usual": "1", "temperature_unit": "C"})
    assert refused.status_code == 400
    assert error_of(text_of(refused), "temperature").startswith("Temperature: please take it")
    assert not CheckIn.objects.exists()

    response = client.post(url(patient), {"same_as_usual": "1", "temperature": "36,9", "temperature_unit": "C"})
    assert response.status_code == 302
    stored = CheckIn.objects.get()
    assert stored.is_complete
    assert stored.temperature_c == Decimal("36.9")
    assert stored.consciousness == "alert"
    for q in YES_NO_QUESTIONS:
        if q.applies_to in ("all", "car_t"):
            expected = None if not q.warning_sign else False
            assert getattr(stored, q.field) is expected, q.field
    assert stored.on_oxygen is None and stored.drove_since_last is None  # facts, not signs: not assumed
    assert stored.assessment.urgency == 0


def test_same_as_usual_on_a_checkpoint_inhibitor_counts_no_extra_stools_no_pain_no_rash(other_patient):
    client = signed_in(other_patient.user)
    response = client.post(url(other_patient), {"same_as_usual": "1", "temperature": "98.4", "temperature_unit": "F"})
    assert response.status_code == 302
    stored = CheckIn.objects.get()
    assert (stored.extra_stools, stored.abdominal_pain, stored.rash_percent) == (0, "none", 0)
    assert stored.is_complete


def test_a_fever_on_the_short_check_in_is_still_graded(patient):
    """clinical-rules §1: any fever after CAR T is urgent, whichever form it came from."""
    response = signed_in(patient.user).post(url(patient), {"same_as_usual": "1", "temperature": "38.2",
                                                           "temperature_unit": "C"})
    assert response.status_code == 302
    assert CheckIn.objects.get().assessment.urgency_label == "urgent"


def test_the_home_page_and_the_form_offer_the_short_check_in(patient):
    client = signed_in(patient.user)
    assert f'href="{url(patient)}?quick=1"' in text_of(client.get(f"/patients/{patient.uuid}/"))
    assert f'href="{url(patient)}?quick=1"' in text_of(client.get(url(patient)))


# --- Progress: the form's parts are numbered headings ---------------------------------------------------------

def test_the_form_shows_its_parts_numbered_as_headings(patient):
    body = text_of(signed_in(patient.user).get(url(patient)))
    parts = re.findall(r'<legend><h2><span class="progress">Part (\d+) of (\d+)</span> ([^<]+)', body)
    assert parts[0] == ("1", str(len(parts)), "Temperature and readings")
    assert [int(n) for n, _total, _title in parts] == list(range(1, len(parts) + 1))
    assert {total for _n, total, _title in parts} == {str(len(parts))}
    assert parts[-1][2].startswith("Anything else")


# --- The result page: the urgency first, then everything recorded ---------------------------------------------

def test_the_emergency_result_leads_with_call_911_and_tap_to_call(patient, caregiver):
    """journeys.md, 06:40: 38.3 °C and dizzy when standing → emergency (clinical-rules §1)."""
    client = signed_in(caregiver)
    response = post_form(client, patient, ticked=["dizzy_or_fainting"], temperature="38.3", temperature_unit="C",
                         consciousness="alert")
    body = text_of(client.get(response["Location"]))
    main = body[body.index('<main id="main"'):]
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", main, re.S).group(1).strip()
    assert h1 == "Emergency: call 911 now"
    call_911, call_team = main.index('href="tel:911"'), main.index(f'href="{PHONE_HREF}"')
    assert main.index("<h1") < call_911 < call_team < main.index("Call 911 or go to the emergency department")
    assert call_team < main.index("No driving until")  # what to do comes before the banners
    assert "Check-in received" not in main


def test_the_result_shows_everything_recorded_for_a_checkpoint_patient(other_patient):
    """journeys.md: the pembrolizumab patient's stools, belly pain and rash are said back to him."""
    client = signed_in(other_patient.user)
    response = post_form(client, other_patient, ticked=["cough"], temperature="37.4", temperature_unit="C",
                         heart_rate="88", systolic_bp="128", diastolic_bp="82", spo2="96", extra_stools="3",
                         abdominal_pain="mild", rash_percent="2", note="Dry cough since Monday")
    assert response.status_code == 302
    body = text_of(client.get(response["Location"]))
    recorded = body[body.index("What was recorded"):]
    for shown in ("37.4 °C (99.3 °F)", "88 beats per minute", "128/82 mmHg", "96 %", "3 more than usual today",
                  "Some belly pain", "about 2 palms (about 2 % of the skin)", "A new cough, or a cough that got worse",
                  "Dry cough since Monday"):
        assert shown in recorded, shown
    no_list = re.search(r'<ul class="answers no">(.*?)</ul>', recorded, re.S).group(1)
    assert "Blood or mucus in the stool" in no_list and "Chest pain" in no_list
    assert "No warning signs were ticked" not in body


def test_the_summary_never_reads_as_all_clear_under_a_call_now_instruction(patient):
    """A fever alone after CAR T is urgent (clinical-rules §1): no box was ticked, and the page must not say
    that as if nothing were wrong; the temperature is marked as what led to the advice."""
    client = signed_in(patient.user)
    response = post_form(client, patient, temperature="38.4", temperature_unit="C", consciousness="alert")
    body = text_of(client.get(response["Location"]))
    assert "Call your care team now" in body
    assert "No warning signs were ticked" not in body
    row = re.search(r"<dt>Temperature</dt><dd>(.*?)</dd>", body).group(1)
    assert "38.4 °C" in row and "(led to this advice)" in row


def test_the_result_page_is_in_the_readers_language_with_fahrenheit_first_when_typed(patient):
    client = signed_in(patient.user, "es")
    response = post_form(client, patient, temperature="101.3", temperature_unit="F", consciousness="alert")
    body = text_of(client.get(response["Location"]))
    assert "101,3 °F (38,5 °C)" in body  # the reader's decimal mark, the unit typed first


def test_patient_record_keeps_a_chosen_unit_blank_until_chosen(team_a):
    patient = PatientFactory(care_team=team_a)
    assert Patient.objects.get(pk=patient.pk).temperature_unit == ""
