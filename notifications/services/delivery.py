"""Send one Notification: claim it with a conditional UPDATE, record the attempt before the outside call
and the outcome after. At-least-once: a worker that dies mid-send leaves the row in `sending`, and the
sweep (or the redelivered task) takes it up again once it is stale."""

import datetime as dt
import logging
import socket

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from notifications.channels import DeliveryError, get_channel
from notifications.models import DeliveryAttempt, Notification, NotificationStatus

logger = logging.getLogger(__name__)


def backoff(attempts: int) -> dt.timedelta:
    """Exponential: 10 s, 20 s, 40 s ... capped at 15 minutes."""
    return dt.timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 900))


def claim(notification_id: int, now: dt.datetime) -> bool:
    stale = now - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS)
    return bool(
        Notification.objects.filter(pk=notification_id)
        .filter(Q(status=NotificationStatus.PENDING) | Q(status=NotificationStatus.SENDING, claimed_at__lt=stale))
        .update(status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def notification_deliver(*, notification_id: int) -> str:
    """Returns the outcome: "sent", "retry", "failed" or "skipped" (claimed elsewhere or already done)."""
    now = timezone.now()
    if not claim(notification_id, now):
        return "skipped"
    notification = Notification.objects.select_related("recipient", "webhook").get(pk=notification_id)
    attempt = DeliveryAttempt.objects.create(notification=notification, started_at=now, worker=socket.gethostname())
    try:
        get_channel(notification.channel).send(notification)
    except DeliveryError as exc:
        finished = timezone.now()
        give_up = exc.permanent or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        attempt.outcome = DeliveryAttempt.Outcome.PERMANENT if exc.permanent else DeliveryAttempt.Outcome.TRANSIENT
        attempt.error, attempt.finished_at = str(exc), finished
        attempt.save(update_fields=["outcome", "error", "finished_at"])
        Notification.objects.filter(pk=notification_id, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.FAILED if give_up else NotificationStatus.PENDING,
            last_error=str(exc),
            next_attempt_at=finished + backoff(notification.attempts),
        )
        if give_up:
            logger.error("Notification %s failed permanently on %s: %s", notification.uuid, notification.channel, exc)
            return "failed"
        logger.warning("Notification %s will be retried: %s", notification.uuid, exc)
        return "retry"
    finished = timezone.now()
    attempt.outcome, attempt.finished_at = DeliveryAttempt.Outcome.SENT, finished
    attempt.save(update_fields=["outcome", "finished_at"])
    Notification.objects.filter(pk=notification_id).update(status=NotificationStatus.SENT, sent_at=finished, last_error="")
    return "sent"
