"""Send one Notification: claim it with a conditional UPDATE, record the attempt before the outside call
and the outcome after. At-least-once, de-duplicated: a worker that dies mid-send leaves the row in
`sending`; the same task handed out again (reject_on_worker_lost) takes it back at once, anything else
waits until it is stale (NOTIFICATION_STUCK_SECONDS) and the sweep sends it again. Every outside call
carries the notification's id as its idempotency key, so a provider can drop the second copy.

Retries live in the database, not the broker: a transient failure sets `next_attempt_at` and the sweep
sends the row when it is due (no countdown messages held by a worker across a broker outage).

An invitation's message that is sent, or fails for good, records that on the invitation in the same
transaction as the row's status (notifications.services.accounts.invitation_outcome_record).

A task rides out a database restart with `with_db_retry`: the failed connection is dropped and the step is
tried again a few times over some seconds. Only the database's connection errors are retried; the step must
be safe to repeat (claims and de-duplication keys make the outbox's steps so)."""

import datetime as dt
import logging
import socket
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.channels import REGISTRY, DeliveryChannel
from notifications.errors import DeliveryError
from notifications.models import DeliveryAttempt, Notification, NotificationStatus
from notifications.services.accounts import ACCOUNT_KINDS, invitation_outcome_record, with_send_time_link

logger = logging.getLogger(__name__)
T = TypeVar("T")

CONNECTION_ERRORS = (OperationalError, InterfaceError)

# Recording the outcome of a message already sent is retried for longer than the other steps: giving up
# leaves the row `sending`, and the sweep would send the message a second time.
OUTCOME_PAUSES = (0.5, 1, 2, 4, 8, 15)


def with_db_retry(step: Callable[[], T], *, what: str, pauses: tuple[float, ...] = (0.5, 1, 2, 4)) -> T:
    """Run step(); on a database connection error, drop the broken connections, wait and run it again.
    After the last pause the error is raised (the task fails visibly; the outbox sweep takes the work up)."""
    for pause in (*pauses, None):
        try:
            return step()
        except CONNECTION_ERRORS as exc:
            if pause is None or any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
                raise
            logger.warning("Database connection lost during %s (%s); trying again in %s s", what, exc, pause)
            for conn in connections.all(initialized_only=True):
                conn.close()
            time.sleep(pause)
    raise AssertionError("unreachable")


def get_channel(kind: str) -> DeliveryChannel:
    """The delivery class registered for `kind` (notifications.channels.REGISTRY); unknown kinds fail for good."""
    try:
        return REGISTRY[kind]()
    except KeyError:
        raise DeliveryError(f"No channel of kind {kind!r}.", permanent=True) from None


def backoff(attempts: int) -> dt.timedelta:
    """Exponential: 10 s, 20 s, 40 s ... capped at 15 minutes."""
    return dt.timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 900))


def claim(notification_id: int, now: dt.datetime, task_id: str = "") -> bool:
    """Take the row for sending: it is pending, or `sending` but stale (its worker died), or `sending`
    under this same task (handed out again after its worker died)."""
    stale = now - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS)
    takeable = Q(status=NotificationStatus.PENDING) | Q(status=NotificationStatus.SENDING, claimed_at__lt=stale)
    if task_id:
        takeable |= Q(status=NotificationStatus.SENDING, claimed_by=task_id)
    return bool(
        Notification.objects.filter(pk=notification_id).filter(takeable)
        .update(status=NotificationStatus.SENDING, claimed_at=now, claimed_by=task_id, attempts=F("attempts") + 1)
    )


def notification_deliver(*, notification_id: int, task_id: str = "") -> str:
    """Returns the outcome: "sent", "retry", "failed" or "skipped" (claimed elsewhere, not due, or done).
    A lost database connection before the outside call is retried here; one after it only retries
    recording the outcome, never the send."""
    claimed = with_db_retry(lambda: _claim_and_start(notification_id, task_id), what="claiming a notification")
    if claimed is None:
        return "skipped"
    notification, attempt = claimed
    try:
        if notification.kind in ACCOUNT_KINDS:  # invitations and resets: their secret link exists only in the message
            with_send_time_link(notification)
        get_channel(notification.channel).send(notification)
    except DeliveryError as exc:
        error = exc
        return with_db_retry(lambda: _record_error(notification, attempt, error), what="recording a failed delivery",
                             pauses=OUTCOME_PAUSES)
    return with_db_retry(lambda: _record_sent(notification, attempt), what="recording a delivery",
                         pauses=OUTCOME_PAUSES)


def _claim_and_start(notification_id: int, task_id: str):
    now = timezone.now()
    if not claim(notification_id, now, task_id):
        return None
    notification = Notification.objects.select_related("recipient", "webhook").get(pk=notification_id)
    attempt = DeliveryAttempt.objects.create(notification=notification, started_at=now, worker=socket.gethostname())
    return notification, attempt


def _record_error(notification: Notification, attempt: DeliveryAttempt, exc: DeliveryError) -> str:
    finished = timezone.now()
    give_up = exc.permanent or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    attempt.outcome = DeliveryAttempt.Outcome.PERMANENT if exc.permanent else DeliveryAttempt.Outcome.TRANSIENT
    attempt.error, attempt.finished_at = str(exc), finished
    attempt.save(update_fields=["outcome", "error", "finished_at"])
    with transaction.atomic():  # the invitation's status with the row's, or neither (the step may be repeated)
        recorded = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.FAILED if give_up else NotificationStatus.PENDING,
            last_error=str(exc),
            next_attempt_at=finished + backoff(notification.attempts),
        )
        if give_up and recorded and notification.kind in ACCOUNT_KINDS:
            invitation_outcome_record(notification, status=NotificationStatus.FAILED, at=finished)
    if give_up:
        logger.error("Notification %s failed permanently on %s: %s", notification.uuid, notification.channel, exc)
        return "failed"
    logger.warning("Notification %s will be retried by the sweep after its backoff: %s", notification.uuid, exc)
    return "retry"


def _record_sent(notification: Notification, attempt: DeliveryAttempt) -> str:
    finished = timezone.now()
    attempt.outcome, attempt.finished_at = DeliveryAttempt.Outcome.SENT, finished
    attempt.save(update_fields=["outcome", "finished_at"])
    with transaction.atomic():
        Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.SENT, sent_at=finished,
                                                               last_error="")
        if notification.kind in ACCOUNT_KINDS:
            invitation_outcome_record(notification, status=NotificationStatus.SENT, at=finished)
    return "sent"
