"""What the pages show from monitoring: the instruction after a check-in, the no-driving banner on every
patient page (clinical-rules §3), and findings with rule ids for staff only."""

import datetime as dt
import html as html_lib
import re

import pytest
import time_machine
from django.utils import timezone

from monitoring.models import Window
from tests.monitoring.support import PHONE, banner_text, form_post, signed_in
from tracker.models import CheckIn


@pytest.fixture
def frozen():
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        yield moment


def checkin_url(patient) -> str:
    return f"/patients/{patient.uuid}/checkin/"


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html_lib.unescape(response.content.decode())


def submit(client, patient, *, ticked=(), **values):
    form = client.get(checkin_url(patient)).content.decode()
    return client.post(checkin_url(patient), form_post(form, ticked=ticked, **values))


def test_after_a_fever_with_dizziness_the_detail_page_says_call_911_and_shows_the_24_7_number(patient, frozen):
    """clinical-rules §1: fever plus dizziness after CAR T → emergency; Urgency levels: call 911 first."""
    client = signed_in(patient.user)
    response = submit(client, patient, ticked=["dizzy_or_fainting"], temperature="38.3", temperature_unit="C",
                      consciousness="alert")
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert response["Location"] == f"/patients/{patient.uuid}/checkins/{checkin.uuid}/"
    body = page(client, response["Location"])
    guidance = re.search(r'<section class="guidance ([\w-]+)"[^>]*>(.*?)</section>', body, re.S)
    assert guidance, body
    assert guidance.group(1) == "urgency-emergency"
    text = guidance.group(2)
    assert "Emergency: call 911 now" in text  # the heading is the urgency
    assert "Call 911 or go to the emergency department now" in text
    assert PHONE in text
    assert 'href="tel:911"' in text
    assert 'href="tel:5550100199"' in text
    assert checkin.assessment.urgency_label == "emergency"


def test_a_normal_checkin_page_tells_the_patient_nothing_needs_action(patient, frozen):
    client = signed_in(patient.user)
    response = submit(client, patient, temperature="37.0", temperature_unit="C", consciousness="alert")
    body = page(client, response["Location"])
    assert "nothing in this check-in needs action now" in body
    assert "Call 911" not in body and "tel:911" not in body
    assert PHONE in body


def test_every_car_t_patient_page_shows_the_no_driving_banner(patient, frozen):
    """clinical-rules §3: no driving for 2 weeks after infusion, shown with its end date and days left."""
    window = Window.objects.get(course__patient=patient, kind="driving")
    today = timezone.localtime(frozen, patient.tz).date()
    expected = banner_text(window.ends_on, (window.ends_on - today).days)
    client = signed_in(patient.user)
    detail = submit(client, patient, temperature="37.0", temperature_unit="C", consciousness="alert")["Location"]
    for url in (f"/patients/{patient.uuid}/", checkin_url(patient), detail):
        body = page(client, url)
        assert expected in body, url
        assert "No driving or heavy machinery: confusion or a seizure can come on without warning." in body


def test_caregiver_pages_show_the_banner_too(patient, caregiver, frozen):
    window = Window.objects.get(course__patient=patient, kind="driving")
    today = timezone.localtime(frozen, patient.tz).date()
    body = page(signed_in(caregiver), f"/patients/{patient.uuid}/")
    assert banner_text(window.ends_on, (window.ends_on - today).days) in body


def test_checkpoint_patient_pages_have_no_driving_banner(other_patient, frozen):
    client = signed_in(other_patient.user)
    response = submit(client, other_patient, temperature="37.0", temperature_unit="C")
    assert response.status_code == 302
    for url in (f"/patients/{other_patient.uuid}/", checkin_url(other_patient), response["Location"]):
        body = page(client, url)
        assert "No driving until" not in body, url
        assert "Stay near your treating center" not in body, url


def test_banner_goes_away_when_the_window_ends(patient):
    window = Window.objects.get(course__patient=patient, kind="driving")
    end_day = dt.datetime.combine(window.ends_on, dt.time(12), tzinfo=patient.tz)
    with time_machine.travel(end_day - dt.timedelta(days=1), tick=False):
        assert banner_text(window.ends_on, 1) in page(signed_in(patient.user), f"/patients/{patient.uuid}/")
    with time_machine.travel(end_day, tick=False):
        assert "No driving until" not in page(signed_in(patient.user), f"/patients/{patient.uuid}/")


