"""Patient data kept out of places it does not belong, through the full stack:

* outbox rows (kept with the alert for the retention period) hold no phone number or email address: the
  channels read the address from the recipient when sending, and a migration blanks the old rows;
* staff searches (a name, an MRN) never go in a URL (the browser history, the access log, the audit path):
  the forms POST with CSRF and work without JavaScript;
* no authenticated response may be cached (`Cache-Control: no-store`)."""


import datetime as dt
import importlib
import json

import pytest
import time_machine
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.models import Window
from monitoring.services.intake import checkin_submit
from notifications.models import Notification
from notifications.services.digest import window_ends_notify
from notifications.tasks import reminders_advance_due_task
from tests.factories import CourseFactory, PatientFactory
from tests.notifications.notif_support import (
    CAR_T_NORMAL,
    local,
    make_notification,
    reachable,
)
from tests.security.authz_support import team_a_records, token_client
from tracker.models import AuditEvent, CheckIn

NY = "America/New_York"
RECORD_PHONE, RECORD_EMAIL = "+15550107788", "maria.home@example.test"
CAREGIVER_EMAIL = "ana.carer@example.test"


@pytest.fixture
def reachable_family(patient, caregiver):
    """Maria's enrolment record holds her phone and email; her caregiver is reached by email."""
    patient.phone, patient.email = RECORD_PHONE, RECORD_EMAIL
    patient.save()
    reachable(patient.user, email="maria.account@example.test", phone="+15550100000")
    reachable(caregiver, email=CAREGIVER_EMAIL, phone="")
    return patient


def contact_details_in_outbox() -> list[tuple]:
    rows = Notification.objects.values_list("pk", "context")
    return [(pk, context) for pk, context in rows
            if {"phone", "email"} & set(context)
            or any(v in json.dumps(context) for v in (RECORD_PHONE, RECORD_EMAIL, CAREGIVER_EMAIL))]


