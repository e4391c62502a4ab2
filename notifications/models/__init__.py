"""Who is told what: on-call rosters, channel preferences, paging webhooks, notification rows (the
outbox), delivery attempts, the reminder schedule of each patient, and when each periodic task last ran."""

from .delivery import DeliveryAttempt, Notification, NotificationKind, NotificationStatus
from .health import TaskHeartbeat
from .people import ChainRole, ChannelKind, NotificationPreference, OnCallShift, PagingWebhook
from .scan_state import DigestRun, ReminderState

__all__ = [
    "ChainRole",
    "ChannelKind",
    "DeliveryAttempt",
    "DigestRun",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "NotificationStatus",
    "OnCallShift",
    "PagingWebhook",
    "ReminderState",
    "TaskHeartbeat",
]
