"""Where device readings are kept, and for how long (clinical-rules §10).

On PostgreSQL `tracker_reading` is partitioned by range of `measured_at`, one partition per UTC day
(`tracker_reading_pYYYYMMDD`), plus a DEFAULT partition (`tracker_reading_default`) for a reading whose day has
no partition (a late reading from before the partitions were made). The primary key (patient_id, type,
measured_at, device_id) contains the partition key, dedupes (INSERT ... ON CONFLICT DO NOTHING) and serves the
per-patient window and chart queries; a BRIN index on measured_at serves sweeps over every patient.

- `partitions_ensure` makes today's and the coming days' partitions (idempotent; the hourly beat task, the
  migration and `make run`'s migrate call it). A day whose readings already sit in DEFAULT gets no partition
  (PostgreSQL refuses it, and nothing is moved out of DEFAULT): it is reported instead, as is a non-empty DEFAULT.
- `readings_roll_up_and_drop` keeps five-minute summaries (count, min, max, mean per patient, type, device and
  bucket) of readings older than settings.READINGS_RETENTION_DAYS in ReadingSummary, then DROPs the raw day
  partitions past that age (and deletes such rows from DEFAULT), in one transaction per partition.

- `partitions_pack` rebuilds the primary key index of a finished day (`PACK_AFTER` past its end, when late
  readings are few): readings arrive time-major, so every patient's entries go into the middle of the index and
  its pages split half full; rebuilt, the index is about a quarter smaller and so is the day (measured in
  `bench/readings.py`). `REINDEX ... CONCURRENTLY` outside a transaction (the worker), so the ingest and the
  charts go on meanwhile; each packed partition is marked by its table comment and packed once.

SQLite (the quick start) keeps one plain table through the same model: ensuring partitions does nothing, and
the roll-up deletes the old rows instead of dropping partitions."""

import datetime as dt
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tracker.models import Reading, ReadingSummary

logger = logging.getLogger(__name__)

TABLE = "tracker_reading"
DEFAULT_PARTITION = "tracker_reading_default"
BRIN_INDEX = "tracker_reading_measured_brin"
PARTITION_PREFIX = "tracker_reading_p"
_PARTITION_NAME = re.compile(r"^tracker_reading_p(\d{8})$")
BUCKET_MINUTES = 5
DAYS_AHEAD = 3  # partitions made ahead of time: a missed hourly run (or three days of them) costs nothing
# A finished day's index is rebuilt this long after the day ended (operational, not clinical: a phone gateway
# that was offline sends its readings late, and the sooner the rebuild, the more of them split pages again).
PACK_AFTER = dt.timedelta(hours=6)
PACKED = "packed"  # the table comment of a partition whose index was rebuilt


@dataclass
class PartitionReport:
    created: list[str] = field(default_factory=list)
    # Days that could not get their partition because DEFAULT holds readings of theirs.
    blocked: list[str] = field(default_factory=list)
    default_rows: int = 0


@dataclass
class RollUpReport:
    summarised: int = 0  # raw readings folded into summaries
    dropped: list[str] = field(default_factory=list)  # partitions dropped
    deleted: int = 0  # rows deleted from DEFAULT (PostgreSQL) or from the plain table (SQLite)


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def partition_name(day: dt.date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def partitions_ensure(*, days_ahead: int = DAYS_AHEAD, today: dt.date | None = None) -> PartitionReport:
    """Create the partitions of today (UTC) and the next `days_ahead` days that do not exist yet."""
    report = PartitionReport()
    if not is_partitioned():
        return report
    today = today or timezone.now().astimezone(dt.UTC).date()
    existing = set(partitions())
    with connection.cursor() as cursor:
        for offset in range(days_ahead + 1):
            day = today + dt.timedelta(days=offset)
            name = partition_name(day)
            if name in existing:
                continue
            start, end = _day_start(day), _day_start(day + dt.timedelta(days=1))
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} "  # noqa: S608 (fixed names)
                           "WHERE measured_at >= %s AND measured_at < %s)", [start, end])
            if cursor.fetchone()[0]:
                report.blocked.append(day.isoformat())
                continue
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
                           "FOR VALUES FROM (%s) TO (%s)", [start, end])
            report.created.append(name)
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608
        report.default_rows = cursor.fetchone()[0]
    if report.default_rows:
        logger.warning("The default readings partition holds %s rows (days without a partition: %s)",
                       report.default_rows, ", ".join(report.blocked) or "past days")
    return report


def partitions_ensure_after_migrate(sender=None, using: str = "default", plan=None, **kwargs) -> None:
    """post_migrate: ensure the partitions when the readings table is partitioned (not after migrating back)."""
    from django.db import connections

    if connections[using].vendor != "postgresql" or connections[using].alias != connection.alias:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))",
                       [TABLE])
        if not cursor.fetchone()[0]:
            return
    partitions_ensure()


