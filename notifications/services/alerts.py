"""Alert delivery and escalation up the chain: nurse → charge nurse → physician (clinical-rules
"Urgency levels": emergency escalates after 5 min, urgent after 15, both center policy)."""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from monitoring.models import Alert, AlertEvent, AlertStatus
from monitoring.services.alerts import escalation_delay
from monitoring.services.policy import policy_for_center
from notifications.models import ChannelKind, Notification, NotificationKind
from notifications.services.outbox import notification_create
from notifications.services.routing import chain_role_for_step, channels_for, on_call, team_webhooks

logger = logging.getLogger(__name__)


CHANNEL_ORDER = {ChannelKind.WEBHOOK: 0, ChannelKind.SMS: 1, ChannelKind.EMAIL: 2}


def deliver_now(notification_id: int) -> str:
    from notifications.services.delivery import notification_deliver
    from notifications.tasks import schedule_retry

    outcome = notification_deliver(notification_id=notification_id)
    if outcome == "retry":
        schedule_retry(notification_id)
    return outcome


def alert_link(alert: Alert) -> str:
    return f"/staff/alerts/{alert.uuid}/"


def alert_notify(*, alert: Alert, step: int, now: dt.datetime | None = None, enqueue: bool = True) -> list[Notification]:
    """Write the Notification rows for one escalation step of an alert (idempotent per step and urgency).
    With enqueue=False the caller sends them itself (the fast path); the sweep covers a caller that dies."""
    now = now or timezone.now()
    team = alert.patient.care_team
    role = chain_role_for_step(step)
    kind = NotificationKind.ALERT if step == 0 else NotificationKind.ESCALATION
    policy = policy_for_center(alert.patient.center)
    delay = escalation_delay(alert.urgency, policy)
    context = {"link": alert_link(alert), "minutes": int(delay.total_seconds() // 60) * step if delay else 0}
    created = []
    recipients = on_call(team, role, now)
    if not recipients:
        logger.error("Alert %s step %s: nobody on call and no %s in team %s", alert.uuid, step, role, team.pk)
    base = f"alert:{alert.uuid}:u{alert.urgency}:s{step}"
    for user in recipients:
        for channel in channels_for(user, alert.urgency):
            row = notification_create(
                dedup_key=f"{base}:{channel}:user{user.pk}", kind=kind, channel=channel, alert=alert,
                patient=alert.patient, recipient=user, step=step, urgency=alert.urgency_label, alert_urgency=alert.urgency,
                language=user.preferred_language, context=context, enqueue_after_commit=enqueue,
            )
            if row:
                created.append(row)
    if alert.urgency >= 3:  # urgent and emergency also go to the ward's paging system
        for hook in team_webhooks(team):
            row = notification_create(
                dedup_key=f"{base}:webhook{hook.pk}", kind=kind, channel=ChannelKind.WEBHOOK, alert=alert,
                patient=alert.patient, webhook=hook, step=step, urgency=alert.urgency_label, alert_urgency=alert.urgency,
                context=context, enqueue_after_commit=enqueue,
            )
            if row:
                created.append(row)
    return created


def alert_changed_notify(*, alert_id: int, kind: str) -> None:
    """Fast path after an alert opens, gets worse or reopens: tell the on-call nurse now."""
    if kind not in (AlertEvent.Kind.OPENED, AlertEvent.Kind.URGENCY_RAISED, AlertEvent.Kind.REOPENED, "opened"):
        return
    alert = Alert.objects.select_related("patient__care_team", "patient__center").filter(pk=alert_id).first()
    if alert is None or alert.status == AlertStatus.RESOLVED:
        return
    rows = alert_notify(alert=alert, step=alert.escalation_level, enqueue=False)
    # Send in this task, pages and texts first: one queue hop from the check-in to the nurse's phone.
    # A row that needs a retry, or that this worker never reached, is picked up by its retry or the sweep.
    for row in sorted(rows, key=lambda n: CHANNEL_ORDER.get(n.channel, 9)):
        if row.status == "pending":
            deliver_now(row.pk)


def alerts_missing_notifications(now: dt.datetime):
    """Open alerts whose current step has no notification yet (the fast path was lost: a crash between
    commit and enqueue). The sweep delivers them."""
    has_step = Notification.objects.filter(alert=OuterRef("pk"), step=OuterRef("escalation_level"),
                                           alert_urgency=OuterRef("urgency"))
    return Alert.objects.exclude(status=AlertStatus.RESOLVED).filter(urgency__gte=2).filter(~Exists(has_step))


def escalate_due_alerts(*, now: dt.datetime | None = None) -> int:
    """Move every open alert whose `next_escalation_at` has passed one step up the chain."""
    now = now or timezone.now()
    escalated = 0
    due = list(Alert.objects.filter(status=AlertStatus.OPEN, next_escalation_at__lte=now)
               .select_related("patient__care_team", "patient__center")
               .values_list("pk", "escalation_level", "urgency", "patient__center_id"))
    for pk, level, urgency, _center in due:
        with transaction.atomic():
            alert = Alert.objects.select_related("patient__care_team", "patient__center").get(pk=pk)
            delay = escalation_delay(urgency, policy_for_center(alert.patient.center))
            changed = Alert.objects.filter(pk=pk, status=AlertStatus.OPEN, escalation_level=level,
                                           next_escalation_at__lte=now).update(
                escalation_level=level + 1, next_escalation_at=now + delay if delay else None, updated_at=now)
            if not changed:
                continue  # acknowledged meanwhile, or another scan took it
            alert.refresh_from_db()
            AlertEvent.objects.create(
                alert=alert, kind=AlertEvent.Kind.ESCALATED, at=now, old_status=alert.status, new_status=alert.status,
                old_urgency=alert.urgency, new_urgency=alert.urgency,
                note=f"Not acknowledged in time: step {level + 1} ({chain_role_for_step(level + 1)}).",
            )
            alert_notify(alert=alert, step=level + 1, now=now)
            escalated += 1
    return escalated
