"""Alert delivery and escalation up the chain: nurse → charge nurse → physician (clinical-rules
"Urgency levels": emergency escalates after 5 min, urgent after 15, both center policy)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from monitoring.models import Alert, AlertEvent, AlertStatus
from monitoring.selectors import policy_for_center
from monitoring.services.alerts import escalation_delay
from notifications.models import ChannelKind, Notification, NotificationKind, NotificationStatus
from notifications.services.batches import batch_with_fallback, scan_in_batches
from notifications.services.delivery import notification_deliver
from notifications.services.outbox import notification_create, notifications_create_many
from notifications.services.routing import chain_role_for_step, channels_for, on_call, team_webhooks
from notifications.services.scan_cache import ScanCache

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

logger = logging.getLogger(__name__)


class StepNotified(TypedDict):
    """What `_claim_alerts` annotates: the alert's current step has its notification rows."""

    step_notified: bool


CHANNEL_ORDER: dict[str, int] = {ChannelKind.WEBHOOK: 0, ChannelKind.SMS: 1, ChannelKind.EMAIL: 2}


def alert_link(alert: Alert) -> str:
    return f"/staff/alerts/{alert.uuid}/"


def _alert_rows(alert: Alert, step: int, policy, recipients: list, preferences, hooks: list) -> list[dict]:
    """The Notification rows (as field dicts) for one escalation step of an alert, idempotent per step and
    urgency through their de-duplication keys."""
    kind = NotificationKind.ALERT if step == 0 else NotificationKind.ESCALATION
    delay = escalation_delay(alert.urgency, policy)
    context = {"link": alert_link(alert), "minutes": int(delay.total_seconds() // 60) * step if delay else 0}
    if not recipients:
        logger.error("Alert %s step %s: nobody on call and no %s in team %s", alert.uuid, step,
                     chain_role_for_step(step), alert.patient.care_team_id)
    base = f"alert:{alert.uuid}:u{alert.urgency}:s{step}"
    rows = []
    for user in recipients:
        for channel in channels_for(user, alert.urgency, preferences=preferences):
            rows.append(dict(
                dedup_key=f"{base}:{channel}:user{user.pk}", kind=kind, channel=channel, alert=alert,
                patient=alert.patient, recipient=user, step=step, urgency=alert.urgency_label, alert_urgency=alert.urgency,
                language=user.preferred_language, context=context,
            ))
    if alert.urgency >= 3:  # urgent and emergency also go to the ward's paging system
        for hook in hooks:
            rows.append(dict(
                dedup_key=f"{base}:webhook{hook.pk}", kind=kind, channel=ChannelKind.WEBHOOK, alert=alert,
                patient=alert.patient, webhook=hook, step=step, urgency=alert.urgency_label, alert_urgency=alert.urgency,
                context=context,
            ))
    return rows


def alert_notify(*, alert: Alert, step: int, now: dt.datetime | None = None, enqueue: bool = True) -> list[Notification]:
    """Write the Notification rows for one escalation step of an alert (idempotent per step and urgency).
    With enqueue=False the caller sends them itself (the fast path); the sweep covers a caller that dies."""
    now = now or timezone.now()
    team = alert.patient.care_team
    recipients = on_call(team, chain_role_for_step(step), now)
    rows = _alert_rows(alert, step, policy_for_center(alert.patient.center), recipients, None,
                       team_webhooks(team) if alert.urgency >= 3 else [])
    created = []
    for fields in rows:
        row = notification_create(**fields, enqueue_after_commit=enqueue)
        if row:
            created.append(row)
    return created


def alert_notify_now(*, alert_id: int, kind: str, task_id: str = "") -> None:
    """Fast path after an alert opens, gets worse or reopens: tell the on-call nurse now.

    Sends every row of the alert's current step that is waiting, not only the rows written now: the same
    task handed out again after its worker died finds its rows written (and one perhaps `sending` under
    its own id) and sends them at once instead of leaving them to the sweep."""
    if kind not in (AlertEvent.Kind.OPENED, AlertEvent.Kind.URGENCY_RAISED, AlertEvent.Kind.REOPENED, "opened"):
        return
    alert = Alert.objects.select_related("patient__care_team", "patient__center").filter(pk=alert_id).first()
    if alert is None or alert.status == AlertStatus.RESOLVED:
        return
    alert_notify(alert=alert, step=alert.escalation_level, enqueue=False)
    waiting = Q(status=NotificationStatus.PENDING, attempts=0)
    if task_id:
        waiting |= Q(status=NotificationStatus.SENDING, claimed_by=task_id)
    rows = list(Notification.objects.filter(alert=alert, step=alert.escalation_level, alert_urgency=alert.urgency)
                .filter(waiting).values_list("pk", "channel"))
    # Pages and texts first: one queue hop from the check-in to the nurse's phone. A row that needs a
    # retry waits for its backoff and the sweep.
    for pk, _channel in sorted(rows, key=lambda row: CHANNEL_ORDER.get(row[1], 9)):
        notification_deliver(notification_id=pk, task_id=task_id)


def _current_step_rows():
    """The notification rows of an alert's current step and urgency (for Exists(...) on an Alert query)."""
    return Notification.objects.filter(alert=OuterRef("pk"), step=OuterRef("escalation_level"),
                                       alert_urgency=OuterRef("urgency"))


def alerts_missing_notifications(now: dt.datetime):
    """Open alerts whose current step has no notification yet (the fast path was lost: a crash between
    commit and enqueue, or the broker was down). The sweep delivers them."""
    return Alert.objects.exclude(status=AlertStatus.RESOLVED).filter(urgency__gte=2).filter(
        ~Exists(_current_step_rows()))


ESCALATION_BATCH = 200
# One tick (beat runs the scan every 30 s) starts no batch after this many seconds; what is left is
# escalated at the next tick. 400 overdue alerts at 100,000 patients take about a second.
ESCALATION_TICK_SECONDS = 20.0


def _escalate_claimed(alerts: list[WithAnnotations[Alert, StepNotified]], now: dt.datetime,
                      cache: ScanCache) -> int:
    """Move each locked, due alert one step up the chain, inside the caller's transaction: the alerts, one
    event each and their notifications in a fixed number of queries, whatever len(alerts)."""
    if not alerts:
        return 0
    policies = cache.policies(a.patient.center_id for a in alerts)
    teams = {a.patient.care_team_id for a in alerts}
    # An alert whose current step was never notified (its fast path was lost in a broker outage and this
    # scan ran before the sweep) gets that step's rows too: nobody is skipped on the way up the chain.
    unnotified = [a for a in alerts if not a.step_notified]
    on_call_by_step = {}
    for step in {a.escalation_level + 1 for a in alerts} | {a.escalation_level for a in unnotified}:
        on_call_by_step[step] = cache.on_call(teams, chain_role_for_step(step))
    hooks = cache.webhooks({a.patient.care_team_id for a in alerts if a.urgency >= 3})
    preferences = cache.preferences(u.pk for people in on_call_by_step.values() for users in people.values()
                                    for u in users)
    events, rows = [], []
    for alert in unnotified:
        team = alert.patient.care_team_id
        rows += _alert_rows(alert, alert.escalation_level, policies[alert.patient.center_id],
                            on_call_by_step[alert.escalation_level][team], preferences, hooks.get(team, []))
    for alert in alerts:
        level = alert.escalation_level
        delay = escalation_delay(alert.urgency, policies[alert.patient.center_id])
        alert.escalation_level, alert.next_escalation_at, alert.updated_at = level + 1, now + delay if delay else None, now
        events.append(AlertEvent(
            alert=alert, kind=AlertEvent.Kind.ESCALATED, at=now, old_status=alert.status, new_status=alert.status,
            old_urgency=alert.urgency, new_urgency=alert.urgency,
            note=f"Not acknowledged in time: step {level + 1} ({chain_role_for_step(level + 1)}).",
        ))
        team = alert.patient.care_team_id
        rows += _alert_rows(alert, level + 1, policies[alert.patient.center_id], on_call_by_step[level + 1][team],
                            preferences, hooks.get(team, []))
    if connection.vendor != "postgresql":  # SQLite, the quick start
        Alert.objects.bulk_update(alerts, ["escalation_level", "next_escalation_at", "updated_at"])
    else:
        _save_escalations(alerts, now)
    AlertEvent.objects.bulk_create(events)
    notifications_create_many(rows)
    return len(alerts)


def _save_escalations(alerts: Sequence[Alert], now: dt.datetime) -> None:
    with connection.cursor() as cursor:  # one UPDATE for the batch (bulk_update writes a CASE per row)
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Alert._meta.db_table)} AS a SET escalation_level = v.level, "  # noqa: S608
            "next_escalation_at = v.next_at, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[]) AS v(id, level, next_at) WHERE a.id = v.id",
            [now, [a.pk for a in alerts], [a.escalation_level for a in alerts], [a.next_escalation_at for a in alerts]])


