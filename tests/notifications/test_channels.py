"""One class per channel (email, SMS, paging webhook, in-app): what each sends, where, signed how, and which
errors are permanent. The outside world is `notifications.outside.http_post`; email is Django's locmem."""


import hashlib
import hmac
import io
import json
import logging
import urllib.error
import urllib.request

import pytest
import time_machine
from django.conf import settings as django_settings
from django.template.loader import render_to_string

from notifications import outside
from notifications.channels import REGISTRY, DeliveryError
from notifications.channels.email import EmailChannel
from notifications.channels.inapp import InAppChannel
from notifications.channels.sms import ConsoleSmsBackend, SmsChannel
from notifications.channels.webhook import WebhookChannel
from notifications.models import PagingWebhook
from notifications.services.delivery import get_channel
from tests.notifications.notif_support import (
    HOOK_SECRET,
    HOOK_URL,
    SMS_URL,
    make_notification,
    reachable,
    utc,
)


@pytest.fixture
def hook(team_a):
    return PagingWebhook.objects.create(team=team_a, url=HOOK_URL, secret=HOOK_SECRET)


def test_registry_has_one_class_per_channel_and_unknown_kinds_fail_permanently():
    assert set(REGISTRY) == {"inapp", "email", "sms", "webhook"}
    with pytest.raises(DeliveryError) as exc:
        get_channel("pigeon")
    assert exc.value.permanent is True


# --- Email ------------------------------------------------------------------------------------------------------

def test_email_is_rendered_from_the_email_templates_and_sent_to_the_recipients_address(nurse, mailoutbox):
    reachable(nurse, email="nina.park@example.test")
    row = make_notification(recipient=nurse, channel="email", urgency="emergency",
                            context={"link": "/staff/alerts/abc/"})
    EmailChannel().send(row)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["nina.park@example.test"]
    assert message.from_email == django_settings.DEFAULT_FROM_EMAIL
    context = {"urgency": "emergency", "link": "/staff/alerts/abc/", "site_url": django_settings.SITE_URL}
    assert message.subject == render_to_string("notifications/email/alert_subject.txt", context).strip()
    assert message.body == render_to_string("notifications/email/alert_body.txt", context).strip()
    assert message.subject == "EMERGENCY alert for a patient in your care"
    assert message.body.endswith(f"{django_settings.SITE_URL}/staff/alerts/abc/")


@pytest.mark.parametrize("kind", ["alert", "escalation", "reminder", "missed_checkin", "digest", "window_end"])
def test_every_notification_kind_has_an_email_subject_and_body(nurse, mailoutbox, kind):
    reachable(nurse)
    context = {"link": "/x/", "minutes": 5, "open_alerts": 2, "emergencies": 1, "urgents": 1, "missed": 0,
               "windows_ending": 0, "for_patient": True, "window_kind": "driving"}
    EmailChannel().send(make_notification(recipient=nurse, channel="email", kind=kind, context=context))
    assert mailoutbox[0].subject and "\n" not in mailoutbox[0].subject
    assert f"{django_settings.SITE_URL}/x/" in mailoutbox[0].body


def test_email_to_a_recipient_without_an_address_is_a_permanent_error(nurse, mailoutbox):
    nurse.email = ""
    nurse.save()
    with pytest.raises(DeliveryError) as exc:
        EmailChannel().send(make_notification(recipient=nurse, channel="email"))
    assert exc.value.permanent is True
    assert mailoutbox == []


# --- SMS --------------------------------------------------------------------------------------------------------

def test_sms_through_the_http_provider_posts_json_to_text_and_the_notification_id(nurse, outside_calls):
    reachable(nurse, phone="+15550100042")
    row = make_notification(recipient=nurse, channel="sms", urgency="urgent", context={"link": "/staff/alerts/q/"})
    SmsChannel().send(row)
    assert len(outside_calls.calls) == 1
    call = outside_calls.calls[0]
    assert call["url"] == SMS_URL
    assert call["headers"]["Content-Type"] == "application/json"
    assert call["headers"]["Authorization"] == "Bearer provider-token"
    assert call["headers"]["Idempotency-Key"] == str(row.uuid)  # the same on every retry: the provider de-duplicates
    payload = json.loads(call["body"])
    assert set(payload) == {"to", "text", "reference"}
    assert payload["reference"] == str(row.uuid)
    assert payload["to"] == "+15550100042"
    expected = render_to_string("notifications/sms/alert_body.txt", {
        "urgency": "urgent", "link": "/staff/alerts/q/", "site_url": django_settings.SITE_URL}).strip()
    assert payload["text"] == expected
    assert payload["text"].startswith("URGENT alert")


def test_sms_without_a_provider_url_is_a_permanent_error(nurse, outside_calls, settings):
    settings.SMS_PROVIDER_URL = ""
    reachable(nurse)
    with pytest.raises(DeliveryError) as exc:
        SmsChannel().send(make_notification(recipient=nurse, channel="sms"))
    assert exc.value.permanent is True
    assert outside_calls.calls == []


def test_sms_to_a_recipient_without_a_phone_is_a_permanent_error(nurse, outside_calls):
    reachable(nurse, phone="")
    with pytest.raises(DeliveryError) as exc:
        SmsChannel().send(make_notification(recipient=nurse, channel="sms"))
    assert exc.value.permanent is True
    assert outside_calls.calls == []


