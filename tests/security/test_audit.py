"""The audit trail of patient data, through the full stack: every read or change of a chart is one
append-only AuditEvent row saying who (user, role), what (action, patient or patient_ids), how (method, path,
status code) and from where (REMOTE_ADDR). Denied and anonymous attempts are on record too; neither the
application, the admin nor raw SQL can change or remove a row."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.models import Alert
from tests.factories import CourseFactory, PatientFactory, UserFactory
from tests.monitoring.support import CAR_T_NORMAL
from tracker.models import ApiToken, AuditEvent, CheckIn, Role

IP = "203.0.113.9"
CHECKINS = "/api/v1/checkins/"
ALERTS = "/api/v1/alerts/"
FEVER = {**CAR_T_NORMAL, "temperature": "38.2"}  # clinical-rules §1: fever after CAR T → an alert


# --- Helpers ----------------------------------------------------------------------------------------------------

def page_client(user=None) -> Client:
    client = Client(REMOTE_ADDR=IP)
    if user is not None:
        client.force_login(user)
    return client


def api_client(user=None) -> APIClient:
    """An API client signed in the way apps are: with an issued token."""
    client = APIClient(REMOTE_ADDR=IP)
    if user is not None:
        _, raw = ApiToken.issue(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def mark() -> int:
    return AuditEvent.objects.aggregate(m=Max("pk"))["m"] or 0


def only_event_since(since: int) -> AuditEvent:
    rows = list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))
    assert len(rows) == 1, [str(r) for r in rows]
    return rows[0]


def assert_event(event: AuditEvent, *, user, action: str, method: str, path: str, status: int, patient=None,
                 patient_ids=()):
    assert event.user_id == (user.pk if user else None)
    assert event.username == (user.username if user else "")
    assert event.role == (user.role if user else "")
    assert event.patient_id == (patient.pk if patient else None)
    assert event.patient_ids == sorted(patient_ids)
    assert event.action == action
    assert event.method == method
    assert event.path == path
    assert event.status_code == status
    assert event.ip_address == IP
    assert event.at is not None


@pytest.fixture
def checkin(patient):
    """A check-in the patient sent from the app (its own audit row is left behind by `mark()`)."""
    response = api_client(patient.user).post(CHECKINS, CAR_T_NORMAL, format="json")
    assert response.status_code == 201, response.json()
    return CheckIn.objects.get(uuid=response.json()["id"])


@pytest.fixture
def alert(patient):
    response = api_client(patient.user).post(CHECKINS, FEVER, format="json")
    assert response.status_code == 201, response.json()
    return Alert.objects.get(uuid=response.json()["alerts"][0]["id"])


# --- Reads ------------------------------------------------------------------------------------------------------

def test_patient_opening_her_home_page_is_recorded_with_who_what_and_where(patient):
    client = page_client(patient.user)
    since = mark()
    response = client.get(f"/patients/{patient.uuid}/")
    assert response.status_code == 200
    assert_event(only_event_since(since), user=patient.user, patient=patient, action="view", method="GET",
                 path=f"/patients/{patient.uuid}/", status=200)


def test_caregiver_opening_a_checkin_detail_page_is_recorded(caregiver, patient, checkin):
    client = page_client(caregiver)
    path = f"/patients/{patient.uuid}/checkins/{checkin.uuid}/"
    since = mark()
    assert client.get(path).status_code == 200
    assert_event(only_event_since(since), user=caregiver, patient=patient, action="view", method="GET", path=path,
                 status=200)


def test_nurse_opening_the_staff_patient_detail_is_recorded(nurse, patient, checkin):
    client = page_client(nurse)
    path = f"/staff/patients/{patient.uuid}/"
    since = mark()
    assert client.get(path).status_code == 200
    assert_event(only_event_since(since), user=nurse, patient=patient, action="view", method="GET", path=path,
                 status=200)


def test_reading_a_checkin_through_the_api_is_recorded(physician, patient, checkin):
    client = api_client(physician)
    path = f"{CHECKINS}{checkin.uuid}/"
    since = mark()
    assert client.get(path).status_code == 200
    assert_event(only_event_since(since), user=physician, patient=patient, action="view", method="GET", path=path,
                 status=200)


def test_listing_checkins_records_the_patients_shown_on_that_page(nurse, patient, other_patient, team_a):
    second = PatientFactory(care_team=team_a, first_name="Ana", last_name="Abbott")
    CourseFactory(patient=second)
    now = timezone.now()
    for who, hours_ago in ((patient, 3), (second, 2), (other_patient, 1)):
        response = api_client(who.user).post(
            CHECKINS, {"temperature": "37.0", "recorded_at": (now - dt.timedelta(hours=hours_ago)).isoformat()},
            format="json")
        assert response.status_code == 201, response.json()
    client = api_client(nurse)

    since = mark()
    response = client.get(CHECKINS)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2  # the other team's patient is not shown ...
    assert_event(only_event_since(since), user=nurse, action="list", method="GET", path=CHECKINS, status=200,
                 patient_ids=[patient.pk, second.pk])  # ... nor recorded

    since = mark()
    response = client.get(CHECKINS, {"page_size": 1})
    assert [row["patient"] for row in response.json()["results"]] == [str(second.uuid)]  # newest first
    assert_event(only_event_since(since), user=nurse, action="list", method="GET", path=f"{CHECKINS}?page_size=1",
                 status=200, patient_ids=[second.pk])


# --- Changes ----------------------------------------------------------------------------------------------------

def test_posting_a_checkin_through_the_api_is_recorded_as_create(caregiver, patient):
    client = api_client(caregiver)
    since = mark()
    response = client.post(CHECKINS, {"patient": str(patient.uuid), "temperature": "37.1"}, format="json")
    assert response.status_code == 201, response.json()
    assert_event(only_event_since(since), user=caregiver, patient=patient, action="create", method="POST",
                 path=CHECKINS, status=201)


def test_posting_a_checkin_from_the_page_is_recorded_as_create(patient):
    client = page_client(patient.user)
    path = f"/patients/{patient.uuid}/checkin/"
    since = mark()
    response = client.post(path, {"temperature": "37.1", "temperature_unit": "C"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_event(only_event_since(since), user=patient.user, patient=patient, action="create", method="POST",
                 path=path, status=302)


def test_amending_a_checkin_is_recorded_as_amend(nurse, patient, checkin):
    client = api_client(nurse)
    path = f"{CHECKINS}{checkin.uuid}/amend/"
    since = mark()
    response = client.post(path, {"reason": "Pulse typed wrong", "heart_rate": 88}, format="json")
    assert response.status_code == 201, response.json()
    assert_event(only_event_since(since), user=nurse, patient=patient, action="amend", method="POST", path=path,
                 status=201)


def test_acknowledging_and_resolving_an_alert_through_the_api_are_recorded(nurse, patient, alert):
    client = api_client(nurse)
    path = f"{ALERTS}{alert.uuid}/acknowledge/"
    since = mark()
    assert client.post(path, {"note": "Calling her now"}, format="json").status_code == 200
    assert_event(only_event_since(since), user=nurse, patient=patient, action="acknowledge", method="POST",
                 path=path, status=200)

    path = f"{ALERTS}{alert.uuid}/resolve/"
    since = mark()
    assert client.post(path, {"note": "Seen in clinic; fever settled"}, format="json").status_code == 200
    assert_event(only_event_since(since), user=nurse, patient=patient, action="resolve", method="POST", path=path,
                 status=200)


def test_acknowledging_and_resolving_an_alert_from_the_staff_page_are_recorded(charge_nurse, patient, alert):
    client = page_client(charge_nurse)
    for action, note in (("acknowledge", "On it"), ("resolve", "Settled after paracetamol")):
        path = f"/staff/alerts/{alert.uuid}/{action}/"
        since = mark()
        assert client.post(path, {"note": note}).status_code == 302
        assert_event(only_event_since(since), user=charge_nurse, patient=patient, action=action, method="POST",
                     path=path, status=302)
    assert Alert.objects.get(pk=alert.pk).status == "resolved"


def test_an_export_is_recorded_as_export(admin_user, patient, checkin):
    client = api_client(admin_user)
    path = f"/api/v1/patients/{patient.uuid}/export/"
    since = mark()
    assert client.get(path).status_code == 200
    assert_event(only_event_since(since), user=admin_user, patient=patient, action="export", method="GET", path=path,
                 status=200)


# --- Denied and anonymous attempts ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["patient page", "checkin page", "staff page", "api checkin", "api patient",
                                  "api export"])
def test_another_teams_nurse_is_refused_with_404_and_the_attempt_is_recorded(other_nurse, patient, checkin, kind):
    path = {
        "patient page": f"/patients/{patient.uuid}/",
        "checkin page": f"/patients/{patient.uuid}/checkins/{checkin.uuid}/",
        "staff page": f"/staff/patients/{patient.uuid}/",
        "api checkin": f"{CHECKINS}{checkin.uuid}/",
        "api patient": f"/api/v1/patients/{patient.uuid}/",
        "api export": f"/api/v1/patients/{patient.uuid}/export/",
    }[kind]
    client = api_client(other_nurse) if path.startswith("/api/") else page_client(other_nurse)
    since = mark()
    assert client.get(path).status_code == 404
    event = only_event_since(since)
    # The row names the patient she tried to open (she is told nothing: 404).
    assert_event(event, user=other_nurse, patient=patient, action="view", method="GET", path=path, status=404)
    assert event.role == Role.NURSE


@pytest.mark.parametrize(("path", "status"), [
    ("/patients/{patient}/", 302),  # to the sign-in page
    ("/staff/patients/{patient}/", 302),
    ("/api/v1/checkins/{checkin}/", 401),
    ("/api/v1/patients/{patient}/export/", 401),
])
def test_anonymous_attempts_are_recorded_without_a_user(patient, checkin, path, status):
    path = path.format(patient=patient.uuid, checkin=checkin.uuid)
    client = api_client(None) if path.startswith("/api/") else page_client(None)
    since = mark()
    assert client.get(path).status_code == status
    assert_event(only_event_since(since), user=None, patient=patient, action="view", method="GET", path=path,
                 status=status)


def test_an_anonymous_post_is_recorded_without_a_user(patient):
    since = mark()
    response = api_client(None).post(CHECKINS, {"patient": str(patient.uuid), "temperature": "39.0"}, format="json")
    assert response.status_code == 401
    assert_event(only_event_since(since), user=None, action="create", method="POST", path=CHECKINS, status=401)
    assert not CheckIn.objects.exists()


def test_a_bad_token_is_recorded_as_an_anonymous_attempt(patient, checkin):
    client = APIClient(REMOTE_ADDR=IP)
    client.credentials(HTTP_AUTHORIZATION="Token forged-or-stolen")
    path = f"{CHECKINS}{checkin.uuid}/"
    since = mark()
    assert client.get(path).status_code == 401
    assert_event(only_event_since(since), user=None, patient=patient, action="view", method="GET", path=path,
                 status=401)


# --- Append-only ------------------------------------------------------------------------------------------------

@pytest.fixture
def recorded(patient):
    page_client(patient.user).get(f"/patients/{patient.uuid}/")
    return AuditEvent.objects.get()


def test_saving_an_existing_audit_row_raises_and_changes_nothing(recorded):
    recorded.action = "nothing-to-see"
    with pytest.raises(ValueError, match="append-only"):
        recorded.save()
    assert AuditEvent.objects.get(pk=recorded.pk).action == "view"


def test_deleting_an_audit_row_raises_and_keeps_it(recorded):
    with pytest.raises(ValueError, match="append-only"):
        recorded.delete()
    assert AuditEvent.objects.filter(pk=recorded.pk).exists()


@pytest.mark.parametrize("sql", [
    "UPDATE tracker_auditevent SET action = 'tampered' WHERE id = %s",
    "UPDATE tracker_auditevent SET user_id = NULL, username = '' WHERE id = %s",
    "DELETE FROM tracker_auditevent WHERE id = %s",
])
def test_postgresql_refuses_raw_update_and_delete_on_the_audit_table(recorded, sql):
    assert connection.vendor == "postgresql"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [recorded.pk])
    row = AuditEvent.objects.get(pk=recorded.pk)  # the savepoint rolled back: the database is still usable
    assert (row.action, row.username) == ("view", recorded.username)


def test_postgresql_refuses_queryset_update_and_delete_that_bypass_the_model(recorded):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=recorded.pk).update(status_code=200, path="/nothing/")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=recorded.pk, path=recorded.path).exists()


# --- The admin ----------------------------------------------------------------------------------------------------

CHANGELIST = "/admin/tracker/auditevent/"


@pytest.fixture
def trail(patient, other_patient, nurse, other_nurse):
    """Each nurse opens her own patient's page twice; the patient opens her own once."""
    nurse.username, other_nurse.username = "nurse.alvarez", "nurse.brooks"
    nurse.save()
    other_nurse.save()
    patient.mrn, other_patient.mrn = "MRN-401122", "MRN-778899"
    patient.save()
    other_patient.save()
    for user, who in ((nurse, patient), (nurse, patient), (other_nurse, other_patient), (other_nurse, other_patient),
                      (patient.user, patient)):
        assert page_client(user).get(f"/patients/{who.uuid}/").status_code == 200
    return AuditEvent.objects.count()


