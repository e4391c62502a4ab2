"""Enrolling a patient without the admin: one form for a coordinator, one transaction, and an
invitation for each person whose link is made when the message is sent, works once and expires."""


import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.models import Window
from notifications.channels import DeliveryError
from notifications.models import Notification, NotificationStatus
from notifications.services.delivery import notification_deliver
from notifications.tasks import notification_deliver_task
from tests.factories import CareTeamFactory, CenterFactory, PatientFactory, UserFactory
from tracker.invitations import invitation_delivery_record, invitation_issue
from tracker.models import (
    AuditEvent,
    CaregiverLink,
    DeliveryStatus,
    Invitation,
    InvitationLink,
    Patient,
    Role,
    TreatmentCourse,
    User,
)

ENROL, ENROLMENTS = "/staff/enrol/", "/staff/enrolments/"
LINK = re.compile(r"(https?://[^/\s]+)?(/accounts/invitation/([A-Za-z0-9_-]{20,})/)")
NEW_PASSWORD = "blue kettle on a quiet morning"


@pytest.fixture
def coordinator(team_a):
    return UserFactory(role=Role.COORDINATOR, teams=[team_a], first_name="Cora", last_name="Ndiaye")


@pytest.fixture
def as_coordinator(coordinator):
    client = Client()
    client.force_login(coordinator)
    return client


def enrol_data(team, *, caregivers=(), **overrides) -> dict:
    data = {
        "first_name": "Ana", "last_name": "Ruiz", "mrn": "RCC-200100", "date_of_birth": "1971-04-09",
        "team": str(team.uuid), "therapy": "yescarta", "start_date": timezone.localdate().isoformat(),
        "time_zone": "", "language": "en", "phone": "(555) 010-0177", "email": "",
        "caregivers-TOTAL_FORMS": str(len(caregivers)), "caregivers-INITIAL_FORMS": "0",
    }
    for n, caregiver in enumerate(caregivers):
        for name, value in caregiver.items():
            data[f"caregivers-{n}-{name}"] = value
    data.update(overrides)
    return data


CARLOS = {"first_name": "Carlos", "last_name": "Ruiz", "relationship": "husband", "phone": "",
          "email": "carlos.ruiz@example.test"}


def deliver_all() -> None:
    for pk in Notification.objects.filter(status=NotificationStatus.PENDING).values_list("pk", flat=True):
        notification_deliver(notification_id=pk)


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(2)


# --- Who may enrol ---------------------------------------------------------------------------------------------

def test_a_coordinator_chooses_among_their_own_teams_by_name(as_coordinator, team_a, team_b):
    elsewhere = CareTeamFactory(name="Lakeside Hematology", center=CenterFactory(name="Lakeside Hospital"))
    page = as_coordinator.get(ENROL)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{team_a.uuid}"' in html and "Cellular Therapy" in html and "Riverside Cancer Center" in html
    assert str(team_b.uuid) not in html and str(elsewhere.uuid) not in html
    assert "Yescarta (axicabtagene ciloleucel)" in html and "Keytruda (pembrolizumab)" in html
    assert "America/New_York (the center&#x27;s time zone)" in html  # the default, then common zones first
    assert html.index("America/Chicago") < html.index("Europe/Madrid")


def test_a_coordinator_cannot_enrol_into_a_team_that_is_not_theirs(as_coordinator, team_b):
    response = as_coordinator.post(ENROL, enrol_data(team_b))
    assert response.status_code == 400
    assert "Care team: Choose one of your care teams." in response.content.decode()
    assert not Patient.objects.filter(mrn="RCC-200100").exists()


@pytest.mark.parametrize(("role", "status"), [(Role.NURSE, 403), (Role.PHYSICIAN, 403), (Role.CHARGE_NURSE, 403)])
def test_other_staff_are_refused(team_a, role, status):
    client = Client()
    client.force_login(UserFactory(role=role, teams=[team_a]))
    assert client.get(ENROL).status_code == status
    assert client.post(ENROL, enrol_data(team_a)).status_code == status
    assert client.get(ENROLMENTS).status_code == status
    assert not Patient.objects.filter(mrn="RCC-200100").exists()