def test_console_sms_backend_logs_the_text_with_a_masked_number_and_does_not_fail(nurse, settings, caplog,
                                                                                  monkeypatch):
    settings.SMS_BACKEND = "notifications.channels.sms.ConsoleSmsBackend"
    monkeypatch.setattr(outside, "http_post", lambda *a, **k: pytest.fail("console SMS must not call out"))
    reachable(nurse, phone="+15550109876")
    with caplog.at_level(logging.INFO, logger="notifications.channels.sms"):
        SmsChannel().send(make_notification(recipient=nurse, channel="sms", urgency="emergency"))
    text = caplog.text
    assert "EMERGENCY alert" in text
    assert "9876" in text
    assert "+15550109876" not in text


def test_console_backend_alone_accepts_any_message(caplog):
    with caplog.at_level(logging.INFO, logger="notifications.channels.sms"):
        ConsoleSmsBackend().send("+15550101234", "hello")
    assert "hello" in caplog.text


# --- Webhook ----------------------------------------------------------------------------------------------------

def test_webhook_posts_json_signed_with_hmac_sha256_over_timestamp_and_body(team_a, hook, outside_calls):
    moment = utc(2026, 5, 4, 14, 30, 15)
    row = make_notification(webhook=hook, channel="webhook", urgency="emergency", step=1, kind="escalation",
                            context={"link": "/staff/alerts/zz/", "minutes": 5})
    with time_machine.travel(moment, tick=False):
        WebhookChannel().send(row)
    [call] = outside_calls.calls
    assert call["url"] == HOOK_URL
    assert call["headers"]["Content-Type"] == "application/json"
    header = call["headers"]["X-Tracker-Signature"]
    parts = dict(part.split("=", 1) for part in header.split(","))
    assert set(parts) == {"t", "v1"}
    assert parts["t"] == str(int(moment.timestamp()))
    expected = hmac.new(HOOK_SECRET.encode(), f"{parts['t']}.".encode() + call["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    wrong = hmac.new(b"another-secret", f"{parts['t']}.".encode() + call["body"], hashlib.sha256).hexdigest()
    assert parts["v1"] != wrong
    body = json.loads(call["body"])
    assert body["id"] == str(row.uuid)
    assert body["kind"] == "escalation"
    assert body["urgency"] == "emergency"
    assert body["step"] == 1
    assert body["link"] == "/staff/alerts/zz/"
    assert body["message"].startswith("ESCALATED: EMERGENCY alert not acknowledged for 5 min")


def test_disabled_webhook_is_a_permanent_error(hook, outside_calls):
    hook.enabled = False
    hook.save()
    with pytest.raises(DeliveryError) as exc:
        WebhookChannel().send(make_notification(webhook=hook, channel="webhook"))
    assert exc.value.permanent is True
    assert outside_calls.calls == []


def test_inapp_delivery_calls_nothing_outside(nurse, outside_calls, mailoutbox):
    InAppChannel().send(make_notification(recipient=nurse, channel="inapp"))
    assert outside_calls.calls == [] and mailoutbox == []


# --- outside.http_post ------------------------------------------------------------------------------------------

def test_http_post_maps_5xx_and_429_and_network_errors_to_transient_and_4xx_to_permanent(monkeypatch):
    """The single test that patches urllib.request.urlopen (everything else patches outside.http_post)."""
    outcome: dict = {}

    class Response:
        status = 202

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(request, timeout):
        outcome["request"], outcome["timeout"] = request, timeout
        error = outcome.get("raise")
        if error is not None:
            raise error
        return Response()

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)

    def http_error(code):
        return urllib.error.HTTPError(HOOK_URL, code, "status", {}, io.BytesIO(b""))

    assert outside.http_post(HOOK_URL, b'{"a":1}', {"Content-Type": "application/json"}) == 202
    assert outcome["request"].get_method() == "POST"
    assert outcome["request"].data == b'{"a":1}'
    assert outcome["timeout"] == outside.TIMEOUT_SECONDS

    cases = [(http_error(503), False), (http_error(500), False), (http_error(429), False),
             (http_error(400), True), (http_error(404), True),
             (urllib.error.URLError("connection refused"), False), (TimeoutError("slow"), False)]
    for error, permanent in cases:
        outcome["raise"] = error
        with pytest.raises(DeliveryError) as exc:
            outside.http_post(HOOK_URL, b"{}", {})
        assert exc.value.permanent is permanent, error


def test_messages_are_rendered_with_the_rows_language_active(patient, outside_calls, monkeypatch):
    """A reminder row for a Spanish-speaking patient is rendered under `es` (the text then comes from the
    Spanish catalogue, when one is installed)."""
    from django.utils import translation

    from notifications.channels import base

    seen = []
    real = base.render_to_string

    def spy(template, context):
        seen.append((template, translation.get_language()))
        return real(template, context)

    monkeypatch.setattr(base, "render_to_string", spy)
    reachable(patient.user)
    row = make_notification(recipient=patient.user, channel="sms", kind="reminder", language="es",
                            context={"link": f"/patients/{patient.uuid}/checkin/"})
    SmsChannel().send(row)
    assert seen == [("notifications/sms/reminder_body.txt", "es")]
    assert translation.get_language() != "es"  # restored afterwards
