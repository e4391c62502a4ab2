"""SMS through a backend chosen by settings.SMS_BACKEND: the console backend for development, or the
HTTP provider adapter (SMS_PROVIDER_URL, SMS_PROVIDER_TOKEN) in production."""

import json
import logging

from django.conf import settings
from django.utils.module_loading import import_string

from notifications import outside
from notifications.channels.base import Channel, DeliveryError

logger = logging.getLogger(__name__)


class ConsoleSmsBackend:
    """Development: writes the message to the log (it holds no names or diagnoses)."""

    def send(self, to: str, text: str) -> None:
        logger.info("SMS to %s: %s", to[-4:].rjust(len(to), "*"), text)


class HttpProviderSmsBackend:
    """A provider taking {"to", "text"} as JSON with a bearer token."""

    def send(self, to: str, text: str) -> None:
        if not settings.SMS_PROVIDER_URL:
            raise DeliveryError("SMS_PROVIDER_URL is not configured.", permanent=True)
        body = json.dumps({"to": to, "text": text}).encode()
        outside.http_post(settings.SMS_PROVIDER_URL, body, {
            "Content-Type": "application/json", "Authorization": f"Bearer {settings.SMS_PROVIDER_TOKEN}",
        })


class SmsChannel(Channel):
    kind = "sms"

    def send(self, notification) -> None:
        phone = notification.context.get("phone") or (notification.recipient.phone if notification.recipient else "")
        if not phone:
            raise DeliveryError("The recipient has no phone number.", permanent=True)
        backend = import_string(settings.SMS_BACKEND)()
        backend.send(phone, self.render(notification, "body"))
