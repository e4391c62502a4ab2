from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


class DeliveryChannel:
    """How a message leaves: one subclass per ChannelKind, `send` raising notifications.errors.DeliveryError."""

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
