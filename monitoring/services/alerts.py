"""Alerts: one open alert per patient and condition, updated by new findings; acknowledged and
resolved by staff. Every change is an AlertEvent row."""

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from monitoring.models import Alert, AlertEvent, AlertStatus, AlertView
from monitoring.rules import Finding, Policy, Urgency
from monitoring.rules.messages import literal, render_message
from monitoring.signals import alert_changed
from tracker.errors import ConflictError, InputError
from tracker.models import CheckIn, Patient, User

logger = logging.getLogger(__name__)


def _instruction_text(finding: Finding) -> str:
    """The finding's patient instruction as stored on the alert: its parameters (a center's crisis line,
    clinical-rules §9) filled in."""
    if not finding.instruction_params:
        return finding.patient_instruction
    return render_message((finding.patient_instruction, finding.instruction_params))


def escalation_delay(urgency: int, policy: Policy) -> dt.timedelta | None:
    """Staff targets of clinical-rules "Urgency levels" (center policy)."""
    if urgency >= Urgency.EMERGENCY:
        return dt.timedelta(minutes=policy.escalation_emergency_minutes)
    if urgency == Urgency.URGENT:
        return dt.timedelta(minutes=policy.escalation_urgent_minutes)
    if urgency == Urgency.SAME_DAY:
        return dt.timedelta(hours=policy.same_day_review_hours)
    return None


def _rationale_messages(finding: Finding) -> list:
    """The finding's rationale as stored: [[key, params], ...] (JSON)."""
    messages = finding.to_dict()["rationale_messages"]
    return list(messages) if isinstance(messages, list | tuple) else []


def _rationale_history(finding: Finding, alert: Alert) -> list:
    """The alert's rationales as message keys, this finding's first. An alert stored before the keys existed
    keeps its earlier text as one literal entry, so nothing said before is lost."""
    earlier = alert.rationale_messages or ([[list(literal(alert.rationale))]] if alert.rationale else [])
    return [_rationale_messages(finding), *earlier]


def _evidence_entry(finding: Finding, checkin: CheckIn) -> dict:
    return {
        "checkin": str(checkin.uuid),
        "recorded_at": checkin.recorded_at.isoformat(),
        "urgency": Urgency(finding.urgency).label,
        "rule_id": finding.rule_id,
        "source": finding.source,
        "rationale": finding.staff_rationale,
        "rationale_messages": _rationale_messages(finding),
        "values": finding.to_dict()["evidence"],
    }


def _notify_on_commit(alert: Alert, kind: str) -> None:
    """After commit, tell whoever listens (notifications). A failing listener is logged, never raised:
    the alert is stored and the notifications sweep finds any alert nobody was told about."""
    alert_id = alert.pk

    def _send() -> None:
        for receiver, result in alert_changed.send_robust(sender=Alert, alert_id=alert_id, kind=kind):
            if isinstance(result, Exception):
                logger.error("alert_changed receiver %r failed for alert %s: %r", receiver, alert_id, result)

    transaction.on_commit(_send, robust=True)


def _device_entry(finding: Finding, device: dict, now: dt.datetime) -> dict:
    """The evidence entry of device readings (clinical-rules §10): the readings' times, how many, their coverage
    and the device, or a device's silence; dated by the last reading (the silence: when it was found)."""
    values = finding.to_dict()["evidence"]
    entry = {name: _jsonable_time(value) for name, value in device.items()}
    return {
        "device": entry, "recorded_at": entry.get("last_measured_at") or now.isoformat(),
        "urgency": Urgency(finding.urgency).label, "rule_id": finding.rule_id, "source": finding.source,
        "rationale": finding.staff_rationale, "rationale_messages": _rationale_messages(finding), "values": values,
    }


def _jsonable_time(value):
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _continues(previous: dict, entry: dict) -> bool:
    """The entry goes on from the alert's latest one: the same rule on the same device, over readings that
    overlap or follow on from it (a fever still going), or the same silence. It then replaces it: a stream
    graded every few minutes, or graded twice, does not add an entry each time."""
    old, new = previous.get("device"), entry["device"]
    if not isinstance(old, dict) or old.get("stream_rule") != new.get("stream_rule") \
            or old.get("device") != new.get("device"):
        return False
    if "silent_since" in new:
        return old.get("silent_since") == new["silent_since"]
    old_last, new_first = old.get("last_measured_at") or "", new.get("first_measured_at") or ""
    return bool(old_last and new_first) and dt.datetime.fromisoformat(new_first) <= dt.datetime.fromisoformat(old_last)


