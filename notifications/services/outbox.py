"""The outbox: every message is a Notification row written in the transaction that decided to send it,
then handed to Celery after commit. If the broker is down, the row waits and the sweep sends it later."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from notifications.models import ChannelKind, DeliveryAttempt, Notification, NotificationStatus

logger = logging.getLogger(__name__)


def enqueue(notification_id: int) -> None:
    """Hand one row to a worker after commit. A broker failure is logged, not raised: the row stays
    pending and `notifications_sweep` re-enqueues it."""

    def _send() -> None:
        from notifications.tasks import deliver_notification

        try:
            deliver_notification.delay(notification_id)
        except (BrokerError, ConnectionError, OSError) as exc:
            logger.warning("Broker unavailable; notification %s waits for the sweep: %s", notification_id, exc)

    transaction.on_commit(_send, robust=True)


def notification_create(*, dedup_key: str, enqueue_after_commit: bool = True, **fields) -> Notification | None:
    """Create the row unless one with the same de-duplication key exists, and hand it to a worker after
    commit (unless the caller sends it itself). An in-app message is delivered by being written: it is
    stored as sent, with its attempt. Returns the new row, or None when it was already there."""
    inapp = fields.get("channel") == ChannelKind.INAPP
    if inapp:
        now = timezone.now()
        fields.update(status=NotificationStatus.SENT, sent_at=now, attempts=1, claimed_at=now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(dedup_key=dedup_key, **fields)
        except IntegrityError:
            if Notification.objects.filter(dedup_key=dedup_key).exists():
                return None
            raise
        if inapp:
            DeliveryAttempt.objects.create(notification=notification, started_at=now, finished_at=now,
                                           outcome=DeliveryAttempt.Outcome.SENT)
        elif enqueue_after_commit:
            enqueue(notification.pk)
    return notification