def changelist_rows(client, **params) -> list[AuditEvent]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def admin_client_(admin_user):
    return page_client(admin_user)


def test_admin_changelist_filters_by_patient(admin_client_, trail, patient, other_patient):
    rows = changelist_rows(admin_client_, patient__id__exact=patient.pk)
    assert len(rows) == 3 and {r.patient_id for r in rows} == {patient.pk}
    rows = changelist_rows(admin_client_, q="MRN-778899")
    assert len(rows) == 2 and {r.patient_id for r in rows} == {other_patient.pk}


def test_admin_changelist_filters_by_user(admin_client_, trail, nurse, other_nurse):
    rows = changelist_rows(admin_client_, user__id__exact=other_nurse.pk)
    assert len(rows) == 2 and {r.user_id for r in rows} == {other_nurse.pk}
    rows = changelist_rows(admin_client_, q="nurse.alvarez")
    assert len(rows) == 2 and {r.user_id for r in rows} == {nurse.pk}


def test_admin_offers_no_add_change_or_delete_of_audit_rows(admin_client_, trail):
    event = AuditEvent.objects.order_by("pk").first()
    page = admin_client_.get(CHANGELIST)
    html = page.content.decode()
    assert f"{CHANGELIST}add/" not in html
    assert "delete_selected" not in html
    assert admin_client_.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client_.post(f"{CHANGELIST}add/", {"action": "view", "method": "GET", "path": "/x/",
                                                    "status_code": 200}).status_code == 403
    assert admin_client_.get(f"{CHANGELIST}{event.pk}/delete/").status_code == 403
    assert admin_client_.post(f"{CHANGELIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    detail = admin_client_.get(f"{CHANGELIST}{event.pk}/change/")
    assert detail.status_code == 200  # view only
    assert 'name="_save"' not in detail.content.decode()
    admin_client_.post(f"{CHANGELIST}{event.pk}/change/", {"action": "tampered", "path": "/nothing/"})
    admin_client_.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    event_after = AuditEvent.objects.get(pk=event.pk)
    assert (event_after.action, event_after.path) == (event.action, event.path)


def test_the_admin_itself_is_audited_when_it_shows_patient_data(admin_user, trail):
    client = page_client(admin_user)
    since = mark()
    assert client.get(CHANGELIST).status_code == 200
    event = only_event_since(since)
    assert (event.user_id, event.role, event.path, event.status_code) == (admin_user.pk, Role.ADMIN, CHANGELIST, 200)


def test_a_staff_member_without_admin_rights_cannot_open_the_audit_trail(trail, db):
    viewer = UserFactory(role=Role.NURSE, is_staff=True)  # may enter the admin, holds no audit permission
    assert page_client(viewer).get(CHANGELIST).status_code == 403


# --- Failed sign-ins and the second factor --------------------------------------------------------------------------

def test_a_failed_sign_in_on_the_page_is_recorded_with_the_username_tried(patient):
    since = mark()
    response = page_client().post("/accounts/login/", {"username": patient.user.username, "password": "not-it-at-all"})
    assert response.status_code == 200
    event = only_event_since(since)
    assert (event.action, event.user_id, event.username, event.role) == ("sign_in_failed", None,
                                                                         patient.user.username, "")
    assert (event.method, event.path, event.status_code, event.ip_address) == ("POST", "/accounts/login/", 200, IP)
    assert event.two_factor == "not_applicable"


def test_a_failed_and_a_locked_out_token_request_are_recorded(settings, patient):
    client = APIClient(REMOTE_ADDR=IP)
    since = mark()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"username": patient.user.username, "password": "wrong-wrong-1"},
                    format="json")
    client.post("/api/v1/auth/token/", {"username": patient.user.username, "password": "correct-horse-battery"},
                format="json")
    rows = list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))
    assert [r.action for r in rows] == ["sign_in_failed"] * (settings.AXES_FAILURE_LIMIT + 1)
    assert rows[0].status_code == 400 and rows[-1].status_code == 429
    assert {(r.username, r.ip_address, r.user_id) for r in rows} == {(patient.user.username, IP, None)}


