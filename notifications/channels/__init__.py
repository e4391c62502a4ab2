"""One delivery class per channel kind; `get_channel(kind)` looks one up."""

from notifications.channels.base import DeliveryChannel
from notifications.channels.email import EmailChannel
from notifications.channels.inapp import InAppChannel
from notifications.channels.sms import SmsChannel
from notifications.channels.webhook import WebhookChannel
from notifications.errors import DeliveryError

REGISTRY: dict[str, type[DeliveryChannel]] = {
    channel.kind: channel for channel in (InAppChannel, EmailChannel, SmsChannel, WebhookChannel)
}


def get_channel(kind: str) -> DeliveryChannel:
    try:
        return REGISTRY[kind]()
    except KeyError:
        raise DeliveryError(f"No channel of kind {kind!r}.", permanent=True) from None


__all__ = ["REGISTRY", "DeliveryChannel", "DeliveryError", "get_channel"]
