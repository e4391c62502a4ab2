"""One class per channel; `get_channel(kind)` looks one up."""

from notifications.channels.base import Channel, DeliveryError
from notifications.channels.email import EmailChannel
from notifications.channels.inapp import InAppChannel
from notifications.channels.sms import SmsChannel
from notifications.channels.webhook import WebhookChannel

REGISTRY: dict[str, type[Channel]] = {
    channel.kind: channel for channel in (InAppChannel, EmailChannel, SmsChannel, WebhookChannel)
}


def get_channel(kind: str) -> Channel:
    try:
        return REGISTRY[kind]()
    except KeyError:
        raise DeliveryError(f"No channel of kind {kind!r}.", permanent=True) from None


__all__ = ["REGISTRY", "Channel", "DeliveryError", "get_channel"]
