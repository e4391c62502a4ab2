"""Signed webhook for a hospital paging system. Header `X-Tracker-Signature: t=<unix>,v1=<hex>` where
v1 = HMAC-SHA256(secret, "<t>.<body>"); receivers reject stale timestamps and compare in constant time."""

import hashlib
import hmac
import json
import time

from notifications import outside
from notifications.channels.base import DeliveryChannel
from notifications.errors import DeliveryError


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class WebhookChannel(DeliveryChannel):
    kind = "webhook"

    def payload(self, notification) -> dict:
        return {
            "id": str(notification.uuid),
            "kind": notification.kind,
            "urgency": notification.urgency,
            "step": notification.step,
            "message": self.render(notification, "body"),
            "link": notification.context.get("link", ""),
        }

    def send(self, notification) -> None:
        hook = notification.webhook
        if hook is None or not hook.enabled:
            raise DeliveryError("The paging webhook is missing or disabled.", permanent=True)
        body = json.dumps(self.payload(notification), separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(time.time())
        outside.http_post(hook.url, body, {
            "Content-Type": "application/json",
            "X-Tracker-Signature": f"t={timestamp},v1={sign(hook.secret, timestamp, body)}",
            "Idempotency-Key": str(notification.uuid),  # the same on every retry of this notification
        })
