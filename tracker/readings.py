"""Storing a batch of device readings (clinical-rules §10).

`readings_store` takes readings already parsed (type, value, unit, aware measured_at) and, per reading, refuses it
with a reason (keeping its index in the batch) when:
- it was measured more than 5 minutes after it was received (§10: "more than 5 minutes in the future");
- no assignment of the device covers its measured_at: a reading lands on the patient whose assignment covers the
  moment it was measured, so a device given to another patient can never write to the first one's record, and a
  reading measured while the device was with the first patient still goes to the first patient;
- its unit does not fit its type, or its value is outside what the body can physically give (PHYSICAL_RANGES,
  center policy: a broken sensor, a wrong unit).

The rest are stored in one statement (INSERT ... ON CONFLICT DO NOTHING RETURNING): a reading already stored (same
patient, type, measured_at, device) counts as a duplicate, so a batch sent again stores nothing twice. Late and
out-of-order readings are stored like any other; rows are never updated. °F arrives as Cel (the canonical unit of
temperature), with the unit sent kept beside it, and the offset measured_at was sent with is kept.

The assignments the batch touched move their newest measured/received times forward (never backwards) in the same
transaction, and so does their newest temperature (value and time) when the batch stored a newer one; the caller
owns the transaction (monitoring.services.readings)."""

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest

from tracker.models import Device, DeviceAssignment, Reading, ReadingType, ReadingUnit

FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # §10: readings more than 5 minutes in the future are refused

# The units each type may arrive in; the first is the one it is stored in.
UNITS = {
    ReadingType.TEMPERATURE: (ReadingUnit.CEL, ReadingUnit.DEG_F),
    ReadingType.HEART_RATE: (ReadingUnit.PER_MIN,),
    ReadingType.SPO2: (ReadingUnit.PERCENT,),
    ReadingType.SYSTOLIC: (ReadingUnit.MM_HG,),
    ReadingType.DIASTOLIC: (ReadingUnit.MM_HG,),
}

# Policy (center, not clinical-rules): the values a living body can give, in the canonical unit, inclusive. A
# reading outside is a broken sensor or a wrong unit, refused rather than graded.
PHYSICAL_RANGES = {
    ReadingType.TEMPERATURE: (25.0, 45.0),  # Cel
    ReadingType.HEART_RATE: (20.0, 300.0),  # /min
    ReadingType.SPO2: (50.0, 100.0),  # %
    ReadingType.SYSTOLIC: (40.0, 300.0),  # mm[Hg]
    ReadingType.DIASTOLIC: (20.0, 200.0),  # mm[Hg]
}

MAX_BATCH = 1000


@dataclass(frozen=True)
class ReadingInput:
    """One parsed reading; `index` is its place in the batch the device sent."""

    index: int
    type: int
    value: float
    unit: int
    measured_at: dt.datetime


@dataclass(frozen=True)
class Refusal:
    index: int
    field: str
    reason: str


@dataclass
class StoreResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: list[Refusal] = field(default_factory=list)
    earliest_new: dict[int, dt.datetime] = field(default_factory=dict)  # patient id -> earliest new measured_at


def canonical_value(type_: int, value: float, unit: int) -> float:
    if type_ == ReadingType.TEMPERATURE and unit == ReadingUnit.DEG_F:
        return round((value - 32.0) * 5.0 / 9.0, 3)
    return value


def _check(item: ReadingInput, received_at: dt.datetime) -> tuple[Refusal | None, float]:
    type_ = ReadingType(item.type)
    if item.unit not in UNITS[type_]:
        expected = " or ".join(u.label for u in UNITS[type_])
        return Refusal(item.index, "unit", f"This type is sent in {expected}."), 0.0
    value = canonical_value(item.type, item.value, item.unit)
    low, high = PHYSICAL_RANGES[type_]
    if not (math.isfinite(value) and low <= value <= high):
        return Refusal(item.index, "value", f"Outside what a body can give ({low:g} to {high:g} "
                                            f"{UNITS[ReadingType(item.type)][0].label}, policy)."), 0.0
    if item.measured_at > received_at + FUTURE_TOLERANCE:
        return Refusal(item.index, "measured_at", "Measured more than 5 minutes after it was received: check the "
                                                  "device's clock."), 0.0
    return None, value


def _covering(assignments: list[DeviceAssignment], moment: dt.datetime) -> DeviceAssignment | None:
    return next((a for a in assignments if a.covers(moment)), None)