def _merged(previous: dict, entry: dict) -> dict:
    old, new = previous["device"], entry["device"]
    if "first_measured_at" in old and "first_measured_at" in new:
        new = {**new, "first_measured_at": min(old["first_measured_at"], new["first_measured_at"],
                                               key=dt.datetime.fromisoformat),
               "last_measured_at": max(old["last_measured_at"], new["last_measured_at"], key=dt.datetime.fromisoformat),
               "readings": max(old.get("readings") or 0, new.get("readings") or 0)}
    return {**entry, "device": new, "recorded_at": new.get("last_measured_at") or entry["recorded_at"]}


@dataclass(frozen=True)
class FindingRecord:
    """One finding to record (`alerts_record_findings`): the patient, the finding, their center's policy, and its
    evidence: the check-in, or `device`, what device readings showed."""

    patient: Patient
    finding: Finding
    policy: Policy
    checkin: CheckIn | None = None
    device: dict | None = None


def alert_record_finding(*, patient, finding: Finding, policy: Policy, checkin: CheckIn | None = None,
                         device: dict | None = None, now=None) -> Alert:
    """Open an alert for the finding's condition, or add the finding to the one already open. The evidence is
    a check-in, or `device`: what device readings showed (clinical-rules §10: `device`, `stream_rule`,
    `first_measured_at`, `last_measured_at`, `readings`, `coverage_percent`; a silence: `silent_since`). Device
    evidence that goes on from the alert's latest entry replaces it, and adds an event only when it makes the
    alert more urgent: grading the same readings twice changes nothing a person sees.

    The caller holds a lock on the patient row, so two check-ins (or a check-in and a batch of readings) cannot
    race to open the same alert."""
    record = FindingRecord(patient=patient, finding=finding, policy=policy, checkin=checkin, device=device)
    return alerts_record_findings(records=[record], now=now)[0]


def alerts_record_findings(*, records: Sequence[FindingRecord], now=None) -> list[Alert]:
    """`alert_record_finding` for many findings at once (a scan's batch), in a fixed number of queries: the open
    alerts of their patients and conditions, one INSERT of the new alerts, one UPDATE of those changed (of the
    fields a finding changes; two when some only had their device evidence replaced), one INSERT of the events. Each finding is applied in order
    exactly as `alert_record_finding` applies it alone, so two findings of one patient and condition are one
    alert with both (opened, then an evidence event). Returns each record's alert, in order; `alert_changed` is
    sent after commit for each event, in order. The caller holds the patients' locks."""
    for record in records:
        if (record.checkin is None) == (record.device is None):
            raise ValueError("alert evidence is a check-in or device readings")
    if not records:
        return []
    now = now or timezone.now()
    open_alerts = _open_alerts({(record.patient.pk, record.finding.condition) for record in records})
    new: list[Alert] = []  # inserted as they are after the last of their findings
    saved: dict[int, Alert] = {}  # the open alerts changed, by pk
    whole: set[int] = set()  # of those, the ones with an event (the others: only their device evidence replaced)
    events: list[AlertEvent] = []
    notices: list[tuple[Alert, str]] = []
    result: list[Alert] = []
    for record in records:
        key = (record.patient.pk, record.finding.condition)
        alert = open_alerts.get(key)
        event: AlertEvent | None
        if alert is None:
            alert, event = _opened(record, now)
            open_alerts[key] = alert
            new.append(alert)
        else:
            event = _added(alert, record, now)
            if alert.pk is not None:
                saved[alert.pk] = alert
                if event is not None:
                    whole.add(alert.pk)
        if event is not None:
            events.append(event)
            notices.append((alert, event.kind))
        result.append(alert)
    if new:
        Alert.objects.bulk_create(new)
    _save_alerts([alert for pk, alert in saved.items() if pk not in whole], ["evidence", "updated_at"])
    _save_alerts([alert for pk, alert in saved.items() if pk in whole], ADDED_FIELDS)
    if events:
        AlertEvent.objects.bulk_create(events)
    for alert, kind in notices:
        _notify_on_commit(alert, kind)
    return result


def _open_alerts(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Alert]:
    """The open alert of each (patient id, condition), in one query (at most one each: alert_one_open_per_condition)."""
    if len(keys) == 1:
        ((patient_id, condition),) = keys
        query = Alert.objects.filter(patient_id=patient_id, condition=condition)
    else:
        query = Alert.objects.filter(patient_id__in={k[0] for k in keys}, condition__in={k[1] for k in keys})
    return {(a.patient_id, a.condition): a for a in query.exclude(status=AlertStatus.RESOLVED)
            if (a.patient_id, a.condition) in keys}