def test_staff_see_findings_with_rule_ids_behind_why_and_the_patient_does_not(patient, nurse, frozen):
    client = signed_in(patient.user)
    detail = submit(client, patient, ticked=["dizzy_or_fainting"], temperature="38.3", temperature_unit="C",
                    consciousness="alert")["Location"]
    staff_body = page(signed_in(nurse), detail)
    assert "What the rules found" in staff_body
    why = staff_body[staff_body.index('<details class="why">'):]
    assert "crs.fever_with_dizziness" in why  # rule ids and sources sit behind the "Why" disclosure
    assert "crs.fever_with_dizziness" not in staff_body[:staff_body.index('<details class="why">')]
    assert "clinical-rules §1 ASTCT CRS" in why
    patient_body = page(client, detail)
    assert "crs.fever" not in patient_body
    assert "clinical-rules" not in patient_body
    assert "What the rules found" not in patient_body
    # The time is on a labelled clock (New York here), never bare UTC.
    assert re.search(r"\d\d:\d\d E[SD]T</dd>", staff_body) and re.search(r"\d\d:\d\d E[SD]T</dd>", patient_body)


def test_staff_view_of_a_patient_shows_the_patients_banner(patient, nurse, frozen):
    window = Window.objects.get(course__patient=patient, kind="driving")
    today = timezone.localtime(frozen, patient.tz).date()
    body = page(signed_in(nurse), f"/patients/{patient.uuid}/")
    assert banner_text(window.ends_on, (window.ends_on - today).days) in body


# --- What the patient is told: in the reader's language, kept on the home page until staff acknowledge ---------

def guidance_of(body: str):
    body = re.sub(r'<span class="phone-number">([^<]*)</span>', r"\1", body)  # a number's no-wrap span, as read
    return re.search(r'<section class="guidance ([\w-]+)[^"]*"[^>]*>(.*?)</section>', body, re.S)


def spanish(text: str) -> str:
    from django.utils import translation

    with translation.override("es"):
        translated = translation.gettext(text)
    assert translated != text, f"the Spanish catalogue is missing {text!r}"
    return translated


EMERGENCY_HEADLINE = "Call 911 or go to the emergency department now, then call your care team at {phone}."


def test_the_instruction_is_shown_in_the_readers_language_not_the_one_it_was_saved_in(patient, frozen):
    """The patient's saved language is English; she switches the page to Spanish after an emergency check-in."""
    client = signed_in(patient.user)
    detail = submit(client, patient, ticked=["dizzy_or_fainting"], temperature="38.3", temperature_unit="C",
                    consciousness="alert")["Location"]
    assessment = CheckIn.objects.get().assessment
    assert assessment.instruction.startswith("Call 911")  # the record of what was said then, in English
    assert assessment.instruction_messages[0] == [EMERGENCY_HEADLINE, {"phone": PHONE}]
    client.cookies["django_language"] = "es"  # the footer's language switch
    expected = spanish(EMERGENCY_HEADLINE).format(phone=PHONE)
    for url in (detail, f"/patients/{patient.uuid}/"):
        guidance = guidance_of(page(client, url))
        assert guidance and guidance.group(1) == "urgency-emergency", url
        assert expected in guidance.group(2), url
        assert "Call 911 or go to the emergency department" not in guidance.group(2), url
    # And back: a Spanish-speaking patient's next emergency reads in English to an English reader.
    patient.preferred_language = "es"
    patient.save()
    client.cookies["django_language"] = "en"
    detail = submit(client, patient, ticked=["short_of_breath"], temperature="38.5", temperature_unit="C",
                    consciousness="alert")["Location"]
    assert CheckIn.objects.order_by("-pk").first().assessment.instruction.startswith(expected[:12])  # saved in Spanish
    assert EMERGENCY_HEADLINE.format(phone=PHONE) in guidance_of(page(client, detail)).group(2)


def test_assessments_saved_before_the_message_keys_get_them_from_the_migration(patient, frozen):
    import importlib

    from django.apps import apps

    from monitoring.models import CheckinAssessment

    submit(signed_in(patient.user), patient, temperature="38.4", temperature_unit="C", consciousness="alert")
    CheckinAssessment.objects.update(instruction_messages=[])  # as the rows were before the migration
    migration = importlib.import_module("monitoring.migrations.0004_assessment_instruction_messages")
    migration.fill_instruction_messages(apps, None)
    assessment = CheckinAssessment.objects.get()
    assert [key for key, _params in assessment.instruction_messages] == [
        "Call your care team now at {phone}. This number is answered 24 hours a day, 7 days a week.",
        assessment.findings[0]["patient_instruction"],
    ]
    assert "\n\n".join(assessment.patient_paragraphs) == assessment.instruction


