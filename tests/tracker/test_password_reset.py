""""Forgot your password?" for everyone: Django's reset, the same answer whether or not an account
uses the address, limits per client address and per address asked for (failing open), the email through
Django's email backend in the person's language, single use, and staff still give their second factor."""

import re

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.throttling import SimpleRateThrottle

from notifications.models import Notification, NotificationStatus
from notifications.services.delivery import notification_deliver
from tests.factories import UserFactory
from tracker.models import ApiToken, AuditEvent, Role

FORGOT, SENT = "/accounts/password/forgot/", "/accounts/password/forgot/sent/"
LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/[^/\s]+/[^/\s]+/)")
PASSWORD = "correct-horse-battery"  # tests.factories
NEW_PASSWORD = "seven swans swimming slowly"


@pytest.fixture
def maria(patient):
    user = patient.user
    user.email = "maria.lopez@example.test"
    user.save()
    return user


def deliver_all() -> None:
    for pk in Notification.objects.filter(status=NotificationStatus.PENDING).values_list("pk", flat=True):
        notification_deliver(notification_id=pk)


def ask(address: str, client: Client | None = None, **extra):
    return (client or Client()).post(FORGOT, {"email": address}, **extra)


def reset_link(mailoutbox) -> str:
    match = LINK.search(mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return match.group(1)


def test_the_sign_in_page_offers_forgot_your_password(db):
    html = Client().get("/accounts/login/").content.decode()
    assert f'href="{FORGOT}"' in html and "Forgot your password?" in html


def test_the_answer_is_the_same_whether_or_not_an_account_uses_the_address(maria, mailoutbox):
    known, unknown = ask("Maria.Lopez@example.test"), ask("nobody@example.test")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == (302, SENT)
    page_known, page_unknown = Client().get(SENT), Client().get(SENT)
    without_csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert without_csrf.sub(b"", page_known.content) == without_csrf.sub(b"", page_unknown.content)
    assert "If an account uses that address" in page_known.content.decode()
    # Nothing was sent in the request either way: a worker sends the one message (the time tells nothing).
    assert mailoutbox == []
    [row] = Notification.objects.filter(kind="password_reset")
    assert row.recipient == maria and row.channel == "email" and set(row.context) == {"minutes"}
    assert AuditEvent.objects.filter(action="password_reset_requested").count() == 2


def test_the_email_holds_a_single_use_link_and_no_name(maria, mailoutbox):
    ask("maria.lopez@example.test")
    deliver_all()
    [message] = mailoutbox
    assert message.to == ["maria.lopez@example.test"]
    assert message.subject == "Set a new password"
    for word in ("Maria", "Lopez", maria.username):
        assert word not in message.body
    browser = Client()
    opened = browser.get(reset_link(mailoutbox))
    assert opened.status_code == 302  # Django moves the token out of the URL into the session
    page = browser.get(opened["Location"])
    assert maria.username in page.content.decode()  # shown only to whoever holds the link
    done = browser.post(opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/done/"
    maria.refresh_from_db()
    assert maria.check_password(NEW_PASSWORD)
    assert "_auth_user_id" not in browser.session  # a reset signs nobody in
    again = Client().get(reset_link(mailoutbox), follow=True)
    assert "This link no longer works" in again.content.decode()
    assert AuditEvent.objects.filter(action="password_reset", username=maria.username).exists()


def test_the_email_and_the_page_are_in_the_persons_language(maria, mailoutbox):
    maria.preferred_language = "es"
    maria.save()
    ask("maria.lopez@example.test")
    deliver_all()
    assert mailoutbox[0].subject == "Establezca una contraseña nueva"
    browser = Client()
    page = browser.get(browser.get(reset_link(mailoutbox))["Location"])
    assert "Contraseña nueva" in page.content.decode()


def test_django_password_rules_apply(maria, mailoutbox):
    ask("maria.lopez@example.test")
    deliver_all()
    browser = Client()
    url = browser.get(reset_link(mailoutbox))["Location"]
    response = browser.post(url, {"new_password1": "12345678901234", "new_password2": "12345678901234"})
    assert response.status_code == 200 and "This password is entirely numeric." in response.content.decode()
    maria.refresh_from_db()
    assert maria.check_password(PASSWORD)


def test_accounts_without_a_password_yet_or_inactive_get_nothing(db, mailoutbox):
    invited = UserFactory(role=Role.PATIENT, email="invited@example.test")
    invited.set_unusable_password()
    invited.save()
    UserFactory(role=Role.NURSE, email="left@example.test", is_active=False)
    for address in ("invited@example.test", "left@example.test"):
        assert ask(address)["Location"] == SENT
    assert not Notification.objects.exists()


def test_a_reset_revokes_the_accounts_api_tokens(maria, mailoutbox):
    token, _raw = ApiToken.issue(maria)
    ask("maria.lopez@example.test")
    deliver_all()
    browser = Client()
    url = browser.get(reset_link(mailoutbox))["Location"]
    browser.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_staff_with_two_factor_still_give_their_code_after_a_reset(nurse, mailoutbox, settings):
    settings.REQUIRE_STAFF_2FA = True
    nurse.email = "nina@example.test"
    nurse.save()
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    ask("nina@example.test")
    deliver_all()
    browser = Client()
    url = browser.get(reset_link(mailoutbox))["Location"]
    browser.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    signed_in = browser.post("/accounts/login/", {"username": nurse.username, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    assert browser.get("/staff/")["Location"].startswith("/accounts/2fa/")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    assert browser.post("/accounts/2fa/", {"code": f"{totp.token():06d}"}).status_code == 302
    assert browser.get("/staff/").status_code == 200


# --- Rate limits ---------------------------------------------------------------------------------------------------

@pytest.fixture
def low_rates(settings, monkeypatch):
    rates = {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "password_reset": "4/hour",
             "password_reset_account": "2/hour"}
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    return rates


def test_requests_per_client_address_are_limited_with_retry_after(db, low_rates):
    for n in range(4):
        assert ask(f"someone{n}@example.test")["Location"] == SENT
    refused = ask("someone9@example.test")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many requests from this address" in refused.content.decode()
    assert ask("someone9@example.test", REMOTE_ADDR="10.1.2.3")["Location"] == SENT  # another client


def test_requests_per_address_asked_for_stop_sending_with_the_same_answer(maria, low_rates):
    answers = [ask("maria.lopez@example.test", REMOTE_ADDR=f"10.0.0.{n}") for n in range(4)]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, SENT)}
    assert Notification.objects.filter(kind="password_reset").count() == 2  # the limit, from any address
    # Unknown addresses count the same way, so the limit tells nothing either.
    assert [ask("ghost@example.test", REMOTE_ADDR=f"10.0.1.{n}")["Location"] for n in range(3)] == [SENT] * 3


def test_a_cache_that_is_down_does_not_stop_a_reset(maria, monkeypatch):
    def down(*args, **kwargs):
        raise RedisConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    assert ask("maria.lopez@example.test")["Location"] == SENT
    assert Notification.objects.filter(kind="password_reset").count() == 1
