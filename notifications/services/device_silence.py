"""The device silence scan (clinical-rules §10), every 60 s from beat: streaming devices worn during a risk period
that have sent nothing for the center's limit (30 min, policy) raise the patient's `device_silence` alert at
same-day urgency (the nurse's task: it reaches the team as every alert does) and a reminder to the patient and
their caregivers ("your patch has not sent a reading ..."); after 2 h (policy) the alert is urgent and the
reminder goes again. A silence whose device is back, taken off, or whose risk period ended is closed (readings
grading closes a device that is back at once; the scan catches the rest).

Batches as the other scans (notifications/services/batches.py): each claims up to BATCH_SIZE due assignments
with one indexed query (`assignment_silence`, a partial index on when the device was last heard from, open
assignments only), locks their patients (one grading or check-in at a time per patient) and works them in one
transaction. What is recorded is monitoring's (monitoring/services/device_silence.py)."""

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from monitoring.models import DeviceSilence, PolicySetting
from monitoring.rules.policy import POLICY_FIELDS
from monitoring.services.device_silence import (
    SilentDevice,
    in_risk_period,
    silence_end,
    silences_record,
    silent_since,
    streaming_assignments,
)
from notifications.models import NotificationKind
from notifications.services.batches import batch_with_fallback, scan_in_batches
from notifications.services.outbox import notifications_create_many
from notifications.services.routing import patient_channels
from notifications.services.scan_cache import ScanCache
from tracker.models import CaregiverLink, Patient

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
TICK_MAX_SECONDS = 40.0
Stage = DeviceSilence.Stage


def _shortest(name: str) -> dt.timedelta:
    """The shortest limit any center sets for `name` (the published default when none is lower): the claim
    query's cut-off; each row is then checked against its own center's policy."""
    values = [int(float(v)) for v in PolicySetting.objects.filter(name=name).values_list("value", flat=True)]
    return dt.timedelta(minutes=min([int(POLICY_FIELDS[name][0]), *values]))  # type: ignore[call-overload]


def _claim(now: dt.datetime, *, after: int = 0, limit: int = BATCH_SIZE, assignment_id: int | None = None,
           same_day: dt.timedelta, urgent: dt.timedelta) -> list[Any]:
    """Open streaming assignments silent past a limit in a risk period, not yet raised to that stage, locked
    until the end of the transaction (rows another scan holds are skipped)."""
    open_silence = DeviceSilence.objects.filter(assignment=OuterRef("pk"), ended_at__isnull=True)
    due = (streaming_assignments().select_for_update(skip_locked=True, no_key=True, of=("self",))
           .select_related("device", "patient__center", "patient__user")
           .annotate(heard_at=silent_since(), stage=Subquery(open_silence.values("stage")[:1]),
                     silence_id=Subquery(open_silence.values("pk")[:1]))
           .filter(heard_at__lte=now - same_day)
           .filter(Q(stage__isnull=True) | Q(stage__lt=Stage.URGENT, heard_at__lte=now - urgent))
           .filter(in_risk_period(now)))
    if assignment_id is not None:
        return list(due.filter(pk=assignment_id))
    return list(due.filter(pk__gt=after).order_by("pk")[:limit])