def partitions() -> list[str]:
    """The day partitions of the readings table, oldest first (empty on SQLite)."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname", [TABLE])
        return [name for (name,) in cursor.fetchall() if _PARTITION_NAME.match(name)]


def partition_day(name: str) -> dt.date | None:
    match = _PARTITION_NAME.match(name)
    return dt.datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


# On conflict (a late reading summarised into a bucket that has a summary already) the two summaries merge.
_MERGE = ("ON CONFLICT (patient_id, type, bucket_start, device_id) DO UPDATE SET "
          "count = tracker_readingsummary.count + EXCLUDED.count, "
          "minimum = LEAST(tracker_readingsummary.minimum, EXCLUDED.minimum), "
          "maximum = GREATEST(tracker_readingsummary.maximum, EXCLUDED.maximum), "
          "mean = (tracker_readingsummary.mean * tracker_readingsummary.count + EXCLUDED.mean * EXCLUDED.count) "
          "/ (tracker_readingsummary.count + EXCLUDED.count)")

_SUMMARY_SELECT = (
    "SELECT patient_id, type, date_bin(%s::interval, measured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), "
    "device_id, count(*), min(value), max(value), avg(value) FROM {source} {where} "
    "GROUP BY 1, 2, 3, 4")


def _summarise_pg(cursor, source: str, where: str = "", params: list | None = None) -> None:
    cursor.execute(
        "INSERT INTO tracker_readingsummary (patient_id, type, bucket_start, device_id, count, minimum, maximum, "
        "mean) " + _SUMMARY_SELECT.format(source=source, where=where) + " " + _MERGE,
        [f"{BUCKET_MINUTES} minutes", *(params or [])])


def _count(cursor, source: str, where: str = "", params: list | None = None) -> int:
    cursor.execute(f"SELECT count(*) FROM {source} {where}", params or [])  # noqa: S608 (fixed names)
    return cursor.fetchone()[0]


def retention_cutoff(now: dt.datetime | None = None, *, days: int | None = None) -> dt.datetime:
    """The start of the oldest UTC day whose raw readings are kept."""
    now = now or timezone.now()
    days = settings.READINGS_RETENTION_DAYS if days is None else days
    return _day_start((now - dt.timedelta(days=days)).astimezone(dt.UTC).date())


def readings_roll_up_and_drop(*, older_than: dt.datetime | None = None) -> RollUpReport:
    """Summarise, then drop, the raw readings measured before `older_than` (default: the retention cutoff)."""
    cutoff = older_than or retention_cutoff()
    report = RollUpReport()
    if not is_partitioned():
        return _roll_up_plain(cutoff, report)
    for name in partitions():
        day = partition_day(name)
        if day is None or _day_start(day + dt.timedelta(days=1)) > cutoff:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            report.summarised += _count(cursor, name)
            _summarise_pg(cursor, name)
            cursor.execute(f"DROP TABLE {name}")
            report.dropped.append(name)
    with transaction.atomic(), connection.cursor() as cursor:
        where, params = "WHERE measured_at < %s", [cutoff]
        old = _count(cursor, DEFAULT_PARTITION, where, params)
        if old:
            _summarise_pg(cursor, DEFAULT_PARTITION, where, params)
            cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} {where}", params)  # noqa: S608
            report.summarised += old
            report.deleted += cursor.rowcount
    return report


def bucket_start(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    return moment.replace(minute=moment.minute - moment.minute % BUCKET_MINUTES, second=0, microsecond=0)


def _roll_up_plain(cutoff: dt.datetime, report: RollUpReport) -> RollUpReport:
    """SQLite: summarise in Python (a quick start holds few readings) and delete the raw rows."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    with transaction.atomic():
        old = Reading.objects.filter(measured_at__lt=cutoff)
        for patient_id, type_, measured_at, device_id, value in old.values_list(
                "patient_id", "type", "measured_at", "device_id", "value").iterator():
            groups[(patient_id, type_, bucket_start(measured_at), device_id)].append(value)
        for (patient_id, type_, bucket, device_id), values in groups.items():
            summary = ReadingSummary.objects.filter(patient_id=patient_id, type=type_, bucket_start=bucket,
                                                    device_id=device_id).first()
            count, low, high, mean = len(values), min(values), max(values), sum(values) / len(values)
            if summary is None:
                ReadingSummary.objects.create(patient_id=patient_id, type=type_, bucket_start=bucket,
                                              device_id=device_id, count=count, minimum=low, maximum=high, mean=mean)
                continue
            total = summary.count + count
            ReadingSummary.objects.filter(patient_id=patient_id, type=type_, bucket_start=bucket,
                                          device_id=device_id).update(
                count=total, minimum=min(summary.minimum, low), maximum=max(summary.maximum, high),
                mean=(summary.mean * summary.count + mean * count) / total)
        report.summarised = sum(len(v) for v in groups.values())
        report.deleted, _ = old.delete()
    return report


def partitions_pack(*, now: dt.datetime | None = None, limit: int = 1) -> list[str]:
    """Rebuild the primary key index of up to `limit` finished day partitions not packed yet, oldest first; their
    names. CONCURRENTLY unless inside a transaction (a test)."""
    if not is_partitioned():
        return []
    now = now or timezone.now()
    packed: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_inherits i "
                       "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
                       "WHERE p.relname = %s ORDER BY c.relname", [TABLE])
        due = [name for name, comment in cursor.fetchall() if comment != PACKED and (day := partition_day(name))
               and _day_start(day + dt.timedelta(days=1)) + PACK_AFTER <= now]
        for name in due[:limit]:
            cursor.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass "
                           "AND indisprimary", [name])
            (index,) = cursor.fetchone()
            concurrently = "" if connection.in_atomic_block else " CONCURRENTLY"
            cursor.execute(f"REINDEX INDEX{concurrently} {connection.ops.quote_name(index)}")
            cursor.execute(f"COMMENT ON TABLE {connection.ops.quote_name(name)} IS '{PACKED}'")
            packed.append(name)
    return packed


def reading_partitions_maintain() -> dict:
    """The hourly upkeep: the coming days' partitions, the roll-up and drop of what is past retention, then the
    index of a finished day rebuilt."""
    ensured = partitions_ensure()
    rolled = readings_roll_up_and_drop()
    packed = partitions_pack()
    return {"created": ensured.created, "blocked": ensured.blocked, "default_rows": ensured.default_rows,
            "summarised": rolled.summarised, "dropped": rolled.dropped, "deleted": rolled.deleted,
            "packed": packed}