def test_a_successful_sign_in_writes_no_failure(patient):
    since = mark()
    assert page_client().post("/accounts/login/", {"username": patient.user.username,
                                                   "password": "correct-horse-battery"}).status_code == 302
    assert not AuditEvent.objects.filter(pk__gt=since, action="sign_in_failed").exists()


def test_every_row_says_whether_the_sign_in_had_its_second_factor(settings, patient, nurse, checkin):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.security.test_accounts import code_for

    path = f"{CHECKINS}{checkin.uuid}/"
    states = {}
    since = mark()
    api_client(patient.user).get(path)
    states["patient"] = only_event_since(since).two_factor
    since = mark()
    api_client(None).get(path)
    states["anonymous"] = only_event_since(since).two_factor
    since = mark()
    api_client(nurse).get(path)  # a token issued without a code (two-factor not required here)
    states["token without a code"] = only_event_since(since).two_factor
    _token, raw = ApiToken.issue(nurse, two_factor=True)
    client = APIClient(REMOTE_ADDR=IP)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    since = mark()
    client.get(path)
    states["token with a code"] = only_event_since(since).two_factor
    since = mark()
    page_client(nurse).get(f"/staff/patients/{checkin.patient.uuid}/")
    states["password-only session"] = only_event_since(since).two_factor

    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    browser = Client(REMOTE_ADDR=IP)
    browser.post("/accounts/login/", {"username": nurse.username, "password": "correct-horse-battery"})
    assert browser.post("/accounts/2fa/", {"code": code_for(device)}).status_code == 302
    since = mark()
    browser.get(f"/staff/patients/{checkin.patient.uuid}/")
    states["verified session"] = only_event_since(since).two_factor
    assert states == {
        "patient": "not_applicable", "anonymous": "not_applicable", "token without a code": "not_verified",
        "token with a code": "verified", "password-only session": "not_verified", "verified session": "verified",
    }
