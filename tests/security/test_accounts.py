"""Accounts, through the full stack: two-factor sign-in for staff (TOTP), login lockout, idle session expiry,
expiring and revocable API tokens stored as hashes, and password rules when an administrator makes an account."""

import base64
import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tracker.accounts import enrolment_code_issue
from tracker.models import ApiToken, AuditEvent, Role, User
from tracker.models.users import EnrolmentChannel

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
WRONG = "Tr0ub4dor&3-wrong"
LOGIN = "/accounts/login/"
TWO_FACTOR = "/accounts/2fa/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"
T0 = dt.datetime(2026, 5, 4, 14, 0, 7, tzinfo=dt.UTC)


def sign_in(username: str, password: str = PASSWORD, client: Client | None = None):
    client = client or Client()
    response = client.post(LOGIN, {"username": username, "password": password})
    return client, response


def code_for(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code the authenticator app shows now (or `offset_steps` steps away)."""
    return format(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                       drift=device.drift + offset_steps), f"0{device.digits}d")


def wrong_code_for(device: TOTPDevice) -> str:
    accepted = {code_for(device, n) for n in range(-device.tolerance - 1, device.tolerance + 2)}
    return next(c for c in ("000000", "123456", "999999", "314159") if c not in accepted)


def token_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def enrol(client: Client, user) -> None:
    """First set-up: the enrolment code an administrator issued (a second channel), entered after signing in."""
    raw = enrolment_code_issue(user=user, channel=EnrolmentChannel.ADMIN)
    response = client.post(TWO_FACTOR, {"enrolment_code": raw})
    assert response.status_code == 302, response.content.decode()[:500]


@pytest.fixture
def two_factor_required(settings):
    settings.REQUIRE_STAFF_2FA = True


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


# --- Two-factor for staff ---------------------------------------------------------------------------------------

def test_nurse_signing_in_is_sent_from_the_staff_pages_to_two_factor_setup(two_factor_required, nurse, clock):
    client, response = sign_in(nurse.username)
    assert response.status_code == 302
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == f"{TWO_FACTOR}?next=/staff/"
    for path in ("/staff/alerts/", "/staff/patients/", "/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(TWO_FACTOR), path


def test_setup_page_shows_a_key_and_a_qr_code_image(two_factor_required, nurse, clock):
    client, _ = sign_in(nurse.username)
    enrol(client, nurse)
    response = client.get(f"{TWO_FACTOR}?next=/staff/")
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=nurse)
    assert not device.confirmed
    html = response.content.decode()
    assert base64.b32encode(device.bin_key).decode() in html
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    assert client.get(TWO_FACTOR).status_code == 200
    assert TOTPDevice.objects.filter(user=nurse).count() == 1  # reloading keeps the same key


def test_a_wrong_code_is_refused_with_400_and_the_staff_pages_stay_closed(two_factor_required, nurse, clock):
    client, _ = sign_in(nurse.username)
    enrol(client, nurse)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=nurse)
    response = client.post(TWO_FACTOR, {"code": wrong_code_for(device), "next": "/staff/"})
    assert response.status_code == 400
    assert "did not match" in response.content.decode()
    assert not TOTPDevice.objects.get(user=nurse).confirmed
    assert client.get("/staff/").status_code == 302


def test_the_right_code_confirms_the_device_and_opens_the_staff_pages(two_factor_required, nurse, clock):
    client, _ = sign_in(nurse.username)
    enrol(client, nurse)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=nurse)
    response = client.post(TWO_FACTOR, {"code": code_for(device), "next": "/staff/"})
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert TOTPDevice.objects.get(user=nurse).confirmed
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/alerts/").status_code == 200


def test_after_a_wrong_code_the_right_one_still_works_once_the_throttle_delay_has_passed(two_factor_required, nurse,
                                                                                          clock):
    client, _ = sign_in(nurse.username)
    enrol(client, nurse)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=nurse)
    assert client.post(TWO_FACTOR, {"code": wrong_code_for(device)}).status_code == 400
    clock.shift(dt.timedelta(seconds=3))
    assert client.post(TWO_FACTOR, {"code": code_for(device), "next": "/staff/"}).status_code == 302
    assert client.get("/staff/").status_code == 200


def test_once_confirmed_the_key_is_never_shown_again_and_the_next_sign_in_asks_for_a_code(two_factor_required,
                                                                                         nurse, clock):
    client, _ = sign_in(nurse.username)
    enrol(client, nurse)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=nurse)
    secret = base64.b32encode(device.bin_key).decode()
    client.post(TWO_FACTOR, {"code": code_for(device)})
    client.post("/accounts/logout/")

    clock.shift(dt.timedelta(minutes=2))
    client, _ = sign_in(nurse.username)
    assert client.get("/staff/").status_code == 302
    page = client.get(TWO_FACTOR)
    assert page.status_code == 200
    assert secret not in page.content.decode() and "data:image/svg+xml" not in page.content.decode()
    assert client.post(TWO_FACTOR, {"code": code_for(device), "next": "/staff/"}).status_code == 302
    assert client.get("/staff/").status_code == 200


def test_a_used_code_cannot_be_replayed_in_another_session(two_factor_required, nurse, clock):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    code = code_for(device)
    first, _ = sign_in(nurse.username)
    assert first.post(TWO_FACTOR, {"code": code}).status_code == 302
    second, _ = sign_in(nurse.username)
    assert second.post(TWO_FACTOR, {"code": code}).status_code == 400
    assert second.get("/staff/").status_code == 302


@pytest.mark.parametrize("who", ["patient", "caregiver"])
def test_patients_and_caregivers_are_never_asked_for_two_factor(two_factor_required, request, patient, who):
    user = patient.user if who == "patient" else request.getfixturevalue("caregiver")
    client, response = sign_in(user.username)
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == f"/patients/{patient.uuid}/"
    assert client.get(f"/patients/{patient.uuid}/").status_code == 200
    assert client.get(f"/patients/{patient.uuid}/checkin/").status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_token_api_for_staff_requires_a_valid_otp_code(two_factor_required, nurse, clock):
    api = APIClient()
    response = api.post(TOKEN, {"username": nurse.username, "password": PASSWORD}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error" and list(body["fields"]) == ["otp"]

    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    response = api.post(TOKEN, {"username": nurse.username, "password": PASSWORD, "otp": wrong_code_for(device)},
                        format="json")
    assert response.status_code == 400 and "otp" in response.json()["fields"]
    assert not ApiToken.objects.exists()

    clock.shift(dt.timedelta(seconds=3))  # past the one-second throttle after a wrong code
    response = api.post(TOKEN, {"username": nurse.username, "password": PASSWORD, "otp": code_for(device)},
                        format="json")
    assert response.status_code == 200
    assert token_client(response.json()["token"]).get(ME).status_code == 200


def test_token_api_for_staff_without_a_confirmed_device_names_otp(two_factor_required, physician, clock):
    TOTPDevice.objects.create(user=physician, name="never confirmed", confirmed=False)
    device = TOTPDevice.objects.get(user=physician)
    response = APIClient().post(TOKEN, {"username": physician.username, "password": PASSWORD,
                                        "otp": code_for(device)}, format="json")
    assert response.status_code == 400 and "otp" in response.json()["fields"]


def test_token_api_for_patients_needs_no_otp(two_factor_required, patient):
    response = APIClient().post(TOKEN, {"username": patient.user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert token_client(response.json()["token"]).get(ME).json()["role"] == Role.PATIENT


# --- Lockout after repeated failures ----------------------------------------------------------------------------

def limit() -> int:
    return django_settings.AXES_FAILURE_LIMIT


def test_login_page_locks_a_username_after_the_failure_limit_even_for_the_right_password(patient):
    client = Client()
    for _ in range(limit() - 1):
        _, response = sign_in(patient.user.username, WRONG, client)
        assert response.status_code == 200  # the form again, with its error
    sign_in(patient.user.username, WRONG, client)  # the limit is reached
    _, response = sign_in(patient.user.username, PASSWORD, client)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-in attempts" in html
    assert f"{int(django_settings.AXES_COOLOFF_TIME * 60)} minutes" in html
    assert "_auth_user_id" not in client.session
    assert client.get(f"/patients/{patient.uuid}/").status_code == 302  # not signed in


def test_token_api_locks_a_username_after_the_failure_limit_in_the_common_error_shape(patient):
    api = APIClient()
    for _ in range(limit()):
        response = api.post(TOKEN, {"username": patient.user.username, "password": WRONG}, format="json")
        assert response.status_code in (400, 429)
    response = api.post(TOKEN, {"username": patient.user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"type", "detail", "fields"}
    assert body["type"] == "throttled"
    assert "Too many failed sign-in attempts" in body["detail"]
    assert not ApiToken.objects.exists()


def test_failures_on_the_page_and_the_api_count_together(patient):
    client, api = Client(), APIClient()
    for n in range(limit()):
        if n % 2:
            sign_in(patient.user.username, WRONG, client)
        else:
            api.post(TOKEN, {"username": patient.user.username, "password": WRONG}, format="json")
    assert api.post(TOKEN, {"username": patient.user.username, "password": PASSWORD},
                    format="json").status_code == 429
    assert sign_in(patient.user.username, PASSWORD, Client())[1].status_code == 429


def test_a_different_user_from_the_same_address_is_not_locked(patient, nurse):
    client, api = Client(), APIClient()
    for _ in range(limit() + 1):
        sign_in(patient.user.username, WRONG, client)
    assert sign_in(patient.user.username, PASSWORD, client)[1].status_code == 429
    _, response = sign_in(nurse.username, PASSWORD, Client())
    assert response.status_code == 302
    response = api.post(TOKEN, {"username": nurse.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_the_lockout_lifts_after_the_cool_off_time(patient, clock):
    for _ in range(limit() + 1):
        sign_in(patient.user.username, WRONG)
    assert sign_in(patient.user.username, PASSWORD)[1].status_code == 429
    clock.shift(dt.timedelta(hours=django_settings.AXES_COOLOFF_TIME, minutes=1))
    assert sign_in(patient.user.username, PASSWORD)[1].status_code == 302


# --- Idle sessions ----------------------------------------------------------------------------------------------

def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=django_settings.SESSION_IDLE_MINUTES)


def htmx_get(client, path):
    return client.get(path, headers={"HX-Request": "true"})


def test_a_session_unused_for_longer_than_the_idle_limit_is_signed_out(nurse, clock):
    client, _ = sign_in(nurse.username)
    assert client.get("/staff/").status_code == 200
    clock.shift(idle_limit() + dt.timedelta(seconds=1))
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=/staff/")
    assert "_auth_user_id" not in client.session
    clock.shift(dt.timedelta(seconds=1))
    assert client.get("/staff/").status_code == 302  # still signed out


def test_activity_within_the_idle_limit_keeps_the_session(patient, clock):
    client, _ = sign_in(patient.user.username)
    page = f"/patients/{patient.uuid}/"
    for _ in range(3):
        clock.shift(idle_limit() - dt.timedelta(minutes=1))
        assert client.get(page).status_code == 200


def test_an_idle_htmx_request_gets_401_with_hx_redirect_to_sign_in(nurse, clock):
    client, _ = sign_in(nurse.username)
    client.get("/staff/")
    clock.shift(idle_limit() + dt.timedelta(seconds=1))
    response = htmx_get(client, "/staff/?partial=rows")
    assert response.status_code == 401
    assert response["HX-Redirect"] == LOGIN
    assert client.get("/staff/").status_code == 302


def test_htmx_polling_alone_does_not_keep_the_session_alive(nurse, clock):
    client, _ = sign_in(nurse.username)
    assert client.get("/staff/").status_code == 200
    polls = 0
    while (polls + 1) * dt.timedelta(minutes=5) <= idle_limit():
        clock.shift(dt.timedelta(minutes=5))
        assert htmx_get(client, "/staff/?partial=rows").status_code == 200  # the open dashboard refreshes
        polls += 1
    clock.shift(dt.timedelta(minutes=5))
    response = htmx_get(client, "/staff/?partial=rows")
    assert response.status_code == 401 and response["HX-Redirect"] == LOGIN


def test_an_idle_session_on_the_api_gets_401_in_the_common_shape(patient, clock):
    client = APIClient()
    client.post(LOGIN, {"username": patient.user.username, "password": PASSWORD})
    assert client.get("/api/v1/checkins/").status_code == 200
    clock.shift(idle_limit() + dt.timedelta(seconds=1))
    response = client.get("/api/v1/checkins/")
    assert response.status_code == 401
    assert response.json()["type"] == "not_authenticated"


def test_a_signed_in_browser_session_can_read_me_on_the_api(patient):
    """The API accepts session sign-ins (SessionAuthentication; the API docs page uses them)."""
    client = APIClient()
    client.post(LOGIN, {"username": patient.user.username, "password": PASSWORD})
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == patient.user.username


# --- API tokens ------------------------------------------------------------------------------------------------

def issue_token(user) -> str:
    response = APIClient().post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["token"]


@pytest.mark.parametrize("days", [30, 7])
def test_a_token_expires_after_api_token_days(settings, patient, clock, days):
    settings.API_TOKEN_DAYS = days
    raw = issue_token(patient.user)
    clock.shift(dt.timedelta(days=days) - dt.timedelta(minutes=1))
    assert token_client(raw).get(ME).status_code == 200
    clock.shift(dt.timedelta(minutes=2))
    response = token_client(raw).get(ME)
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "authentication_failed"
    assert "expired or was revoked" in body["detail"]


def test_delete_revokes_the_token_used_and_only_that_one(patient):
    used, other = issue_token(patient.user), issue_token(patient.user)
    response = token_client(used).delete(TOKEN)
    assert response.status_code == 204
    response = token_client(used).get(ME)
    assert response.status_code == 401
    assert "expired or was revoked" in response.json()["detail"]
    assert token_client(used).delete(TOKEN).status_code == 401
    assert token_client(other).get(ME).status_code == 200
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 1


def test_delete_without_a_token_is_401(db):
    assert APIClient().delete(TOKEN).status_code == 401


def test_the_admin_revoke_action_revokes_the_selected_tokens(admin_user, patient, nurse):
    patients_key, nurses_key = issue_token(patient.user), issue_token(nurse)
    token = ApiToken.objects.get(user=patient.user)
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post("/admin/tracker/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    response = token_client(patients_key).get(ME)
    assert response.status_code == 401 and "expired or was revoked" in response.json()["detail"]
    assert token_client(nurses_key).get(ME).status_code == 200


def test_the_admin_cannot_add_tokens_nor_edit_their_dates(admin_user, patient):
    issue_token(patient.user)
    token = ApiToken.objects.get()
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/admin/tracker/apitoken/add/").status_code == 403
    later = (timezone.now() + dt.timedelta(days=3650)).strftime("%Y-%m-%d")
    admin.post(f"/admin/tracker/apitoken/{token.pk}/change/",
               {"expires_at_0": later, "expires_at_1": "00:00:00", "revoked_at_0": "", "revoked_at_1": ""})
    assert ApiToken.objects.get(pk=token.pk).expires_at == token.expires_at


def test_only_the_sha256_hash_of_the_key_is_stored(patient):
    raw = issue_token(patient.user)
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    token_client(raw).get(ME)  # used once: last_used_at is written too
    for column, value in ApiToken.objects.filter(pk=token.pk).values().get().items():
        assert raw not in str(value), column
    assert len(token.prefix) < len(raw) // 4  # the prefix only tells tokens apart
    for row in AuditEvent.objects.values():
        assert all(raw not in str(v) for v in row.values())


# --- Passwords ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "message"), [
    ("Xk7#qa", "too short"),  # 6 characters
    ("qwertyqwerty", "too common"),  # 12 characters, but on the common-passwords list
])
def test_admin_add_user_form_refuses_short_or_common_passwords(admin_user, password, message):
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post("/admin/tracker/user/add/", {
        "username": "new.nurse", "usable_password": "true", "password1": password, "password2": password,
        "role": Role.NURSE, "first_name": "Nia", "last_name": "Park", "email": "nia@example.test",
    })
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="new.nurse").exists()


def test_admin_add_user_form_accepts_a_long_uncommon_password(admin_user):
    admin = Client()
    admin.force_login(admin_user)
    password = "violet-harbor-lantern-42"
    response = admin.post("/admin/tracker/user/add/", {
        "username": "new.nurse", "usable_password": "true", "password1": password, "password2": password,
        "role": Role.NURSE, "first_name": "Nia", "last_name": "Park", "email": "nia@example.test",
    })
    assert response.status_code == 302
    assert User.objects.get(username="new.nurse").check_password(password)