def test_a_row_without_message_keys_is_still_shown_from_its_findings(patient, frozen):
    """Bulk-loaded rows (bench/datagen.py writes assessments with COPY) fall back to the stored findings."""
    from monitoring.models import CheckinAssessment

    client = signed_in(patient.user)
    detail = submit(client, patient, temperature="38.4", temperature_unit="C", consciousness="alert")["Location"]
    CheckinAssessment.objects.update(instruction_messages=[])
    client.cookies["django_language"] = "es"
    assert spanish("Call your care team now at {phone}. This number is answered 24 hours a day, 7 days a week."
                   ).format(phone=PHONE) in guidance_of(page(client, detail)).group(2)


def test_the_home_page_keeps_what_to_do_at_the_top_until_a_nurse_acknowledges(patient, caregiver, nurse, frozen):
    """journeys.md: after the 06:40 emergency the home page said "Today's check-in is done" in green."""
    from monitoring.models import Alert
    from monitoring.services.alerts import alert_acknowledge

    submit(signed_in(caregiver), patient, ticked=["dizzy_or_fainting"], temperature="38.3", temperature_unit="C",
           consciousness="alert")
    for client in (signed_in(patient.user), signed_in(caregiver)):
        body = page(client, f"/patients/{patient.uuid}/")
        main = body[body.index('<main id="main"'):]
        guidance = guidance_of(main)
        assert guidance and guidance.group(1) == "urgency-emergency"
        assert main.index("<section class=\"guidance") < main.index("No driving until")  # at the very top
        assert "Emergency: call 911 now" in guidance.group(2)
        assert 'href="tel:911"' in guidance.group(2) and 'href="tel:5550100199"' in guidance.group(2)
        assert "Call 911 or go to the emergency department now" in guidance.group(2)
        assert "Today's check-in is done" not in body
        assert 'class="status ok"' not in body
    alert = Alert.objects.get()
    alert_acknowledge(alert=alert, user=nurse)
    body = page(signed_in(patient.user), f"/patients/{patient.uuid}/")
    assert guidance_of(body) is None
    assert "Today's check-in is done" in body


def test_a_corrected_checkin_no_longer_holds_the_home_page(patient, nurse, frozen):
    from monitoring.services.intake import checkin_amend

    submit(signed_in(patient.user), patient, temperature="38.4", temperature_unit="C", consciousness="alert")
    assert guidance_of(page(signed_in(patient.user), f"/patients/{patient.uuid}/")).group(1) == "urgency-urgent"
    checkin_amend(original=CheckIn.objects.get(), entered_by=nurse, channel="phone",
                  changes={"temperature_c": "37.0"}, reason="Misread the thermometer")
    # The correction's own assessment is "none"; the original no longer stands.
    assert guidance_of(page(signed_in(patient.user), f"/patients/{patient.uuid}/")) is None


def test_the_home_page_says_why_the_no_driving_window_grew(team_a):
    """clinical-rules §3: a neurologic event (here new confusion, §2) extends no driving to at least 8 weeks
    after it (policy). The patient is told why, in plain words, with the dates."""
    from tests.monitoring.support import CAR_T_NORMAL, infused, noon_utc, post_checkin

    start = dt.date(2026, 11, 29)
    p = infused(team_a, "yescarta", start=start)
    event_day = dt.date(2026, 12, 1)
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(p.user)
    with time_machine.travel(noon_utc(event_day), tick=False):
        assert post_checkin(api, **{**CAR_T_NORMAL, "confusion": True}).status_code == 201
    with time_machine.travel(noon_utc(dt.date(2026, 12, 3)), tick=False):
        body = page(signed_in(p.user), f"/patients/{p.uuid}/")
        plain = re.sub(r"\s+", " ", body)
    assert "No driving until 26 Jan" in plain
    why = re.search(r'<section class="card driving-why" id="driving-why">(.*?)</section>', plain, re.S)
    assert why, plain
    text = why.group(1)
    assert "Why there is no driving until 26 Jan" in text
    assert "On 1 Dec a check-in showed a change in thinking, speech, alertness or movement" in text
    assert "Before that, driving was to wait until 13 Dec." in text
    assert "no driving for at least 8 weeks after it" in text


def test_no_explanation_when_the_window_was_not_extended(patient, frozen):
    assert "driving-why" not in page(signed_in(patient.user), f"/patients/{patient.uuid}/")
