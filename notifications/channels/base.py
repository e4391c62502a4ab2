"""What every channel shares: rendering a message in its recipient's language, and finding where a person is
reached. Addresses are read when a message is sent (routing chooses the channels, the channels read the
address) and never copied into the outbox row."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from notifications.models import Notification
from tracker.models import Patient, User


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



def contact_for(user: User, patient: Patient | None = None) -> dict[str, str]:
    """Where to reach a patient or caregiver: the patient's own record holds the patient's phone and
    email (the enrolment data); a caregiver's come from their account."""
    if patient is not None and patient.user_id == user.pk:
        return {"phone": patient.phone or user.phone, "email": patient.email or user.email}
    return {"phone": user.phone, "email": user.email}


def address_for(notification: Notification, kind: str) -> str:
    """The phone number (kind "phone") or email address (kind "email") a notification goes to, read when it
    is sent from its recipient (and, for a patient, the patient's record). Addresses are never copied into
    the outbox row: it is kept with the alert for the retention period, the address would be PHI in it."""
    if notification.recipient is None:
        return ""
    patient = notification.patient if notification.patient_id else None
    return contact_for(notification.recipient, patient)[kind] or ""
