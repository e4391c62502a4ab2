"""The outbox: every message is a Notification row written in the transaction that decided to send it,
then handed to Celery after commit. If the broker is down, the row waits and the sweep sends it later."""

import logging

from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError as BrokerError

from notifications.models import Notification

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


def notification_create(*, dedup_key: str, **fields) -> Notification | None:
    """Create the row unless one with the same de-duplication key exists; enqueue it. Returns the new
    row, or None when it was already there (a redelivered task or an overlapping scan)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(dedup_key=dedup_key, **fields)
        except IntegrityError:
            if Notification.objects.filter(dedup_key=dedup_key).exists():
                return None
            raise
        enqueue(notification.pk)
    return notification
