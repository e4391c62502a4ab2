from notifications.channels.base import DeliveryChannel


class InAppChannel(DeliveryChannel):
    """The in-app inbox: the Notification row itself is the message; delivering it makes it visible."""

    kind = "inapp"

    def send(self, notification) -> None:
        return None
