"""Two-factor for staff holds on every route, through the full stack (REQUIRE_STAFF_2FA on).

A staff password alone used to reach the whole API with the session cookie (the middleware skipped /api/),
and enrolling an authenticator needed nothing but that password. Now a staff session without its second
factor gets 403 {"type": "two_factor_required"} from every API route (from the middleware, and from DRF's
session authentication even without it), staff tokens issued without a code are refused, and the first
authenticator is set up only with a single-use, expiring enrolment code (emailed to the address on file or
issued by an administrator)."""

import base64
import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.security.authz_support import FEVER, team_a_records
from tests.security.test_accounts import PASSWORD, TOKEN, TWO_FACTOR, code_for, enrol, sign_in
from tracker.accounts import enrolment_code_issue
from tracker.models import ApiToken, AuditEvent, EnrolmentCode
from tracker.models.users import ENROLMENT_MAX_FAILURES, EnrolmentChannel, hash_key, normalise_enrolment_code

TWO_FACTOR_MIDDLEWARE = "tracker.security.StaffTwoFactorMiddleware"


@pytest.fixture(autouse=True)
def two_factor_required(settings):
    settings.REQUIRE_STAFF_2FA = True


@pytest.fixture
def records(patient, nurse, physician, admin_user):
    return team_a_records(patient)


def password_only_session(user) -> APIClient:
    """What someone holding only the staff password gets: a signed-in session cookie, no second factor."""
    client = APIClient()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def assert_two_factor_required(response):
    assert response.status_code == 403, response.content[:300]
    body = response.json()
    assert set(body) == {"type", "detail", "fields"}
    assert body["type"] == "two_factor_required"
    assert body["fields"] == {}


def staff_api_calls(records):
    """What the finding named: read every patient, resolve alerts, clear windows, export records."""
    p = records.patient.uuid
    return [
        ("GET", "/api/v1/patients/", None),
        ("GET", f"/api/v1/patients/{p}/", None),
        ("GET", "/api/v1/checkins/", None),
        ("GET", "/api/v1/alerts/", None),
        ("POST", f"/api/v1/alerts/{records.alert.uuid}/resolve/", {"note": "Resolved without a second factor"}),
        ("POST", f"/api/v1/windows/{records.window.uuid}/clear/", {"reason": "Cleared without a second factor"}),
        ("GET", f"/api/v1/patients/{p}/export/", None),
        ("GET", "/api/v1/me/", None),
    ]


def send(client, method, path, body):
    return client.get(path) if method == "GET" else client.post(path, body, format="json")


@pytest.mark.parametrize("who", ["nurse", "physician", "admin_user"])
def test_a_staff_password_alone_reaches_no_api_route_through_the_session(request, records, who):
    client = password_only_session(request.getfixturevalue(who))
    for method, path, body in staff_api_calls(records):
        assert_two_factor_required(send(client, method, path, body))
    records.alert.refresh_from_db()
    records.window.refresh_from_db()
    assert records.alert.status == "open"
    assert records.window.cleared_on is None


def test_a_junk_bearer_header_does_not_let_the_session_through(records, physician):
    """TokenAuthentication ignores `Bearer ...` (not its keyword) and DRF falls through to the session."""
    client = password_only_session(physician)
    client.credentials(HTTP_AUTHORIZATION="Bearer junk")
    for method, path, body in staff_api_calls(records):
        assert_two_factor_required(send(client, method, path, body))


def test_drf_session_authentication_refuses_an_unverified_staff_session_on_its_own(records, physician):
    """Even with the middleware out of the way, DRF's session authentication itself refuses."""
    without = [m for m in django_settings.MIDDLEWARE if m != TWO_FACTOR_MIDDLEWARE]
    with override_settings(MIDDLEWARE=without):
        for header in ({}, {"HTTP_AUTHORIZATION": "Bearer junk"}):
            client = password_only_session(physician)
            client.credentials(**header)
            for method, path, body in staff_api_calls(records):
                assert_two_factor_required(send(client, method, path, body))
    records.window.refresh_from_db()
    assert records.window.cleared_on is None


def test_a_verified_staff_session_uses_the_api(records, nurse):
    client = password_only_session(nurse)
    enrol(client, nurse)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=nurse)
    assert client.post(TWO_FACTOR, {"code": code_for(device)}).status_code == 302
    assert client.get("/api/v1/patients/").status_code == 200
    assert client.post(f"/api/v1/alerts/{records.alert.uuid}/acknowledge/", {}, format="json").status_code == 200


def test_patients_sessions_are_not_asked_for_a_second_factor_on_the_api(records, patient):
    client = password_only_session(patient.user)
    assert client.get("/api/v1/checkins/").status_code == 200
    assert client.post("/api/v1/checkins/", FEVER, format="json").status_code == 201


