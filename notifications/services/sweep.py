"""The outbox sweep (every 15 s): enqueue rows that are due but not moving (the broker was down, a worker
died mid-send, a retry's backoff has passed), and give alerts whose fast-path notification was lost their
rows. Rows given up after their last attempt mark their invitations (for invitation messages) failed, with
one query for all of them."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import Notification, NotificationStatus
from notifications.services.accounts import invitation_outcomes_record
from notifications.services.alerts import alert_notify, alerts_missing_notifications
from notifications.services.outbox import enqueue

logger = logging.getLogger(__name__)
BATCH = 1000


# A new row's own task (the alert's fast path, or the hand-off after commit) normally sends it within a
# second; the sweep leaves it that long before sending it itself.
NEW_ROW_GRACE = dt.timedelta(seconds=10)


def stuck_notifications(now: dt.datetime):
    """Rows that should be moving and are not: new rows nobody sent (the broker was down), retries whose
    backoff has passed, and rows left `sending` by a worker that died."""
    stale = now - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS)
    return Notification.objects.filter(
        Q(status=NotificationStatus.PENDING, attempts=0, next_attempt_at__lte=now - NEW_ROW_GRACE)
        | Q(status=NotificationStatus.PENDING, attempts__gt=0, next_attempt_at__lte=now)
        | Q(status=NotificationStatus.SENDING, claimed_at__lt=stale)
    )


def _give_up_exhausted(now: dt.datetime) -> int:
    """Mark failed the stuck rows that used up their attempts, and their invitations with them: three queries
    however many rows (one when there are none). The rows are locked while this runs, so the invitations
    marked are those of exactly the rows given up."""
    with transaction.atomic():
        exhausted = list(stuck_notifications(now).filter(attempts__gte=settings.NOTIFICATION_MAX_ATTEMPTS)
                         .select_for_update().values_list("pk", "kind", "context__invitation"))
        if not exhausted:
            return 0
        gave_up = Notification.objects.filter(pk__in=[pk for pk, _kind, _invitation in exhausted]).update(
            status=NotificationStatus.FAILED,
            last_error="Gave up: delivery never completed after the maximum number of attempts.")
        invitation_outcomes_record([(kind, invitation) for _pk, kind, invitation in exhausted],
                                   status=NotificationStatus.FAILED, at=now)
    return gave_up


def outbox_sweep(*, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    alerts_fixed = 0
    for alert in alerts_missing_notifications(now).select_related("patient__care_team", "patient__center")[:BATCH]:
        if alert_notify(alert=alert, step=alert.escalation_level, now=now):
            alerts_fixed += 1
            logger.warning("Alert %s had no notification for step %s; created now", alert.uuid, alert.escalation_level)
    # A row whose delivery keeps dying without an outcome (a crash inside a channel) is not retried forever:
    # it becomes a visible failure for the admin and `queue_health`.
    gave_up = _give_up_exhausted(now)
    if gave_up:
        logger.error("%s notification(s) failed: delivery never completed after %s attempts", gave_up,
                     settings.NOTIFICATION_MAX_ATTEMPTS)
    ids = list(stuck_notifications(now).order_by("next_attempt_at").values_list("pk", flat=True)[:BATCH])
    for pk in ids:
        enqueue(pk)
    return {"requeued": len(ids), "alerts_fixed": alerts_fixed, "gave_up": gave_up}
