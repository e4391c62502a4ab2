import datetime as dt

from django.utils import timezone

from notifications.models import Notification, NotificationStatus
from notifications.services.alerts import alerts_missing_notifications
from notifications.services.sweep import stuck_notifications


def queue_health(now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        "pending": Notification.objects.filter(status=NotificationStatus.PENDING).count(),
        "sending": Notification.objects.filter(status=NotificationStatus.SENDING).count(),
        "stuck": stuck_notifications(now).count(),
        "failed_last_24h": Notification.objects.filter(
            status=NotificationStatus.FAILED, created_at__gte=now - dt.timedelta(hours=24)).count(),
        "sent_last_24h": Notification.objects.filter(
            status=NotificationStatus.SENT, sent_at__gte=now - dt.timedelta(hours=24)).count(),
        "alerts_without_notification": alerts_missing_notifications(now).count(),
    }
