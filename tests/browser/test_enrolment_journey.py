"""The coordinator enrolling a new patient on a Monday morning (shared/journeys.md), in a real browser: one
form with a caregiver; the invitations go out (SMS to the patient, email to the caregiver, read where they
land: the SMS provider adapter and Django's locmem email backend); the patient sets a password from the link
on her phone and checks in. And "Forgot your password?" round trip through the email backend."""


import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import sign_in
from tests.factories import CareTeamFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.models import CaregiverLink, Patient, Role, Therapy, TreatmentCourse

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
LINK = re.compile(r"https?://[^/\s]+(/accounts/(?:invitation|password/reset)/\S+?/)(?:\s|$)")
NEW_PASSWORD = "paper boats on the river"


@pytest.fixture
def clinic(db, settings, eager_tasks, outside_calls, mailoutbox):
    """A coordinator on the Cellular Therapy team; messages are sent at once (Celery eager) to the recorders."""
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Cellular Therapy")
    CareTeamFactory(name="Thoracic Oncology")
    coordinator = UserFactory(username="cora", role=Role.COORDINATOR, teams=[team], first_name="Cora",
                              last_name="Ndiaye")
    return {"team": team, "coordinator": coordinator, "sms": outside_calls, "mail": mailoutbox}




def link_in(text: str) -> str:
    match = LINK.search(text + " ")
    assert match, text
    return match.group(1)


def fill_enrolment(page, *, mrn: str) -> None:
    page.fill("#id_first_name", "Ana")
    page.fill("#id_last_name", "Ruiz")
    page.fill("#id_mrn", mrn)
    page.fill("#id_date_of_birth", "1971-04-09")
    page.select_option("#id_therapy", "yescarta")
    # Infused yesterday: her first check-in is after the start of the course in her time zone, whatever the hour.
    page.fill("#id_start_date", (timezone.localdate() - dt.timedelta(days=1)).isoformat())
    page.fill("#id_phone", "(555) 010-0177")
    page.fill("#id_caregivers-0-first_name", "Carlos")
    page.fill("#id_caregivers-0-last_name", "Ruiz")
    page.fill("#id_caregivers-0-relationship", "husband")
    page.fill("#id_caregivers-0-email", "carlos.ruiz@example.test")


