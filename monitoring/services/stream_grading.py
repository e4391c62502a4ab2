"""Grade a patient's device readings (clinical-rules §10) with the stream rules (monitoring/rules/streams.py) and
record what they find through the same alert service as check-ins: one open alert per patient and condition,
so a fever from a patch and a typed fever are one alert.

A stored batch asks for grading (`readings_request_grading`, from the `readings_stored` receiver: the patient's
marker remembers the earliest measured_at asked for) and a worker grades it (`readings_grade`). Grading takes the
patient's lock (the check-in's lock: one grading, or one check-in, at a time per patient), loads the readings from
the earliest asked for less the longest rule window up to now in one query on the primary key prefix
(patient, type, measured_at), runs the rules over them in time order and clears the marker. So late and
out-of-order batches are graded with the readings around them, two batches graded at once wait for each other,
and grading a batch twice opens nothing twice (evidence that goes on from an alert's latest entry replaces it).
`readings_grade_missed` (the beat sweep) grades what a lost task, or a lost signal, never graded."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Max, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from monitoring.models import Alert, AlertStatus, StreamGrading
from monitoring.rules import Policy
from monitoring.rules.streams import DIASTOLIC, HEART_RATE, SPO2, SYSTOLIC, TEMPERATURE, Point, Series, evaluate_streams
from monitoring.services.alerts import alert_record_finding
from monitoring.services.assessment import evaluation_context_on
from monitoring.services.context import checkin_context
from monitoring.services.device_silence import silence_close_resumed
from tracker.models import DeviceAssignment, Reading, ReadingType
from tracker.models.devices import STREAMING_KINDS

logger = logging.getLogger(__name__)

RULE_TYPES = {
    ReadingType.TEMPERATURE: TEMPERATURE, ReadingType.HEART_RATE: HEART_RATE, ReadingType.SPO2: SPO2,
    ReadingType.SYSTOLIC: SYSTOLIC, ReadingType.DIASTOLIC: DIASTOLIC,
}
GRADED_TYPES = (ReadingType.TEMPERATURE, ReadingType.HEART_RATE, ReadingType.SPO2, ReadingType.SYSTOLIC)
# §10: readings more than 5 minutes in the future are refused by the ingest; none later is read.
FUTURE_SLACK = dt.timedelta(minutes=5)
# Beyond the longest rule window: one reading before it, for a device that sends every few minutes.
WINDOW_MARGIN = dt.timedelta(minutes=15)
# The sweep: a request older than this was lost (the task runs within seconds); readings received after the last
# grading, older than this, were named by no request (a lost signal) and are graded from this long before.
LOST_AFTER = dt.timedelta(seconds=60)
LOST_SIGNAL_LOOKBACK = dt.timedelta(hours=6)
SWEEP_BATCH = 200


def rule_window(policy: Policy) -> dt.timedelta:
    """How far before the earliest new reading grading must read: the longest sustained window, and a margin."""
    minutes = max(policy.stream_fever_minutes, policy.stream_spo2_emergency_minutes, policy.stream_spo2_low_minutes,
                  policy.stream_vitals_minutes)
    return dt.timedelta(minutes=minutes) + WINDOW_MARGIN


@dataclass(frozen=True)
class StreamGrade:
    """What one grading run read and did."""

    readings: int
    findings: int
    alert_ids: tuple[int, ...]


def readings_request_grading(*, patients: dict[int, dt.datetime], now: dt.datetime | None = None) -> None:
    """Remember, per patient, that readings from `since` on wait for grading (the earliest such time wins), in
    one statement. The sweep grades any the task never did."""
    if not patients:
        return
    now = now or timezone.now()
    if connection.vendor != "postgresql":  # the quick start's SQLite: one patient at a time
        for patient_id, since in patients.items():
            marker, _ = StreamGrading.objects.get_or_create(patient_id=patient_id)
            if marker.pending_since is None or since < marker.pending_since:
                marker.pending_since = since
            marker.requested_at = now
            marker.waiting_since = marker.waiting_since or now
            marker.save(update_fields=["pending_since", "requested_at", "waiting_since"])
        return
    table = connection.ops.quote_name(StreamGrading._meta.db_table)
    ids, sinces = zip(*sorted(patients.items()), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (patient_id, pending_since, requested_at, waiting_since) "  # noqa: S608
            "SELECT id, since, %s, %s FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, since) "
            "ON CONFLICT (patient_id) DO UPDATE SET "
            "pending_since = LEAST(COALESCE(" + table + ".pending_since, EXCLUDED.pending_since), "
            "EXCLUDED.pending_since), requested_at = EXCLUDED.requested_at, "
            "waiting_since = COALESCE(" + table + ".waiting_since, EXCLUDED.waiting_since)",
            [now, now, list(ids), list(sinces)])


def _series(rows: list[tuple]) -> list[Series]:
    """Readings (type, measured_at, value, device columns), ordered by type and time, as one series per device
    and type."""
    points: dict[tuple[int, int], list[Point]] = defaultdict(list)
    devices: dict[int, tuple] = {}
    for kind, measured_at, value, device_id, *device in rows:
        points[(kind, device_id)].append(Point(measured_at, value))
        devices[device_id] = tuple(device)
    found = []
    for (kind, device_id), pts in points.items():
        device_kind, interval, offset, maker, model, serial = devices[device_id]
        pts.sort(key=lambda p: p.measured_at)  # ordered already; several devices interleave
        found.append(Series(RULE_TYPES[ReadingType(kind)], f"{maker} {model} #{serial}", tuple(pts),
                            expected_interval_seconds=interval, temperature_offset_c=float(offset or 0),
                            streams=device_kind in STREAMING_KINDS))
    return found


def _already_resolved(patient_id: int, condition: str, last: dt.datetime) -> bool:
    """A person resolved this condition's alert after these readings were taken: they were dealt with."""
    return Alert.objects.filter(patient_id=patient_id, condition=condition, status=AlertStatus.RESOLVED,
                                resolved_at__gte=last).exists()