def test_patients_and_caregivers_do_not_learn_the_page_exists(patient, caregiver):
    for user in (patient.user, caregiver):
        client = Client()
        client.force_login(user)
        assert client.get(ENROL).status_code == 404


def test_a_coordinator_cannot_resend_for_another_teams_patient(as_coordinator, other_patient):
    response = as_coordinator.post(f"/staff/enrolments/{other_patient.uuid}/invite/",
                                   {"person": str(other_patient.user.uuid)})
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_the_navigation_offers_enrolment_to_coordinators_and_administrators_only(as_coordinator, nurse, admin_user):
    assert 'href="/staff/enrol/"' in as_coordinator.get("/staff/patients/").content.decode()
    for user, shown in ((nurse, False), (admin_user, True)):
        client = Client()
        client.force_login(user)
        assert ('href="/staff/enrol/"' in client.get("/staff/patients/").content.decode()) is shown


# --- The form ---------------------------------------------------------------------------------------------------

def test_missing_fields_are_named_in_the_summary_and_nothing_is_saved(as_coordinator, team_a):
    response = as_coordinator.post(ENROL, enrol_data(team_a, first_name="", date_of_birth="", therapy=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved yet" in html
    assert 'href="#id_first_name">First name: This field is required.' in html
    assert "Date of birth: This field is required." in html
    assert "Therapy: This field is required." in html
    assert User.objects.filter(role=Role.PATIENT).count() == 0


def test_errors_name_the_field_in_the_readers_language(as_coordinator, team_a):
    as_coordinator.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "es"
    response = as_coordinator.post(ENROL, enrol_data(team_a, first_name="", phone="", email=""))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Nombre: Este campo es obligatorio." in html
    assert "Teléfono móvil: Indique un teléfono móvil o un correo electrónico" in html


def test_an_mrn_already_enrolled_at_the_center_is_refused_clearly(as_coordinator, team_a, patient):
    patient.mrn = "RCC-200100"
    patient.save()
    response = as_coordinator.post(ENROL, enrol_data(team_a, mrn="rcc-200100"))
    assert response.status_code == 400
    assert ("MRN (medical record number): A patient with MRN rcc-200100 is already enrolled at Riverside Cancer Center."
            in response.content.decode())
    assert Patient.objects.count() == 1


def test_the_same_mrn_at_another_center_is_another_patient(db, coordinator):
    lakeside = CareTeamFactory(name="Hematology", center=CenterFactory(name="Lakeside", time_zone="America/Chicago"))
    PatientFactory(care_team=CareTeamFactory(name="Other"), mrn="RCC-200100")
    coordinator.team_memberships.create(team=lakeside)
    client = Client()
    client.force_login(coordinator)
    assert client.post(ENROL, enrol_data(lakeside)).status_code == 302
    assert Patient.objects.get(center=lakeside.center, mrn="RCC-200100").time_zone == "America/Chicago"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("phone", "call me", "Enter a phone number with its area code"),
    ("email", "not-an-address", "Enter a valid email address."),
    ("start_date", "2001-01-01", "Enter a date within the last year or the next 90 days."),
    ("date_of_birth", "2999-01-01", "Enter a date of birth in the past"),
    ("time_zone", "Mars/Olympus_Mons", "Time zone: Choose a time zone from the list."),
    ("therapy", "snake-oil", "Therapy: Choose a therapy from the list."),
])
def test_implausible_values_are_refused_naming_the_field(as_coordinator, team_a, field, value, message):
    response = as_coordinator.post(ENROL, enrol_data(team_a, **{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Patient.objects.exists()


def test_a_caregiver_needs_a_name_and_a_way_to_be_reached_and_a_blank_one_is_ignored(as_coordinator, team_a):
    half = {"first_name": "Carlos", "last_name": "", "relationship": "", "phone": "", "email": ""}
    response = as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[half]))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Caregiver 1, last name: This field is required." in html
    assert "Caregiver 1, mobile phone: Give a mobile phone or an email address" in html
    blank = {"first_name": "", "last_name": "", "relationship": "", "phone": "", "email": ""}
    assert as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[blank])).status_code == 302
    assert not CaregiverLink.objects.exists()