def test_a_coordinator_enrols_a_patient_who_sets_a_password_from_the_invitation_and_checks_in(
        live_server, clinic, new_page, shot):
    base = live_server.url
    desk = new_page(1366, 900)
    sign_in(desk, base, "cora")
    desk.get_by_role("link", name="Enrol a patient").click()
    expect(desk.get_by_role("heading", name="Enrol a patient")).to_be_visible()
    # The team is chosen by name (her only team is preselected); the time zone defaults to the center's.
    expect(desk.locator("#id_team option:checked")).to_have_text("Cellular Therapy")
    expect(desk.locator("#id_time_zone option:checked")).to_contain_text("America/New_York")
    shot(desk, "enrol-form-1366")

    # A first try without the date of birth: the summary names the field, nothing is saved.
    fill_enrolment(desk, mrn="RCC-200100")
    desk.fill("#id_date_of_birth", "")
    desk.get_by_role("button", name="Enrol and send invitations").click()
    summary = desk.locator("#error-summary")
    expect(summary).to_contain_text("Date of birth: This field is required.")
    expect(desk.locator("#id_caregivers-0-first_name")).to_have_value("Carlos")  # nothing typed is lost
    assert not Patient.objects.exists()
    shot(desk, "enrol-errors-1366")

    desk.fill("#id_date_of_birth", "1971-04-09")
    desk.get_by_role("button", name="Enrol and send invitations").click()
    expect(desk.get_by_role("heading", name="Recent enrolments")).to_be_visible()
    expect(desk.locator("main")).to_contain_text("Ana Ruiz is enrolled.")
    card = desk.locator("li.card").first
    expect(card).to_contain_text("Ruiz, Ana")
    expect(card).to_contain_text("Invitation sent by text message to ••• 0177")
    expect(card).to_contain_text("Invitation sent by email to c•••@example.test")
    shot(desk, "enrolments-1366")

    patient = Patient.objects.get(mrn="RCC-200100")
    assert TreatmentCourse.objects.filter(patient=patient, therapy__code="yescarta").exists()
    assert CaregiverLink.objects.filter(patient=patient, relationship="husband").exists()

    small_desk = new_page(360, 800)
    sign_in(small_desk, base, "cora")
    small_desk.goto(f"{base}/staff/enrol/")
    shot(small_desk, "enrol-form-360")
    small_desk.goto(f"{base}/staff/enrolments/")
    shot(small_desk, "enrolments-360")
    small_desk.context.add_cookies([{"name": "django_language", "value": "es", "url": base}])
    small_desk.goto(f"{base}/staff/enrol/")
    expect(small_desk.get_by_role("heading", name="Inscribir a un paciente")).to_be_visible()
    shot(small_desk, "enrol-form-es-360")

    # Ana's phone: the link from the SMS.
    [sms] = clinic["sms"].sms()
    assert "Ana" not in sms["text"] and "Ruiz" not in sms["text"]
    phone = new_page(360, 800)
    phone.goto(base + link_in(sms["text"]))
    expect(phone).to_have_url(f"{base}/accounts/invitation/set-password/")  # the token left the address bar
    expect(phone.locator("strong.username")).to_have_text("ana.ruiz")
    shot(phone, "invitation-set-password-360")
    phone.fill("#id_new_password1", NEW_PASSWORD)
    phone.fill("#id_new_password2", NEW_PASSWORD)
    phone.get_by_role("button", name="Set password and sign in").click()
    expect(phone).to_have_url(f"{base}/patients/{patient.uuid}/")

    phone.click("text=Check in now")
    phone.fill("#temperature", "37.1")
    phone.check("input[name=temperature_unit][value=C]")
    phone.get_by_role("button", name="Send check-in").click()
    expect(phone.locator("section.guidance")).to_be_visible()
    assert patient.checkins.count() == 1

    # The link worked once.
    again = new_page(360, 800)
    again.goto(base + link_in(sms["text"]))
    expect(again.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(again.locator("main")).to_contain_text("Ask your care team for a new invitation.")
    shot(again, "invitation-invalid-360")

    # Carlos's email: his own link, to his own password, and Ana's page.
    [email] = clinic["mail"]
    assert email.to == ["carlos.ruiz@example.test"]
    laptop = new_page(1366, 900)
    laptop.goto(base + link_in(email.body))
    expect(laptop.locator("strong.username")).to_have_text("carlos.ruiz")
    laptop.fill("#id_new_password1", NEW_PASSWORD + " too")
    laptop.fill("#id_new_password2", NEW_PASSWORD + " too")
    laptop.get_by_role("button", name="Set password and sign in").click()
    expect(laptop).to_have_url(f"{base}/patients/{patient.uuid}/")

    desk.goto(f"{base}/staff/enrolments/")
    expect(desk.locator("li.card").first).to_contain_text("Password set on")


def test_forgot_password_round_trip_through_the_email_backend(live_server, clinic, new_page, shot):
    base = live_server.url
    robert = UserFactory(username="robert", role=Role.PATIENT, email="robert.chen@example.test")
    phone = new_page(360, 800)
    phone.goto(f"{base}/accounts/login/")
    shot(phone, "sign-in-360")
    phone.get_by_role("link", name="Forgot your password?").click()
    phone.fill("#id_email", "robert.chen@example.test")
    shot(phone, "forgot-password-360")
    phone.get_by_role("button", name="Email me a link").click()
    expect(phone.get_by_role("heading", name="Check your email")).to_be_visible()
    shot(phone, "forgot-password-sent-360")

    [email] = clinic["mail"]
    assert email.to == ["robert.chen@example.test"] and "robert" not in email.body
    phone.goto(base + link_in(email.body))
    expect(phone.locator("strong.username")).to_have_text("robert")
    phone.fill("#id_new_password1", "short")
    phone.fill("#id_new_password2", "short")
    phone.get_by_role("button", name="Set password").click()
    expect(phone.locator("main")).to_contain_text("This password is too short.")
    shot(phone, "reset-password-errors-360")
    phone.fill("#id_new_password1", NEW_PASSWORD)
    phone.fill("#id_new_password2", NEW_PASSWORD)
    phone.get_by_role("button", name="Set password").click()
    expect(phone.get_by_role("heading", name="Your password is set")).to_be_visible()
    shot(phone, "reset-password-done-360")

    sign_in(phone, base, "robert", NEW_PASSWORD)
    expect(phone).not_to_have_url(re.compile(r"/accounts/login/"))
    robert.refresh_from_db()
    assert robert.check_password(NEW_PASSWORD)

    # An unknown address gets the same page.
    other = new_page(1366, 900)
    other.goto(f"{base}/accounts/password/forgot/")
    other.fill("#id_email", "nobody@example.test")
    other.get_by_role("button", name="Email me a link").click()
    expect(other.get_by_role("heading", name="Check your email")).to_be_visible()
    assert len(clinic["mail"]) == 1