def _claim_alerts(now: dt.datetime, *, after: int = 0, limit: int = ESCALATION_BATCH,
                  alert_id: int | None = None) -> list[WithAnnotations[Alert, StepNotified]]:
    """Open alerts due to escalate, locked until the end of the transaction with their patients; rows another
    scan or a check-in holds are skipped (taken at the next tick). The patient is locked too (FOR NO KEY
    UPDATE, as a check-in locks it first), so a check-in of that patient waits for this batch instead of
    the two waiting on each other (the check-in holds the patient and wants the alert; the notifications
    written here check their patient key at commit)."""
    due = (Alert.objects.select_for_update(skip_locked=True, no_key=True, of=("self", "patient"))
           .select_related("patient").filter(status=AlertStatus.OPEN, next_escalation_at__lte=now)
           .annotate(step_notified=Exists(_current_step_rows())))
    if alert_id is not None:
        return list(due.filter(pk=alert_id))
    return list(due.filter(pk__gt=after).order_by("pk")[:limit])


def alert_escalate(*, alert_id: int, now: dt.datetime | None = None) -> bool:
    """Escalate one due alert in its own transaction (the fallback of a failed batch). True if it moved."""
    now = now or timezone.now()
    with transaction.atomic():
        return bool(_escalate_claimed(_claim_alerts(now, alert_id=alert_id), now, ScanCache(now)))