def _save_alerts(alerts: list[Alert], fields: list[str]) -> None:
    """One UPDATE of these fields of the alerts."""
    if len(alerts) == 1:
        alerts[0].save(update_fields=fields)
    elif alerts:
        Alert.objects.bulk_update(alerts, fields)


def _opened(record: FindingRecord, now: dt.datetime) -> tuple[Alert, AlertEvent]:
    """A new alert for the finding (not saved) and its `opened` event."""
    finding, checkin = record.finding, record.checkin
    urgency = int(finding.urgency)
    delay = escalation_delay(urgency, record.policy)
    alert = Alert(
        patient=record.patient, condition=finding.condition, urgency=urgency, min_grade=finding.min_grade,
        grading_system=finding.grading_system, title=finding.title, rationale=finding.staff_rationale,
        rationale_messages=[_rationale_messages(finding)],
        patient_instruction=_instruction_text(finding), rule_ids=[finding.rule_id], sources=[finding.source],
        evidence=[_entry(record, now)], first_checkin=checkin, last_checkin=checkin,
        opened_at=now, updated_at=now, next_escalation_at=now + delay if delay else None,
    )
    return alert, AlertEvent(alert=alert, kind=AlertEvent.Kind.OPENED, at=now, new_status=AlertStatus.OPEN,
                             new_urgency=urgency, checkin=checkin, note=finding.staff_rationale)


def _entry(record: FindingRecord, now: dt.datetime) -> dict:
    if record.checkin is not None:
        return _evidence_entry(record.finding, record.checkin)
    return _device_entry(record.finding, record.device or {}, now)


# What adding a finding to an open alert may change (`_added`): what is written back.
ADDED_FIELDS = ["evidence", "rationale_messages", "rule_ids", "sources", "first_checkin", "last_checkin", "updated_at",
                "min_grade", "title", "urgency", "rationale", "patient_instruction", "grading_system", "status",
                "acknowledged_at", "acknowledged_by", "escalation_level", "next_escalation_at"]


def _added(alert: Alert, record: FindingRecord, now: dt.datetime) -> AlertEvent | None:
    """Add the finding to the open alert (in memory). Returns the event to record, or None when device evidence
    only replaced the alert's latest entry (nothing a person sees changed: no event, evidence and updated_at)."""
    finding, checkin = record.finding, record.checkin
    urgency = int(finding.urgency)
    entry = _entry(record, now)
    old_status, old_urgency = alert.status, alert.urgency
    previous = alert.evidence[-1] if alert.evidence else None
    if checkin is None and previous is not None and _continues(previous, entry):
        alert.evidence = [*alert.evidence[:-1], _merged(previous, entry)]
        if urgency <= old_urgency and (finding.min_grade or 0) <= (alert.min_grade or 0):
            alert.updated_at = now
            return None
    else:
        alert.evidence = [*alert.evidence, entry]
    alert.rationale_messages = _rationale_history(finding, alert)
    alert.rule_ids = sorted({*alert.rule_ids, finding.rule_id})
    alert.sources = sorted({*alert.sources, finding.source})
    if checkin is not None:
        alert.last_checkin = checkin
        alert.first_checkin = alert.first_checkin or checkin
    alert.updated_at = now
    if (finding.min_grade or 0) > (alert.min_grade or 0):
        alert.min_grade = finding.min_grade
        alert.title = finding.title
    kind = AlertEvent.Kind.EVIDENCE
    if urgency > old_urgency:
        delay = escalation_delay(urgency, record.policy)
        alert.urgency = urgency
        alert.title = finding.title
        alert.rationale = finding.staff_rationale + "\n\nEarlier: " + alert.rationale
        alert.patient_instruction = _instruction_text(finding)
        alert.grading_system = finding.grading_system
        kind = AlertEvent.Kind.URGENCY_RAISED
        if alert.status == AlertStatus.ACKNOWLEDGED:
            # Worse than what someone took ownership of: it needs a person again.
            alert.status = AlertStatus.OPEN
            alert.acknowledged_at = alert.acknowledged_by = None
            kind = AlertEvent.Kind.REOPENED
        alert.escalation_level = 0
        alert.next_escalation_at = now + delay if delay else None
    else:
        alert.rationale = finding.staff_rationale + "\n\nEarlier: " + alert.rationale
    return AlertEvent(alert=alert, kind=kind, at=now, old_status=old_status, new_status=alert.status,
                      old_urgency=old_urgency, new_urgency=alert.urgency, checkin=checkin,
                      note=finding.staff_rationale)


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user: User, note: str = "") -> Alert:
    """Take ownership of an open alert. Conditional update: two nurses clicking at once, one wins."""
    now = timezone.now()
    changed = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user, next_escalation_at=None,
        updated_at=now,
    )
    alert.refresh_from_db()
    if not changed:
        raise ConflictError(f"This alert is already {alert.get_status_display().lower()}.",
                            fields={"status": [alert.status]})
    AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ACKNOWLEDGED, at=now, actor=user,
                              old_status=AlertStatus.OPEN, new_status=AlertStatus.ACKNOWLEDGED,
                              old_urgency=alert.urgency, new_urgency=alert.urgency, note=note)
    alert_mark_seen(alert=alert, user=user, at=now)
    _notify_on_commit(alert, "acknowledged")
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, user: User, note: str) -> Alert:
    """Close an alert with a note saying what was done."""
    note = (note or "").strip()
    if not note:
        raise InputError("A resolution note is required.", fields={"note": ["Say what was done."]})
    now = timezone.now()
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.status == AlertStatus.RESOLVED:
        raise ConflictError("This alert is already resolved.", fields={"status": [locked.status]})
    old_status = locked.status
    Alert.objects.filter(pk=alert.pk).update(
        status=AlertStatus.RESOLVED, resolved_at=now, resolved_by=user, resolution_note=note,
        next_escalation_at=None, updated_at=now,
    )
    locked.refresh_from_db()
    AlertEvent.objects.create(alert=locked, kind=AlertEvent.Kind.RESOLVED, at=now, actor=user,
                              old_status=old_status, new_status=AlertStatus.RESOLVED,
                              old_urgency=locked.urgency, new_urgency=locked.urgency, note=note)
    alert_mark_seen(alert=locked, user=user, at=now)
    _notify_on_commit(locked, "resolved")
    return locked