def readings_store(*, device: Device, items: Sequence[ReadingInput], received_at: dt.datetime) -> StoreResult:
    """Store `items` for `device` (see the module's docstring). Run inside a transaction."""
    result = StoreResult(received=len(items))
    checked: list[tuple[ReadingInput, float]] = []
    for item in items:
        refusal, value = _check(item, received_at)
        if refusal is not None:
            result.refused.append(refusal)
        else:
            checked.append((item, value))
    if not checked:
        return result
    earliest = min(item.measured_at for item, _ in checked)
    latest = max(item.measured_at for item, _ in checked)
    # Locked: an assignment ended or moved meanwhile (tracker.device_services) is seen as it is after that.
    assignments = list(DeviceAssignment.objects.select_for_update(no_key=True).filter(device=device)
                       .filter(started_at__lte=latest).exclude(ended_at__lte=earliest).order_by("started_at"))
    rows = []
    touched: dict[int, tuple[DeviceAssignment, dt.datetime]] = {}
    temperatures: dict[tuple[int, dt.datetime], tuple[DeviceAssignment, float]] = {}
    for item, value in checked:
        assignment = _covering(assignments, item.measured_at)
        if assignment is None:
            result.refused.append(Refusal(item.index, "measured_at", "The device was not assigned to a patient at "
                                                                     "this time."))
            continue
        offset = item.measured_at.utcoffset() or dt.timedelta()
        rows.append((assignment.patient_id, item.type, item.measured_at, device.pk, value, item.unit,
                     int(offset.total_seconds() // 60), received_at))
        newest = touched.get(assignment.pk, (assignment, item.measured_at))[1]
        touched[assignment.pk] = (assignment, max(newest, item.measured_at))
        if item.type == ReadingType.TEMPERATURE:
            temperatures.setdefault((assignment.patient_id, item.measured_at), (assignment, value))
    result.refused.sort(key=lambda r: r.index)
    if not rows:
        return result
    # The newest temperature this batch stored, per assignment (a duplicate keeps the value stored first).
    newest_temperature: dict[int, tuple[dt.datetime, float]] = {}
    for patient_id, type_, measured_at in _insert(rows):
        result.stored += 1
        if patient_id not in result.earliest_new or measured_at < result.earliest_new[patient_id]:
            result.earliest_new[patient_id] = measured_at
        if type_ == ReadingType.TEMPERATURE and (patient_id, measured_at) in temperatures:
            assignment, value = temperatures[(patient_id, measured_at)]
            if assignment.pk not in newest_temperature or measured_at > newest_temperature[assignment.pk][0]:
                newest_temperature[assignment.pk] = (measured_at, value)
    result.duplicates = len(rows) - result.stored
    for assignment, newest in touched.values():
        DeviceAssignment.objects.filter(pk=assignment.pk).update(
            last_measured_at=Coalesce(Greatest("last_measured_at", Value(newest)), Value(newest)),
            last_received_at=Coalesce(Greatest("last_received_at", Value(received_at)), Value(received_at)),
            **_temperature_update(newest_temperature.get(assignment.pk)))
    return result


def _temperature_update(newest: tuple[dt.datetime, float] | None) -> dict:
    """The assignment's latest temperature moved to `newest` (measured_at, value) unless it holds a later one: a
    late reading never replaces a newer value."""
    if newest is None:
        return {}
    at, value = newest
    later = Q(last_temperature_at__isnull=True) | Q(last_temperature_at__lt=at)
    return {"last_temperature": Case(When(later, then=Value(value)), default="last_temperature"),
            "last_temperature_at": Case(When(later, then=Value(at)), default="last_temperature_at")}


_COLUMNS = "patient_id, type, measured_at, device_id, value, unit, utc_offset_minutes, received_at"


def _insert(rows: list[tuple]) -> list[tuple[int, int, dt.datetime]]:
    """One INSERT for the whole batch; the (patient id, type, measured_at) of each row that was new."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = list(zip(*rows, strict=True))
            cursor.execute(
                f"INSERT INTO tracker_reading ({_COLUMNS}) SELECT * FROM unnest(%s::bigint[], %s::smallint[], "  # noqa: S608
                "%s::timestamptz[], %s::bigint[], %s::float8[], %s::smallint[], %s::smallint[], %s::timestamptz[]) "
                "ON CONFLICT DO NOTHING RETURNING patient_id, type, measured_at", [list(c) for c in columns])
            return list(cursor.fetchall())
        placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        params = [connection.ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime) else v
                  for row in rows for v in row]
        cursor.execute(f"INSERT INTO tracker_reading ({_COLUMNS}) VALUES {placeholders} "  # noqa: S608
                       "ON CONFLICT DO NOTHING RETURNING patient_id, type, measured_at", params)
        return [(patient_id, type_, _parse_sqlite(measured_at)) for patient_id, type_, measured_at in cursor.fetchall()]


def _parse_sqlite(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def assignments_refresh_temperature(assignments) -> int:
    """Set each of `assignments` (a DeviceAssignment queryset) to its newest stored temperature reading, read from
    the readings: for readings written other than through `readings_store` (a bulk load). Returns rows updated."""
    newest = (Reading.objects.filter(patient_id=OuterRef("patient_id"), type=ReadingType.TEMPERATURE,
                                     device_id=OuterRef("device_id"), measured_at__gte=OuterRef("started_at"))
              .order_by("-measured_at"))
    updated = assignments.filter(ended_at__isnull=True).update(
        last_temperature=Subquery(newest.values("value")[:1]),
        last_temperature_at=Subquery(newest.values("measured_at")[:1]))
    ended = newest.filter(measured_at__lt=OuterRef("ended_at"))
    return updated + assignments.filter(ended_at__isnull=False).update(
        last_temperature=Subquery(ended.values("value")[:1]),
        last_temperature_at=Subquery(ended.values("measured_at")[:1]))