def _reminders(patient: Patient, silence: DeviceSilence, caregivers: list, cache: ScanCache) -> list[dict]:
    people = [u for u in [patient.user, *caregivers] if u is not None]
    preferences = cache.preferences(u.pk for u in people)
    rows = []
    for user in people:
        for channel in patient_channels(user, patient, preferences=preferences):
            rows.append(dict(
                dedup_key=f"silence:{silence.pk}:{silence.stage}:user{user.pk}:{channel}",
                kind=NotificationKind.DEVICE_SILENCE, channel=channel, patient=patient, recipient=user,
                language=patient.preferred_language if user.pk == patient.user_id else user.preferred_language,
                context={"link": f"/patients/{patient.uuid}/", "minutes": int((cache.at - silence.silent_since)
                                                                               .total_seconds() // 60)},
            ))
    return rows


def _work(rows: list[Any], now: dt.datetime, cache: ScanCache) -> dict[int, str]:
    if not rows:
        return {}
    # The patients' rows too (one grading or check-in at a time per patient). Skipped when another transaction
    # holds one (a grading, a check-in, perhaps the ingest, which may hold a patient and wait for an assignment
    # this batch holds): its assignments stay due for the next tick, and no lock waits in a cycle.
    locked = set(Patient.objects.select_for_update(no_key=True, skip_locked=True)
                 .filter(pk__in={r.patient_id for r in rows}).values_list("pk", flat=True))
    rows = [r for r in rows if r.patient_id in locked]
    policies = cache.policies(r.patient.center_id for r in rows)
    silences = {s.pk: s for s in DeviceSilence.objects.filter(pk__in=[r.silence_id for r in rows if r.silence_id])}
    caregivers: dict[int, list] = {}
    for link in CaregiverLink.objects.filter(patient_id__in={r.patient_id for r in rows}).select_related("user"):
        caregivers.setdefault(link.patient_id, []).append(link.user)
    old_stages = [silences[r.silence_id].stage if r.silence_id in silences else 0 for r in rows]
    recorded = silences_record(silent=[
        SilentDevice(assignment=row, since=row.heard_at, open_silence=silences.get(row.silence_id),
                     policy=policies[row.patient.center_id]) for row in rows], now=now)
    raised = [(row, silence) for row, old_stage, silence in zip(rows, old_stages, recorded, strict=True)
              if silence is not None and silence.stage != old_stage]
    # Everyone to remind, their preferences read at once (the cache keeps them for _reminders).
    cache.preferences(u.pk for row, _ in raised for u in [row.patient.user, *caregivers.get(row.patient_id, [])]
                      if u is not None)
    results: dict[int, str] = {row.pk: "not due" for row in rows}
    notices: list[dict] = []
    for row, silence in raised:
        notices += _reminders(row.patient, silence, caregivers.get(row.patient_id, []), cache)
        results[row.pk] = Stage(silence.stage).name.lower()
    if notices:
        notifications_create_many(notices)
    return results


def device_silence_batch(*, now: dt.datetime, after: int = 0, limit: int = BATCH_SIZE,
                         same_day: dt.timedelta | None = None, urgent: dt.timedelta | None = None,
                         ) -> tuple[list[int], dict]:
    """One batch: claim up to `limit` due assignments with ids above `after` and raise their silences."""
    same_day = same_day if same_day is not None else _shortest("device_silence_minutes")
    urgent = urgent if urgent is not None else _shortest("device_silence_urgent_minutes")
    cache = ScanCache(now)
    return batch_with_fallback(
        claim=lambda: _claim(now, after=after, limit=limit, same_day=same_day, urgent=urgent),
        work=lambda rows: _work(rows, now, cache),
        one=lambda pk: _one(pk, now, same_day, urgent),
        logger=logger, batch_name="Device silence batch", rows_name="assignments", row_name="Assignment")


def _one(assignment_id: int, now: dt.datetime, same_day: dt.timedelta, urgent: dt.timedelta) -> str:
    with transaction.atomic():
        rows = _claim(now, assignment_id=assignment_id, same_day=same_day, urgent=urgent)
        return _work(rows, now, ScanCache(now)).get(assignment_id, "not due")


def silences_end_due(*, now: dt.datetime) -> int:
    """Close the silences that are over: the device sent again (readings grading usually did this already), was
    taken off, or the patient's risk period ended. One query finds them (the open silences are few)."""
    back: list[DeviceSilence] = []
    ended: list[DeviceSilence] = []
    risk_over: list[DeviceSilence] = []
    silence: Any
    for silence in (DeviceSilence.objects.filter(ended_at__isnull=True).select_related("assignment")
                    .annotate(risk_now=in_risk_period(now))):
        assignment = silence.assignment
        if assignment.ended_at is not None:
            ended.append(silence)
        elif (assignment.last_received_at or silence.silent_since) > silence.silent_since:
            back.append(silence)
        elif not silence.risk_now:
            risk_over.append(silence)
    if back or ended or risk_over:
        with transaction.atomic():
            patients = {s.patient_id for s in (*back, *ended, *risk_over)}
            list(Patient.objects.select_for_update(no_key=True).filter(pk__in=patients).order_by("pk")
                 .values_list("pk", flat=True))  # no assignment is locked here: waiting cannot close a cycle
            silence_end(silences=back, reason=DeviceSilence.EndReason.DEVICE_BACK, now=now)
            silence_end(silences=ended, reason=DeviceSilence.EndReason.ASSIGNMENT_ENDED, now=now)
            silence_end(silences=risk_over, reason=DeviceSilence.EndReason.RISK_PERIOD_OVER, now=now)
    return len(back) + len(ended) + len(risk_over)


def device_silence_scan(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """One tick: close what is over, then raise what is due in batches. Returns counts."""
    now = now or timezone.now()
    ended = silences_end_due(now=now)
    same_day, urgent = _shortest("device_silence_minutes"), _shortest("device_silence_urgent_minutes")
    results, _ = scan_in_batches(
        batch=lambda after, limit: device_silence_batch(now=now, after=after, limit=limit, same_day=same_day,
                                                        urgent=urgent),
        batch_size=batch_size, max_seconds=TICK_MAX_SECONDS)
    raised = sum(1 for r in results.values() if r in ("same_day", "urgent"))
    return {"raised": raised, "ended": ended}