def alert_close_device_back(*, alert: Alert, note: str, now=None) -> Alert:
    """Close a device-silence alert because readings resumed (clinical-rules §10 "A 'device back' event closes
    the silence alert"): resolved by the tracker, not by a person, with a `device_back` event. The caller holds
    the patient's lock."""
    now = now or timezone.now()
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.status == AlertStatus.RESOLVED:
        return locked
    old_status = locked.status
    locked.status, locked.resolved_at, locked.resolved_by = AlertStatus.RESOLVED, now, None
    locked.resolution_note, locked.next_escalation_at, locked.updated_at = note, None, now
    locked.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note", "next_escalation_at",
                               "updated_at"])
    AlertEvent.objects.create(alert=locked, kind=AlertEvent.Kind.DEVICE_BACK, at=now, old_status=old_status,
                              new_status=AlertStatus.RESOLVED, old_urgency=locked.urgency,
                              new_urgency=locked.urgency, note=note)
    _notify_on_commit(locked, "resolved")
    return locked


def alert_log_call(*, alert: Alert, user: User, called: str, outcome: str, note: str = "") -> AlertEvent:
    """Record a phone call about the alert (who was called, what came of it, a note) as a row of its history.
    A call changes neither the status nor the escalation: acknowledging is a separate, explicit step."""
    errors = {}
    if called not in AlertEvent.CallWith.values:
        errors["called"] = ["Say who was called: " + ", ".join(AlertEvent.CallWith.values) + "."]
    if outcome not in AlertEvent.CallOutcome.values:
        errors["outcome"] = ["Say what came of the call: " + ", ".join(AlertEvent.CallOutcome.values) + "."]
    note = (note or "").strip()
    if outcome == AlertEvent.CallOutcome.OTHER and not note:
        errors["note"] = ["Say what came of the call."]
    if errors:
        raise InputError("The call was not recorded: " + ", ".join(errors) + ".", fields=errors)
    event = AlertEvent.objects.create(
        alert=alert, kind=AlertEvent.Kind.CALL, at=timezone.now(), actor=user, old_status=alert.status,
        new_status=alert.status, old_urgency=alert.urgency, new_urgency=alert.urgency, call_with=called,
        call_outcome=outcome, note=note)
    alert_mark_seen(alert=alert, user=user, at=event.at)
    return event


def alert_mark_seen(*, alert: Alert, user: User, at=None) -> None:
    """The staff member has seen the alert as it is now (opened its page, or acted on it): it is no longer
    "new" to her until it changes again (`selectors.unseen_alert_ids`). One row per alert and person."""
    AlertView.objects.update_or_create(alert=alert, user=user, defaults={"seen_at": at or timezone.now()})
