from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


class DeliveryError(Exception):
    """A channel could not deliver. `permanent` errors are not retried (bad address, rejected);
    transient ones (timeouts, 5xx, SMTP connection trouble) are retried with backoff."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class Channel:
    kind: str = ""

    def send(self, notification) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def render(self, notification, part: str) -> str:
        """Render templates/notifications/<channel>/<kind>_<part>.txt in the recipient's language.
        Bodies carry the urgency and a link, never a name or a diagnosis."""
        context = {**notification.context, "urgency": notification.urgency, "site_url": settings.SITE_URL,
                   "notification": notification}
        with translation.override(notification.language or "en"):
            return render_to_string(f"notifications/{self.kind}/{notification.kind}_{part}.txt", context).strip()