def test_add_another_caregiver_shows_one_more_block_and_saves_nothing(as_coordinator, team_a):
    response = as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[CARLOS], add_caregiver="1"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="caregivers-1-first_name"' in html and 'value="Carlos"' in html
    assert "Nothing was saved yet" not in html
    assert not Patient.objects.exists()


def test_the_time_zone_defaults_to_the_centers_and_a_chosen_one_is_kept(as_coordinator, team_a):
    as_coordinator.post(ENROL, enrol_data(team_a))
    assert Patient.objects.get(mrn="RCC-200100").time_zone == "America/New_York"
    as_coordinator.post(ENROL, enrol_data(team_a, mrn="RCC-200101", time_zone="America/Phoenix"))
    assert Patient.objects.get(mrn="RCC-200101").time_zone == "America/Phoenix"


# --- One transaction ----------------------------------------------------------------------------------------------

def test_enrolment_creates_accounts_patient_course_windows_links_and_invitations_at_once(as_coordinator, team_a,
                                                                                          coordinator):
    response = as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[CARLOS], language="es"))
    assert response.status_code == 302 and response["Location"] == ENROLMENTS
    patient = Patient.objects.select_related("user").get(mrn="RCC-200100")
    assert (patient.first_name, patient.care_team, patient.center) == ("Ana", team_a, team_a.center)
    assert patient.preferred_language == "es" and patient.phone == "(555) 010-0177"
    assert patient.user.role == Role.PATIENT and patient.user.username == "ana.ruiz"
    assert not patient.user.has_usable_password()
    course = TreatmentCourse.objects.get(patient=patient)
    assert course.therapy.code == "yescarta" and course.start_date == timezone.localdate()
    # The windows are made as for any course saved: the course's post_save (monitoring.receivers).
    assert set(Window.objects.filter(course=course).values_list("kind", flat=True)) == {"driving", "proximity"}
    carlos = CaregiverLink.objects.get(patient=patient, relationship="husband").user
    assert carlos.role == Role.CAREGIVER and carlos.email == "carlos.ruiz@example.test"
    assert carlos.preferred_language == "es" and not carlos.has_usable_password()
    invitations = {inv.user: inv for inv in Invitation.objects.filter(patient=patient)}
    assert set(invitations) == {patient.user, carlos}
    assert invitations[patient.user].channel == "sms" and invitations[carlos].channel == "email"
    assert all(inv.issued_by == coordinator for inv in invitations.values())
    rows = Notification.objects.filter(kind="invitation", patient=patient)
    assert {(n.recipient, n.channel, n.language) for n in rows} == {(patient.user, "sms", "es"),
                                                                     (carlos, "email", "es")}
    for row in rows:  # no link, no token, no name in the outbox row
        assert set(row.context) == {"invitation", "hours"}
    assert not InvitationLink.objects.exists()  # links are made when the messages are sent
    assert AuditEvent.objects.filter(action="enrol", patient=patient, username=coordinator.username).exists()


def test_a_failure_half_way_leaves_nothing_behind(as_coordinator, team_a, monkeypatch):
    import tracker.enrolment

    calls = []

    def failing_issue(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:  # the caregiver's invitation, after everything else was written
            raise RuntimeError("mail queue on fire")
        return invitation_issue(**kwargs)

    monkeypatch.setattr(tracker.enrolment, "invitation_issue", failing_issue)
    as_coordinator.raise_request_exception = True
    with pytest.raises(RuntimeError):
        as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[CARLOS]))
    assert len(calls) == 2
    for model in (Patient, TreatmentCourse, Window, CaregiverLink, Invitation, Notification):
        assert not model.objects.exists(), model.__name__
    assert not User.objects.filter(role__in=[Role.PATIENT, Role.CAREGIVER]).exists()


