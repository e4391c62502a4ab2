"""The in-app inbox: every in-app notification delivered to a person (staff, patients and caregivers alike),
newest first, unread until she opens it or marks it read (`Notification.read_at`). The in-app channel
delivers a row by writing it; this is where it is read."""

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import ChannelKind, Notification, NotificationStatus

INBOX_SIZE = 100


def inbox_for(user) -> QuerySet[Notification]:
    """The user's delivered in-app notifications, newest first (the `notification_inbox` index)."""
    return (Notification.objects.filter(recipient=user, channel=ChannelKind.INAPP, status=NotificationStatus.SENT)
            .order_by("-created_at", "-pk"))


def inbox_unread_count(user) -> int:
    return inbox_for(user).filter(read_at__isnull=True).count()


def safe_link(link: str) -> str:
    """Notification links are paths on this site ("/staff/alerts/<uuid>/"); anything else is not followed."""
    link = str(link or "")
    return link if link.startswith("/") and not link.startswith("//") and "\\" not in link else ""


def inbox_entry(notification: Notification) -> dict:
    """What the inbox shows of one notification, in the reader's (active) language: the message's own in-app
    subject and body (templates/notifications/inapp/), without the link the body carries elsewhere."""
    context = {**notification.context, "urgency": notification.urgency, "notification": notification,
               "inbox": True}
    subject = render_to_string(f"notifications/inapp/{notification.kind}_subject.txt", context).strip()
    body = render_to_string(f"notifications/inapp/{notification.kind}_body.txt", context).strip()
    if body.rstrip(". ") == subject.rstrip(". "):
        body = ""  # an alert's body says what its subject says
    return {"uuid": notification.uuid, "kind": notification.kind, "urgency": notification.urgency,
            "subject": subject, "body": body, "at": notification.sent_at or notification.created_at,
            "read": notification.read_at is not None, "link": safe_link(notification.context.get("link"))}


def inbox_mark_read(*, user, notification_id=None) -> int:
    """Mark one of the user's in-app notifications read (or all of them); rows already read keep their time."""
    rows = inbox_for(user).filter(read_at__isnull=True)
    if notification_id is not None:
        rows = rows.filter(uuid=notification_id)
    return rows.update(read_at=timezone.now())
