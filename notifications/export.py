"""Notifications' part of a patient export: what was sent about the patient, to whom, and the outcome."""

from notifications.models import Notification
from tracker.models import Patient


def notifications_export(patient: Patient) -> list[dict]:
    return [
        {"id": n.uuid, "kind": n.kind, "channel": n.channel, "urgency": n.urgency, "step": n.step,
         "recipient": n.recipient.get_username() if n.recipient else "paging webhook", "status": n.status,
         "created_at": n.created_at, "sent_at": n.sent_at, "attempts": n.attempts}
        for n in Notification.objects.filter(patient=patient).select_related("recipient").order_by("created_at")
    ]