def test_an_mrn_taken_at_the_same_moment_is_reported_on_the_field(as_coordinator, team_a, monkeypatch):
    """Two coordinators enrol the same MRN at once: the database's unique constraint decides, and the loser
    gets the MRN message, not a 500, and nothing of theirs is saved."""
    import tracker.enrolment
    import tracker.forms

    monkeypatch.setattr(tracker.forms, "mrn_taken", lambda **kwargs: False)
    real = tracker.enrolment.mrn_taken
    seen = []

    def racing(**kwargs):
        seen.append(1)
        if len(seen) == 1:  # between the check and the insert, someone else enrols the MRN
            PatientFactory(care_team=team_a, mrn="RCC-200100")
            return False
        return real(**kwargs)

    monkeypatch.setattr(tracker.enrolment, "mrn_taken", racing)
    response = as_coordinator.post(ENROL, enrol_data(team_a))
    assert response.status_code == 400
    assert "MRN (medical record number): A patient with MRN RCC-200100 is already enrolled" in response.content.decode()
    assert Patient.objects.count() == 1 and not Invitation.objects.exists()


# --- The invitation and its link ----------------------------------------------------------------------------------

@pytest.fixture
def enrolled(as_coordinator, team_a, outside_calls, mailoutbox):
    """Ana (SMS) and Carlos (email) enrolled; their messages sent."""
    assert as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[CARLOS])).status_code == 302
    deliver_all()
    patient = Patient.objects.select_related("user").get(mrn="RCC-200100")
    carlos = CaregiverLink.objects.get(patient=patient).user
    return patient, carlos


def test_messages_carry_a_link_made_at_send_time_and_only_its_hash_is_stored(enrolled, outside_calls, mailoutbox):
    patient, carlos = enrolled
    [sms] = outside_calls.sms()
    assert sms["to"] == "(555) 010-0177"
    assert django_settings.SITE_URL + "/accounts/invitation/" in sms["text"]
    [email] = mailoutbox
    assert email.to == ["carlos.ruiz@example.test"]
    for text in (sms["text"], email.subject, email.body):
        for word in ("Ana", "Ruiz", "Carlos", "RCC-200100", "Yescarta", "CAR T"):
            assert word not in text, (word, text)
    for text in (sms["text"], email.body):
        raw = LINK.search(text).group(3)
        assert InvitationLink.objects.filter(token_hash=hashlib.sha256(raw.encode()).hexdigest()).exists()
        with connection.cursor() as cursor:  # the raw token is in no notification row, anywhere
            cursor.execute("SELECT count(*) FROM notifications_notification WHERE context::text LIKE %s",
                           [f"%{raw}%"])
            assert cursor.fetchone()[0] == 0
    assert Notification.objects.filter(kind="invitation", status=NotificationStatus.SENT).count() == 2


