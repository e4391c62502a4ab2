"""Where a person is reached, read when a message is sent (routing chooses the channels, the channels read
the address). Addresses are never copied into the outbox row."""

from notifications.models import Notification
from tracker.models import Patient, User


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