def test_what_an_unverified_staff_session_may_still_reach(records, nurse):
    client = password_only_session(nurse)
    assert client.get("/api/v1/ping/").status_code == 200
    response = client.post(TOKEN, {"username": nurse.username, "password": PASSWORD}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["otp"]  # asks for the code
    assert client.get("/static/css/site.css").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "es"}).status_code == 302
    assert client.get("/accounts/login/").status_code == 200
    assert client.get(TWO_FACTOR).status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


def test_pages_redirect_to_two_factor_and_htmx_gets_an_hx_redirect(records, nurse):
    client = password_only_session(nurse)
    response = client.get(f"/staff/patients/{records.patient.uuid}/?tab=chart&x=1")
    assert response.status_code == 302
    assert response["Location"] == f"{TWO_FACTOR}?next=/staff/patients/{records.patient.uuid}/%3Ftab%3Dchart%26x%3D1"
    response = client.get("/staff/", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response["HX-Redirect"] == TWO_FACTOR
    assert client.get("/admin/").status_code == 302


def test_a_staff_token_issued_without_a_code_is_refused(records, nurse):
    _token, raw = ApiToken.issue(nurse)  # before two-factor was required, say
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert_two_factor_required(client.get("/api/v1/patients/"))

    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    response = APIClient().post(TOKEN, {"username": nurse.username, "password": PASSWORD, "otp": code_for(device)},
                                format="json")
    assert response.status_code == 200
    assert ApiToken.objects.get(user=nurse, two_factor=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/patients/").status_code == 200


# --- First enrolment needs a second channel ------------------------------------------------------------------

def test_the_password_alone_never_shows_an_authenticator_key(nurse):
    client, _ = sign_in(nurse.username)
    page = client.get(TWO_FACTOR)
    assert page.status_code == 200
    html = page.content.decode()
    assert "enrolment code" in html.lower()
    assert "data:image/svg+xml" not in html
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    # Guessing at the setup step gets nowhere: no device, nothing confirmed.
    assert client.post(TWO_FACTOR, {"code": "123456"}).status_code == 400
    assert client.post(TWO_FACTOR, {"enrolment_code": "AAAAA-AAAAA"}).status_code == 400
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert client.get("/staff/").status_code == 302


def test_a_key_shown_before_enrolment_codes_existed_is_replaced_on_enrolment(nurse):
    """An unconfirmed device from the old flow: its key may have been seen by someone with the password."""
    old = TOTPDevice.objects.create(user=nurse, name="Authenticator app", confirmed=False)
    client, _ = sign_in(nurse.username)
    assert base64.b32encode(old.bin_key).decode() not in client.get(TWO_FACTOR).content.decode()
    assert client.post(TWO_FACTOR, {"code": code_for(old)}).status_code == 400  # the old key cannot confirm
    enrol(client, nurse)
    new = TOTPDevice.objects.get(user=nurse)
    assert new.pk != old.pk and new.bin_key != old.bin_key
    assert base64.b32encode(new.bin_key).decode() in client.get(TWO_FACTOR).content.decode()


def test_an_emailed_enrolment_code_works_once(nurse, mailoutbox):
    nurse.email = "nurse.okafor@hospital.example"
    nurse.save()
    client, _ = sign_in(nurse.username)
    response = client.post(TWO_FACTOR, {"send_email": "1"})
    assert response.status_code == 200
    assert "n***@hospital.example" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["nurse.okafor@hospital.example"]
    raw = re.search(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b", mailoutbox[0].body).group()
    assert client.post(TWO_FACTOR, {"enrolment_code": raw.lower()}).status_code == 302  # case does not matter
    assert TOTPDevice.objects.filter(user=nurse, confirmed=False).count() == 1

    other, _ = sign_in(nurse.username)
    assert other.post(TWO_FACTOR, {"enrolment_code": raw}).status_code == 400  # single use
    stored = EnrolmentCode.objects.get(user=nurse)
    assert stored.code_hash == hash_key(normalise_enrolment_code(raw)) and raw not in str(stored.__dict__)


def test_emailing_a_code_is_limited_and_can_be_turned_off(settings, nurse, mailoutbox):
    nurse.email = "nurse@hospital.example"
    nurse.save()
    client, _ = sign_in(nurse.username)
    assert client.post(TWO_FACTOR, {"send_email": "1"}).status_code == 200
    assert client.post(TWO_FACTOR, {"send_email": "1"}).status_code == 400  # a moment later: not again
    assert len(mailoutbox) == 1
    settings.TWO_FACTOR_ENROL_BY_EMAIL = False
    assert "Email me a code" not in client.get(TWO_FACTOR).content.decode()
    assert client.post(TWO_FACTOR, {"send_email": "1"}).status_code == 400
    assert len(mailoutbox) == 1


def test_an_enrolment_code_expires(nurse, settings):
    start = dt.datetime(2026, 5, 4, 14, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        raw = enrolment_code_issue(user=nurse, channel=EnrolmentChannel.ADMIN)
        clock.shift(dt.timedelta(minutes=settings.TWO_FACTOR_ENROLMENT_MINUTES, seconds=1))
        client, _ = sign_in(nurse.username)
        assert client.post(TWO_FACTOR, {"enrolment_code": raw}).status_code == 400
        assert not TOTPDevice.objects.filter(user=nurse).exists()


def test_too_many_wrong_enrolment_codes_void_the_open_one(nurse):
    raw = enrolment_code_issue(user=nurse, channel=EnrolmentChannel.ADMIN)
    client, _ = sign_in(nurse.username)
    for _ in range(ENROLMENT_MAX_FAILURES):
        assert client.post(TWO_FACTOR, {"enrolment_code": "WRONG-CODE1"}).status_code == 400
    assert client.post(TWO_FACTOR, {"enrolment_code": raw}).status_code == 400
    assert EnrolmentCode.objects.get(user=nurse).voided_at is not None
    assert AuditEvent.objects.filter(user=nurse, action="two_factor_enrolment_failed").count() == \
        ENROLMENT_MAX_FAILURES + 1


def test_a_new_code_voids_the_previous_one(nurse):
    first = enrolment_code_issue(user=nurse, channel=EnrolmentChannel.ADMIN)
    second = enrolment_code_issue(user=nurse, channel=EnrolmentChannel.ADMIN)
    client, _ = sign_in(nurse.username)
    assert client.post(TWO_FACTOR, {"enrolment_code": first}).status_code == 400
    assert client.post(TWO_FACTOR, {"enrolment_code": second}).status_code == 302


def test_the_admin_issues_a_code_shown_once(settings, admin_user, nurse):
    settings.REQUIRE_STAFF_2FA = False  # the administrator's own second factor is not the point here
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post("/admin/tracker/user/", {"action": "issue_enrolment_code", "_selected_action": [nurse.pk]})
    assert response.status_code == 200
    html = response.content.decode()
    code = EnrolmentCode.objects.get(user=nurse)
    assert code.issued_by == admin_user and code.channel == EnrolmentChannel.ADMIN
    raw = re.search(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", html).group(1)
    assert hash_key(normalise_enrolment_code(raw)) == code.code_hash
    assert raw not in admin.get(f"/admin/tracker/enrolmentcode/{code.pk}/change/").content.decode()

    settings.REQUIRE_STAFF_2FA = True
    client, _ = sign_in(nurse.username)
    assert client.post(TWO_FACTOR, {"enrolment_code": raw}).status_code == 302


def test_the_admin_action_is_for_one_staff_account(settings, admin_user, nurse, patient):
    settings.REQUIRE_STAFF_2FA = False
    admin = Client()
    admin.force_login(admin_user)
    for selected in ([patient.user.pk], [nurse.pk, admin_user.pk]):
        response = admin.post("/admin/tracker/user/", {"action": "issue_enrolment_code", "_selected_action": selected})
        assert response.status_code == 302
    assert not EnrolmentCode.objects.exists()


def test_the_first_administrator_gets_a_code_from_the_command_line(admin_user, capsys):
    call_command("issue_enrolment_code", admin_user.username)
    raw = capsys.readouterr().out.strip()
    client, _ = sign_in(admin_user.username)
    assert client.get("/admin/").status_code == 302
    assert client.post(TWO_FACTOR, {"enrolment_code": raw}).status_code == 302
    device = TOTPDevice.objects.get(user=admin_user)
    assert client.post(TWO_FACTOR, {"code": code_for(device)}).status_code == 302
    assert client.get("/admin/").status_code == 200


# --- On record ----------------------------------------------------------------------------------------------------

def test_requests_stopped_for_two_factor_are_in_the_audit_trail(records, nurse):
    client = password_only_session(nurse)
    page = f"/staff/patients/{records.patient.uuid}/"
    client.get(page)
    client.get("/")
    client.get("/api/v1/patients/")
    rows = list(AuditEvent.objects.filter(user=nurse, action="two_factor_required").order_by("pk"))
    assert [(r.path, r.status_code) for r in rows] == [(page, 302), ("/", 302), ("/api/v1/patients/", 403)]
    assert rows[0].patient_id == records.patient.pk  # the chart she was stopped on
    assert {r.two_factor for r in rows} == {"not_verified"}


def test_the_two_factor_page_speaks_the_staff_members_language(nurse):
    nurse.preferred_language = "es"
    nurse.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(nurse)
    body = client.get(TWO_FACTOR).content.decode()
    assert "Inicio de sesión en dos pasos" in body and "Código de registro" in body
    wrong = client.post(TWO_FACTOR, {"enrolment_code": "WRONG-CODE"}).content.decode()
    assert "Ese código de registro no es válido" in wrong