def test_the_link_sets_a_password_once_signs_in_and_lands_on_the_patients_page(enrolled, outside_calls):
    patient, _carlos = enrolled
    link = link_in(outside_calls.sms()[0]["text"])
    browser = Client()
    opened = browser.get(link)
    assert opened.status_code == 302 and opened["Location"] == "/accounts/invitation/set-password/"
    page = browser.get(opened["Location"])
    assert page.status_code == 200 and "ana.ruiz" in page.content.decode()  # the username to sign in with
    done = browser.post("/accounts/invitation/set-password/",
                        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/"
    assert browser.get("/")["Location"] == f"/patients/{patient.uuid}/"
    patient.user.refresh_from_db()
    assert patient.user.check_password(NEW_PASSWORD)
    assert Invitation.objects.get(user=patient.user).accepted_at is not None
    assert AuditEvent.objects.filter(action="invitation_accepted", patient=patient).exists()
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert not AuditEvent.objects.filter(path__contains=token).exists()  # the token is in no audit row
    again = Client().get(link)  # single use
    assert again.status_code == 200
    assert "Ask your care team for a new invitation." in again.content.decode()


def test_a_caregiver_lands_on_the_page_of_the_patient_they_care_for(enrolled, mailoutbox):
    patient, _carlos = enrolled
    browser = Client()
    browser.get(link_in(mailoutbox[0].body))
    browser.post("/accounts/invitation/set-password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert browser.get("/")["Location"] == f"/patients/{patient.uuid}/"


def test_django_password_rules_apply_and_a_refused_password_keeps_the_invitation_open(enrolled, outside_calls):
    patient, _carlos = enrolled
    browser = Client()
    browser.get(link_in(outside_calls.sms()[0]["text"]))
    for weak in ("short", "123456789012", "password1234", "ana.ruiz.ana"):
        response = browser.post("/accounts/invitation/set-password/", {"new_password1": weak, "new_password2": weak})
        assert response.status_code == 400, weak
    assert "This password is too short." in browser.post(
        "/accounts/invitation/set-password/", {"new_password1": "short", "new_password2": "short"}).content.decode()
    patient.user.refresh_from_db()
    assert not patient.user.has_usable_password()
    assert Invitation.objects.get(user=patient.user).accepted_at is None


def test_the_invitation_pages_speak_the_invited_persons_language(as_coordinator, team_a, outside_calls):
    as_coordinator.post(ENROL, enrol_data(team_a, language="es"))
    deliver_all()
    [sms] = outside_calls.sms()
    assert "Su equipo de atención" in sms["text"]
    browser = Client()
    page = browser.get(browser.get(link_in(sms["text"]))["Location"])
    assert "Establezca su contraseña" in page.content.decode()


def test_an_expired_link_shows_the_ask_your_care_team_page(enrolled, outside_calls, settings):
    link = link_in(outside_calls.sms()[0]["text"])
    with time_machine.travel(timezone.now() + dt.timedelta(hours=settings.INVITATION_HOURS, minutes=1)):
        response = Client().get(link)
    assert response.status_code == 200
    assert "Ask your care team for a new invitation." in response.content.decode()


def test_a_link_opened_in_time_but_submitted_after_expiry_is_refused(enrolled, outside_calls, settings):
    patient, _carlos = enrolled
    browser = Client()
    browser.get(link_in(outside_calls.sms()[0]["text"]))
    with time_machine.travel(timezone.now() + dt.timedelta(hours=settings.INVITATION_HOURS, minutes=1)):
        response = browser.post("/accounts/invitation/set-password/",
                                {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "Ask your care team for a new invitation." in response.content.decode()
    patient.user.refresh_from_db()
    assert not patient.user.has_usable_password()


def test_a_message_that_could_not_go_out_before_expiry_fails_instead_of_sending_a_dead_link(
        as_coordinator, team_a, outside_calls, settings):
    as_coordinator.post(ENROL, enrol_data(team_a))
    with time_machine.travel(timezone.now() + dt.timedelta(hours=settings.INVITATION_HOURS + 1)):
        deliver_all()
    row = Notification.objects.get(kind="invitation")
    assert row.status == NotificationStatus.FAILED and "expired" in row.last_error
    assert outside_calls.sms() == [] and not InvitationLink.objects.exists()


def test_a_retried_send_makes_a_new_link_and_using_one_closes_them_all(as_coordinator, team_a, outside_calls):
    as_coordinator.post(ENROL, enrol_data(team_a))
    row = Notification.objects.get(kind="invitation")
    deliver_all()
    Notification.objects.filter(pk=row.pk).update(status=NotificationStatus.PENDING)  # sent again by the sweep
    deliver_all()
    first, second = (link_in(sms["text"]) for sms in outside_calls.sms())
    assert first != second and InvitationLink.objects.count() == 2
    browser = Client()
    browser.get(second)
    browser.post("/accounts/invitation/set-password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "Ask your care team" in Client().get(first).content.decode()


def test_a_new_invitation_replaces_the_old_link(enrolled, as_coordinator, outside_calls):
    patient, _carlos = enrolled
    old = link_in(outside_calls.sms()[0]["text"])
    Invitation.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    response = as_coordinator.post(f"/staff/enrolments/{patient.uuid}/invite/", {"person": str(patient.user.uuid)},
                                   follow=True)
    assert "A new invitation is on its way to Ana Ruiz" in response.content.decode()
    deliver_all()
    new = link_in(outside_calls.sms()[-1]["text"])
    assert "Ask your care team" in Client().get(old).content.decode()
    assert Client().get(new).status_code == 302
    assert AuditEvent.objects.filter(action="invitation_resend", patient=patient).exists()


def test_a_second_resend_within_a_minute_waits(enrolled, as_coordinator):
    patient, _carlos = enrolled
    response = as_coordinator.post(f"/staff/enrolments/{patient.uuid}/invite/", {"person": str(patient.user.uuid)},
                                   follow=True)
    assert "less than a minute ago" in response.content.decode()
    assert Invitation.objects.filter(user=patient.user).count() == 1


def test_the_list_shows_each_persons_invitation_status(as_coordinator, team_a, outside_calls, mailoutbox):
    as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[CARLOS]))
    html = as_coordinator.get(ENROLMENTS).content.decode()
    assert html.count("Invitation waiting to be sent") == 2
    outside_calls.fail_with.append(DeliveryError("refused", permanent=True))
    deliver_all()
    html = as_coordinator.get(ENROLMENTS).content.decode()
    assert "The invitation could not be delivered" in html  # Ana's SMS
    assert "Invitation sent by email to c•••@example.test" in html  # Carlos
    browser = Client()
    browser.get(link_in(mailoutbox[0].body))
    browser.post("/accounts/invitation/set-password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    html = as_coordinator.get(ENROLMENTS).content.decode()
    assert "Password set on" in html and "ana.ruiz" in html and "carlos.ruiz" in html


def test_the_list_shows_only_the_coordinators_teams(as_coordinator, patient, other_patient):
    html = as_coordinator.get(ENROLMENTS).content.decode()
    assert patient.last_name in html and other_patient.last_name not in html
    assert AuditEvent.objects.filter(action="list", patient_ids=[patient.pk]).exists()


def test_usernames_are_made_from_the_name_and_never_collide(as_coordinator, team_a):
    UserFactory(username="ana.ruiz")
    as_coordinator.post(ENROL, enrol_data(team_a, first_name="Ána"))
    assert Patient.objects.get(mrn="RCC-200100").user.username == "ana.ruiz2"


def test_the_list_reads_a_fixed_number_of_queries_however_many_enrolments(as_coordinator, team_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_coordinator.get(ENROLMENTS).status_code == 200
        return len(captured)

    as_coordinator.post(ENROL, enrol_data(team_a, mrn="RCC-1", caregivers=[CARLOS]))
    few = queries()
    for n in range(2, 6):
        as_coordinator.post(ENROL, enrol_data(team_a, mrn=f"RCC-{n}", caregivers=[{**CARLOS, "email": f"c{n}@x.test"}]))
    assert Patient.objects.count() == 5
    assert queries() == few


# --- The delivery status stored on the invitation -------------------------------------------------------------------

def test_an_invitation_is_pending_from_the_moment_its_message_is_written(as_coordinator, team_a):
    as_coordinator.post(ENROL, enrol_data(team_a))
    ana = Invitation.objects.get(user__username="ana.ruiz")
    assert (ana.channel, ana.delivery_status) == ("sms", DeliveryStatus.PENDING) and ana.delivery_changed_at
    unreachable = UserFactory(role=Role.CAREGIVER, phone="", email="")  # no phone, no email: no message
    invitation = invitation_issue(user=unreachable, patient=ana.patient)
    invitation.refresh_from_db()
    assert (invitation.channel, invitation.delivery_status) == ("", DeliveryStatus.NOT_APPLICABLE)


def test_an_invitation_sms_sent_by_the_delivery_task_marks_the_invitation_sent(
        as_coordinator, team_a, outside_calls, eager_tasks):
    as_coordinator.post(ENROL, enrol_data(team_a))
    row = Notification.objects.get(kind="invitation")
    assert notification_deliver_task.delay(row.pk).get() == "sent"
    row.refresh_from_db()
    invitation = Invitation.objects.get()
    assert len(outside_calls.sms()) == 1
    assert invitation.delivery_status == DeliveryStatus.SENT and invitation.delivery_changed_at == row.sent_at


def test_an_invitation_accepted_before_its_message_went_out_is_marked_failed(
        as_coordinator, team_a, outside_calls, eager_tasks):
    as_coordinator.post(ENROL, enrol_data(team_a))
    Invitation.objects.update(accepted_at=timezone.now())
    row = Notification.objects.get(kind="invitation")
    assert notification_deliver_task.delay(row.pk).get() == "failed"
    row.refresh_from_db()
    assert row.status == NotificationStatus.FAILED and "accepted" in row.last_error and outside_calls.sms() == []
    assert Invitation.objects.get().delivery_status == DeliveryStatus.FAILED


def test_a_transient_failure_leaves_the_invitation_pending(as_coordinator, team_a, outside_calls):
    as_coordinator.post(ENROL, enrol_data(team_a))
    outside_calls.fail_with.append(DeliveryError("provider busy", permanent=False))
    assert notification_deliver(notification_id=Notification.objects.get(kind="invitation").pk) == "retry"
    assert Invitation.objects.get().delivery_status == DeliveryStatus.PENDING


def test_recording_an_outcome_takes_uuids_in_one_query_and_ignores_what_is_not_one(
        as_coordinator, team_a, django_assert_num_queries):
    as_coordinator.post(ENROL, enrol_data(team_a, caregivers=[CARLOS]))
    ana, carlos = (Invitation.objects.get(user__username=name) for name in ("ana.ruiz", "carlos.ruiz"))
    with django_assert_num_queries(1):
        assert invitation_delivery_record(invitation_uuids=[str(ana.uuid), carlos.uuid, "not-a-uuid", None],
                                          status="failed") == 2
    assert set(Invitation.objects.values_list("delivery_status", flat=True)) == {DeliveryStatus.FAILED}
    with django_assert_num_queries(0):
        assert invitation_delivery_record(invitation_uuids=["nonsense"], status="sent") == 0
    with pytest.raises(ValueError):
        invitation_delivery_record(invitation_uuids=[ana.uuid], status="pending")


def test_the_list_shows_the_status_stored_on_the_invitation_in_a_fixed_number_of_queries(as_coordinator, team_a):
    """The page reads the invitations' own status (the notification rows are not consulted): the same
    number of queries for 1 invitation as for 5."""
    def page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            response = as_coordinator.get(ENROLMENTS)
        assert response.status_code == 200
        return response.content.decode(), len(captured)

    as_coordinator.post(ENROL, enrol_data(team_a, mrn="RCC-1", phone="", email="p1@x.test"))
    Invitation.objects.update(delivery_status=DeliveryStatus.SENT)
    html, one = page()
    assert "Invitation sent by email to p•••@x.test" in html
    for n in range(2, 6):
        as_coordinator.post(ENROL, enrol_data(team_a, mrn=f"RCC-{n}", phone="", email=f"p{n}@x.test"))
    assert Invitation.objects.count() == 5
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.PENDING}
    Invitation.objects.filter(patient__mrn__in=["RCC-2", "RCC-3"]).update(delivery_status=DeliveryStatus.FAILED)
    Invitation.objects.filter(patient__mrn="RCC-4").update(delivery_status=DeliveryStatus.SENT)
    html, five = page()
    assert five == one
    assert html.count("The invitation could not be delivered") == 2
    assert html.count("Invitation sent by email") == 2
    assert html.count("Invitation waiting to be sent") == 1  # RCC-5, still pending