def test_reminders_keep_no_address_in_the_outbox_and_still_reach_the_right_one(
        reachable_family, caregiver, eager_tasks, outside_calls, mailoutbox, django_capture_on_commit_callbacks):
    patient = reachable_family
    day = timezone.localdate() + dt.timedelta(days=1)
    with time_machine.travel(local(NY, day.year, day.month, day.day, 9, 0), tick=False):
        checkin_submit(patient=patient, entered_by=patient.user, channel="api", values={"temperature_c": 37})
    after = day + dt.timedelta(days=1)
    with time_machine.travel(local(NY, after.year, after.month, after.day, 20, 0), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        reminders_advance_due_task.delay().get()
    reminders = Notification.objects.filter(kind="reminder")
    assert {(r.recipient_id, r.channel) for r in reminders if r.channel != "inapp"} == {
        (patient.user_id, "sms"), (caregiver.pk, "email")}
    assert contact_details_in_outbox() == []
    assert [sms["to"] for sms in outside_calls.sms()] == [RECORD_PHONE]  # the patient's record, read at send time
    assert [message.to for message in mailoutbox] == [[CAREGIVER_EMAIL]]


def test_window_end_notices_keep_no_address_in_the_outbox(reachable_family, caregiver):
    patient = reachable_family
    window = Window.objects.get(course__patient=patient, kind="driving")
    end = window.ends_on
    assert window_ends_notify(now=local(NY, end.year, end.month, end.day, 12, 0)) >= 1
    assert Notification.objects.filter(kind="window_end", channel="sms", recipient=patient.user).exists()
    assert contact_details_in_outbox() == []


def test_the_channels_read_the_address_from_the_recipient(reachable_family, caregiver, outside_calls, mailoutbox,
                                                           nurse):
    from notifications.channels.email import EmailChannel
    from notifications.channels.sms import SmsChannel

    patient = reachable_family
    reachable(nurse, email="nurse.ward@example.test", phone="+15550109999")
    SmsChannel().send(make_notification(recipient=patient.user, patient=patient, channel="sms", kind="reminder",
                                        context={"link": f"/patients/{patient.uuid}/checkin/"}))
    SmsChannel().send(make_notification(recipient=nurse, patient=patient, channel="sms", urgency="emergency"))
    EmailChannel().send(make_notification(recipient=caregiver, patient=patient, channel="email", kind="reminder",
                                          context={"link": f"/patients/{patient.uuid}/checkin/"}))
    assert [sms["to"] for sms in outside_calls.sms()] == [RECORD_PHONE, "+15550109999"]
    assert [message.to for message in mailoutbox] == [[CAREGIVER_EMAIL]]


def test_the_migration_blanks_addresses_already_in_the_outbox(patient):
    kept = make_notification(recipient=patient.user, kind="reminder", channel="sms",
                             context={"link": "/patients/x/checkin/", "phone": RECORD_PHONE, "email": RECORD_EMAIL})
    untouched = make_notification(recipient=patient.user, context={"link": "/staff/alerts/y/", "minutes": 5})
    migration = importlib.import_module("notifications.migrations.0006_context_without_contact_details")
    migration.forward(django_apps, None)
    kept.refresh_from_db()
    untouched.refresh_from_db()
    assert kept.context == {"link": "/patients/x/checkin/"}
    assert untouched.context == {"link": "/staff/alerts/y/", "minutes": 5}


# --- Searches stay out of URLs ------------------------------------------------------------------------------------

@pytest.fixture
def ward(patient, team_a):
    other = PatientFactory(care_team=team_a, first_name="Henrik", last_name="Bergstrom", mrn="MRN-552211")
    CourseFactory(patient=other)
    return patient, other


def staff_client(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_the_patient_search_is_posted_and_finds_by_name_or_mrn(ward, nurse):
    maria, henrik = ward
    client = staff_client(nurse)
    page = client.get("/staff/patients/").content.decode()
    assert '<form method="post" class="row" role="search">' in page and "csrfmiddlewaretoken" in page
    found = client.post("/staff/patients/", {"q": "lopez"}).content.decode()
    assert maria.last_name in found and henrik.last_name not in found
    found = client.post("/staff/patients/", {"q": henrik.mrn}).content.decode()
    assert henrik.last_name in found and maria.last_name not in found
    rows = AuditEvent.objects.filter(path__startswith="/staff/patients/")
    assert rows.count() == 3 and not rows.filter(path__icontains="lopez").exists()
    assert not rows.filter(path__icontains=henrik.mrn).exists()


def test_a_search_in_the_url_is_ignored(ward, nurse):
    maria, henrik = ward
    page = staff_client(nurse).get("/staff/patients/", {"q": "lopez"}).content.decode()
    assert maria.last_name in page and henrik.last_name in page  # not filtered: nothing searched for


def test_the_patient_search_needs_the_csrf_token(ward, nurse):
    client = staff_client(nurse, enforce_csrf_checks=True)
    assert client.post("/staff/patients/", {"q": "lopez"}).status_code == 403


def test_the_dashboard_search_is_posted_and_kept_out_of_the_url(ward, nurse, team_a):
    maria, henrik = ward
    client = staff_client(nurse)
    page = client.get("/staff/").content.decode()
    assert '<form method="post" class="filters row"' in page
    response = client.post("/staff/", {"q": "Bergstrom", "team": str(team_a.uuid), "therapy": ""})
    assert response.status_code == 302
    location = response["Location"]
    assert "Bergstrom" not in location and "q=" not in location
    assert location == f"/staff/?team={team_a.uuid}"  # the other filters can be bookmarked
    page = client.get(location).content.decode()
    assert henrik.last_name in page and maria.last_name not in page
    assert 'value="Bergstrom"' in page  # the field shows what is searched for
    polled = client.get(location, headers={"HX-Request": "true"}).content.decode()  # htmx keeps the search
    assert henrik.last_name in polled and maria.last_name not in polled
    assert not AuditEvent.objects.filter(path__icontains="bergstrom").exists()

    client.post("/staff/", {"q": ""})  # an empty search clears it
    page = client.get("/staff/").content.decode()
    assert maria.last_name in page and henrik.last_name in page


def test_a_dashboard_search_in_the_url_is_ignored(ward, nurse):
    maria, henrik = ward
    page = staff_client(nurse).get("/staff/", {"q": "Bergstrom"}).content.decode()
    assert maria.last_name in page and henrik.last_name in page


# --- Nothing authenticated is cached ------------------------------------------------------------------------------

@pytest.fixture
def site(patient, nurse, admin_user):
    records = team_a_records(patient)
    return records, nurse, admin_user


def test_every_authenticated_response_says_no_store(site):
    records, nurse, admin_user = site
    patient = records.patient
    maria, staff, admin = staff_client(patient.user), staff_client(nurse), staff_client(admin_user)
    responses = [
        maria.get(f"/patients/{patient.uuid}/"), maria.get(f"/patients/{patient.uuid}/checkins/{records.checkin.uuid}/"),
        maria.get("/patients/00000000-0000-0000-0000-000000000000/"),  # a 404 too
        staff.get("/staff/"), staff.get("/staff/patients/"), staff.get(f"/staff/patients/{patient.uuid}/"),
        staff.get(f"/staff/alerts/{records.alert.uuid}/"), staff.get("/staff/", headers={"HX-Request": "true"}),
        admin.get("/admin/tracker/patient/"),
        token_client(nurse).get("/api/v1/patients/"), token_client(nurse).get(f"/api/v1/checkins/{records.checkin.uuid}/"),
        token_client(patient.user).get(f"/api/v1/patients/{patient.uuid}/export/"),
        token_client(nurse).get("/api/v1/patients/00000000-0000-0000-0000-000000000000/"),
    ]
    session_api = APIClient()
    session_api.force_login(nurse)
    responses.append(session_api.get("/api/v1/alerts/"))
    for response in responses:
        assert response["Cache-Control"] == "no-store", response.wsgi_request.path
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token forged")
    assert bad_token.get("/api/v1/patients/")["Cache-Control"] == "no-store"


def test_a_checkin_post_answer_is_not_stored_either(patient):
    response = token_client(patient.user).post("/api/v1/checkins/", CAR_T_NORMAL, format="json")
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    assert CheckIn.objects.count() == 1
