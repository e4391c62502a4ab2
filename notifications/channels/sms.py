"""SMS through a backend chosen by settings.SMS_BACKEND: the console backend for development, or the
HTTP provider adapter (SMS_PROVIDER_URL, SMS_PROVIDER_TOKEN) in production."""

import json
import logging

from django.conf import settings
from django.utils.module_loading import import_string

from notifications import outside
from notifications.channels.base import DeliveryChannel, address_for
from notifications.errors import DeliveryError

logger = logging.getLogger(__name__)


class ConsoleSmsBackend:
    """Development: writes the message to the log (it holds no names or diagnoses)."""

    def send(self, to: str, text: str, *, idempotency_key: str = "") -> None:
        logger.info("SMS %s to %s: %s", idempotency_key, to[-4:].rjust(len(to), "*"), text)


class HttpProviderSmsBackend:
    """A provider taking {"to", "text", "reference"} as JSON with a bearer token. The notification's id goes
    as `Idempotency-Key` (and `reference`), so a provider that de-duplicates sends a retried message once."""

    def send(self, to: str, text: str, *, idempotency_key: str = "") -> None:
        if not settings.SMS_PROVIDER_URL:
            raise DeliveryError("SMS_PROVIDER_URL is not configured.", permanent=True)
        body = json.dumps({"to": to, "text": text, "reference": idempotency_key}).encode()
        outside.http_post(settings.SMS_PROVIDER_URL, body, {
            "Content-Type": "application/json", "Authorization": f"Bearer {settings.SMS_PROVIDER_TOKEN}",
            "Idempotency-Key": idempotency_key,
        })


class SmsChannel(DeliveryChannel):
    kind = "sms"

    def send(self, notification) -> None:
        phone = address_for(notification, "phone")
        if not phone:
            raise DeliveryError("The recipient has no phone number.", permanent=True)
        backend = import_string(settings.SMS_BACKEND)()
        backend.send(phone, self.render(notification, "body"), idempotency_key=str(notification.uuid))