def alerts_escalate_due(*, now: dt.datetime | None = None, batch_size: int = ESCALATION_BATCH,
                        max_seconds: float = ESCALATION_TICK_SECONDS) -> int:
    """Move every open alert whose `next_escalation_at` has passed one step up the chain: batches of
    `batch_size` alerts in id order, one transaction each, until none is due or `max_seconds` have passed.
    A batch that fails is rolled back and its alerts are escalated one transaction each; one that fails
    alone is logged at ERROR and stays due. Returns how many alerts moved."""
    now = now or timezone.now()
    cache = ScanCache(now)
    started = time.monotonic()

    def work(alerts: list[WithAnnotations[Alert, StepNotified]]) -> dict[int, bool]:
        _escalate_claimed(alerts, now, cache)
        return {alert.pk: True for alert in alerts}

    def batch(after: int, limit: int) -> tuple[list[int], dict]:
        return batch_with_fallback(
            claim=lambda: _claim_alerts(now, after=after, limit=limit), work=work,
            one=lambda alert_id: alert_escalate(alert_id=alert_id, now=now),
            logger=logger, batch_name="Escalation batch", rows_name="alerts", row_name="Escalation of alert")

    moved, stopped_after = scan_in_batches(batch=batch, batch_size=batch_size, max_seconds=max_seconds)
    escalated = sum(bool(result) for result in moved.values())
    if stopped_after is not None:
        logger.warning("Escalation scan stopped after %s alerts in %.0f s; the rest wait for the next tick",
                       escalated, time.monotonic() - started)
    return escalated