def readings_grade(*, patient_id: int, since: dt.datetime, now: dt.datetime | None = None) -> StreamGrade:
    """Grade the patient's readings from `since` (and any earlier time still waiting) in time order, and record
    the alerts they raise. Idempotent; safe to run for two batches of one patient at once (they take turns)."""
    now = now or timezone.now()
    with transaction.atomic():
        context = checkin_context(patient_id)  # the patient's row locked: one grading or check-in at a time
        patient, policy = context.patient, context.policy
        marker = StreamGrading.objects.filter(pk=patient_id).values("pending_since", "requested_at").first()
        if marker and marker["pending_since"] is not None:
            since = min(since, marker["pending_since"])
        received = DeviceAssignment.objects.filter(patient_id=patient_id).aggregate(
            last=Max("last_received_at"))["last"]
        rows = list(
            Reading.objects.filter(patient_id=patient_id, type__in=GRADED_TYPES,
                                   measured_at__gte=since - rule_window(policy), measured_at__lte=now + FUTURE_SLACK)
            .order_by("type", "measured_at")
            .values_list("type", "measured_at", "value", "device_id", "device__kind",
                         "device__expected_interval_seconds", "device__temperature_offset_c", "device__maker",
                         "device__model_name", "device__serial"))
        alerts: list[int] = []
        findings = []
        if rows:
            last_moment = max(row[1] for row in rows)
            day = timezone.localtime(last_moment, patient.tz).date()
            findings = evaluate_streams(_series(rows), evaluation_context_on(day, context))
            for finding in findings:
                evidence = finding.evidence
                last = evidence.get("last_measured_at")
                if isinstance(last, dt.datetime) and _already_resolved(patient_id, finding.condition, last):
                    continue
                device = {name: evidence[name] for name in (
                    "stream_rule", "device", "reading_type", "first_measured_at", "last_measured_at", "readings",
                    "coverage_percent") if name in evidence}
                alerts.append(alert_record_finding(patient=patient, finding=finding, policy=policy, device=device,
                                                   now=now).pk)
        silence_close_resumed(patient=patient, now=now)
        _graded(patient_id, marker, received, now)
    return StreamGrade(readings=len(rows), findings=len(findings), alert_ids=tuple(alerts))


def _graded(patient_id: int, marker: Mapping[str, Any] | None, received: dt.datetime | None, now: dt.datetime) -> None:
    """Clear the marker, unless a newer request came in meanwhile (it is then graded by its own task)."""
    unchanged = Q(requested_at=marker["requested_at"]) if marker and marker["requested_at"] else Q(
        requested_at__isnull=True)
    values: dict[str, Any] = {"received_through": received, "graded_at": now}
    if StreamGrading.objects.filter(unchanged, pk=patient_id).update(pending_since=None, requested_at=None,
                                                                      waiting_since=None, **values):
        return
    if marker and marker["requested_at"]:  # what is left waits since about then (the queue health's lag)
        values["waiting_since"] = Case(When(pending_since__isnull=False, then=Value(marker["requested_at"])),
                                       default=None)
    if not StreamGrading.objects.filter(pk=patient_id).update(**values):
        StreamGrading.objects.create(patient_id=patient_id, **values)


def readings_missed(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> dict[int, dt.datetime]:
    """Patients whose readings wait for grading no task will do, with the time to grade from: a request older
    than a minute (its task was lost), or readings received after the last grading a minute ago or more that no
    request named (the signal was lost)."""
    now = now or timezone.now()
    lost = {patient_id: since for patient_id, since in
            StreamGrading.objects.filter(pending_since__isnull=False, requested_at__lt=now - LOST_AFTER)
            .order_by("requested_at").values_list("patient_id", "pending_since")[:limit] if since is not None}
    through = StreamGrading.objects.filter(patient_id=OuterRef("patient_id")).values("received_through")[:1]
    unnamed = (DeviceAssignment.objects
               .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now - LOST_SIGNAL_LOOKBACK),
                       last_received_at__lt=now - LOST_AFTER, last_received_at__gt=now - LOST_SIGNAL_LOOKBACK)
               .annotate(through=Subquery(through))
               .filter(Q(through__isnull=True) | Q(last_received_at__gt=F("through")))
               .order_by().values_list("patient_id", flat=True).distinct()[:limit])
    for patient_id in unnamed:
        lost.setdefault(patient_id, now - LOST_SIGNAL_LOOKBACK)
    return lost


def readings_grade_missed(*, now: dt.datetime | None = None) -> int:
    """The beat sweep: grade each patient `readings_missed` finds, each in its own transaction; one patient's
    error is logged and left for the next sweep. Returns how many were graded."""
    now = now or timezone.now()
    graded = 0
    for patient_id, since in readings_missed(now=now).items():
        try:
            readings_grade(patient_id=patient_id, since=since, now=now)
            graded += 1
        except Exception:
            if not connection.is_usable():
                raise
            logger.exception("Grading the readings of patient %s failed; the next sweep tries again", patient_id)
    return graded
