"""One delivery class per channel kind, in REGISTRY (notifications.services.delivery looks one up)."""

from notifications.channels.base import DeliveryChannel
from notifications.channels.email import EmailChannel
from notifications.channels.inapp import InAppChannel
from notifications.channels.sms import SmsChannel
from notifications.channels.webhook import WebhookChannel
from notifications.errors import DeliveryError

REGISTRY: dict[str, type[DeliveryChannel]] = {
    channel.kind: channel for channel in (InAppChannel, EmailChannel, SmsChannel, WebhookChannel)
}


__all__ = ["REGISTRY", "DeliveryChannel", "DeliveryError"]
