"""Readings on PostgreSQL are partitioned by day (tracker/reading_storage.py): partitions exist after migrate,
rows land in their day's partition, a day without one lands in DEFAULT, and the hourly upkeep summarises and drops
what is past retention."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from tests.factories import DeviceAssignmentFactory
from tracker import reading_storage
from tracker.models import Reading, ReadingSummary, ReadingType, ReadingUnit
from tracker.readings import ReadingInput, readings_store

pytestmark = pytest.mark.django_db


def store(device, moments, *, values=None, received_at=None):
    items = [ReadingInput(index=i, type=ReadingType.TEMPERATURE, value=(values or {}).get(i, 37.0 + i / 10),
                          unit=ReadingUnit.CEL, measured_at=m) for i, m in enumerate(moments)]
    return readings_store(device=device, items=items, received_at=received_at or timezone.now())


def rows_by_partition() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, count(*) FROM tracker_reading GROUP BY 1")
        return dict(cursor.fetchall())


def test_the_readings_table_is_partitioned_by_day_after_migrate():
    with connection.cursor() as cursor:
        cursor.execute("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'tracker_reading'::regclass")
        assert cursor.fetchone() == ("r",)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'tracker_reading'")
        indexes = " | ".join(row[0] for row in cursor.fetchall())
    assert "USING brin (measured_at)" in indexes
    assert "(patient_id, type, measured_at, device_id)" in indexes
    names = reading_storage.partitions()
    today = timezone.now().astimezone(dt.UTC).date()
    # The migration made today's and the coming days' partitions (a test run started before midnight: yesterday's).
    assert reading_storage.partition_name(today) in names or reading_storage.partition_name(
        today - dt.timedelta(days=1)) in names
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'tracker_reading'::regclass "
                       "AND inhrelid = 'tracker_reading_default'::regclass")
        assert cursor.fetchone()[0] == 1


def test_ensuring_partitions_is_idempotent():
    day = dt.date(2027, 1, 10)
    first = reading_storage.partitions_ensure(days_ahead=2, today=day)
    assert first.created == ["tracker_reading_p20270110", "tracker_reading_p20270111", "tracker_reading_p20270112"]
    assert reading_storage.partitions_ensure(days_ahead=2, today=day).created == []


def test_a_reading_lands_in_its_days_partition(patient):
    now = timezone.now()
    reading_storage.partitions_ensure()
    assignment = DeviceAssignmentFactory(patient=patient, started_at=now - dt.timedelta(hours=2))
    assert store(assignment.device, [now - dt.timedelta(minutes=1)]).stored == 1
    moment = (now - dt.timedelta(minutes=1)).astimezone(dt.UTC).date()
    assert rows_by_partition() == {reading_storage.partition_name(moment): 1}


def test_a_far_past_reading_within_an_assignment_lands_in_default_and_blocks_that_days_partition(patient):
    now = timezone.now()
    assignment = DeviceAssignmentFactory(patient=patient, started_at=now - dt.timedelta(days=20))
    long_ago = now - dt.timedelta(days=12)
    assert store(assignment.device, [long_ago]).stored == 1
    assert rows_by_partition() == {"tracker_reading_default": 1}
    report = reading_storage.partitions_ensure(days_ahead=0, today=long_ago.astimezone(dt.UTC).date())
    assert report.created == [] and report.blocked == [long_ago.astimezone(dt.UTC).date().isoformat()]
    assert report.default_rows == 1
    assert Reading.objects.get().measured_at == long_ago  # nothing moved out of DEFAULT


def test_roll_up_keeps_five_minute_summaries_and_drops_old_partitions(patient):
    start = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
    reading_storage.partitions_ensure(days_ahead=1, today=start.date())
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        assignment = DeviceAssignmentFactory(patient=patient, started_at=start - dt.timedelta(days=5))
        device = assignment.device
        # 10:00-10:09 every minute: two buckets of five; and one reading from two days before, in DEFAULT.
        moments = [start + dt.timedelta(minutes=m) for m in range(10)]
        store(device, moments, values={i: 37.0 + i / 2 for i in range(10)})
        store(device, [start - dt.timedelta(days=2)], values={0: 36.5})
    assert rows_by_partition() == {"tracker_reading_p20270301": 10, "tracker_reading_default": 1}
    kept = reading_storage.partition_name(dt.date(2027, 3, 2))

    with time_machine.travel(start + dt.timedelta(days=31), tick=False):
        report = reading_storage.readings_roll_up_and_drop()
    assert "tracker_reading_p20270301" in report.dropped and kept not in report.dropped
    assert report.summarised == 11 and report.deleted == 1
    assert "tracker_reading_p20270301" not in reading_storage.partitions()
    assert not Reading.objects.exists()
    summaries = {s.bucket_start: (s.count, s.minimum, s.maximum, s.mean)
                 for s in ReadingSummary.objects.filter(patient=patient, device=device)}
    assert summaries == {start: (5, 37.0, 39.0, 38.0), start + dt.timedelta(minutes=5): (5, 39.5, 41.5, 40.5),
                         start - dt.timedelta(days=2): (1, 36.5, 36.5, 36.5)}


def test_recent_readings_are_neither_summarised_nor_dropped(patient, settings):
    settings.READINGS_RETENTION_DAYS = 30
    now = timezone.now()
    reading_storage.partitions_ensure()
    assignment = DeviceAssignmentFactory(patient=patient, started_at=now - dt.timedelta(days=3))
    store(assignment.device, [now - dt.timedelta(minutes=5), now - dt.timedelta(days=2)])
    report = reading_storage.readings_roll_up_and_drop()
    assert report.summarised == 0 and report.dropped == [] and Reading.objects.count() == 2


def test_a_late_reading_rolled_up_into_a_summarised_bucket_merges_with_it(patient):
    start = dt.datetime(2027, 5, 1, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start + dt.timedelta(days=40), tick=False):
        assignment = DeviceAssignmentFactory(patient=patient, started_at=start - dt.timedelta(days=1))
        store(assignment.device, [start, start + dt.timedelta(minutes=1)], values={0: 37.0, 1: 38.0})
        reading_storage.readings_roll_up_and_drop()
        store(assignment.device, [start + dt.timedelta(minutes=2)], values={0: 39.0})
        reading_storage.readings_roll_up_and_drop()
    summary = ReadingSummary.objects.get(patient=patient)
    assert (summary.count, summary.minimum, summary.maximum, summary.mean) == (3, 37.0, 39.0, pytest.approx(38.0))


def test_the_hourly_task_is_scheduled_and_runs_the_upkeep(eager_tasks):
    from notifications.tasks import reading_partitions_maintain_task

    task = PeriodicTask.objects.get(name="Reading partitions")
    assert task.task == "notifications.tasks.reading_partitions_maintain_task" and task.interval.every == 3600
    result = reading_partitions_maintain_task.delay().get()
    assert set(result) == {"created", "blocked", "default_rows", "summarised", "dropped", "deleted", "packed"}


def test_every_migrate_makes_the_coming_days_partitions():
    from django.apps import apps
    from django.db.models.signals import post_migrate

    today = timezone.now().astimezone(dt.UTC).date()
    last = reading_storage.partition_name(today + dt.timedelta(days=reading_storage.DAYS_AHEAD))
    reading_storage.partitions_ensure()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {last}")
    assert last not in reading_storage.partitions()
    post_migrate.send(sender=apps.get_app_config("tracker"), app_config=apps.get_app_config("tracker"),
                      verbosity=0, interactive=False, using="default", apps=apps, plan=[])
    assert last in reading_storage.partitions()


def index_size(partition: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = %s::regclass "
                       "AND indisprimary", [partition])
        return cursor.fetchone()[0]


def test_a_finished_days_index_is_rebuilt_once_six_hours_after_the_day(patient):
    """Time-major arrival leaves the primary key's pages half full; rebuilt, the finished day's index is smaller,
    its readings unchanged and still deduplicated."""
    day = dt.date(2027, 3, 1)
    name = reading_storage.partition_name(day)
    start = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        reading_storage.partitions_ensure()
        assignments = [DeviceAssignmentFactory(started_at=start - dt.timedelta(days=1)) for _ in range(20)]
    with connection.cursor() as cursor:  # every patient's reading of a minute, then the next minute
        cursor.execute(
            "INSERT INTO tracker_reading (patient_id, type, measured_at, device_id, value, unit, utc_offset_minutes, "
            "received_at) SELECT p, 1, t, d, 37.0, 1, 0, t FROM generate_series(%s::timestamptz, %s::timestamptz, "
            "interval '1 minute') AS t, unnest(%s::bigint[], %s::bigint[]) AS a(p, d) ORDER BY t",
            [start, start + dt.timedelta(hours=23, minutes=59), [a.patient_id for a in assignments],
             [a.device_id for a in assignments]])
    before, rows = index_size(name), Reading.objects.count()
    day_end = start + dt.timedelta(days=1)
    almost = day_end + reading_storage.PACK_AFTER - dt.timedelta(minutes=1)
    assert name not in reading_storage.partitions_pack(now=almost, limit=100)  # (earlier days may be packed)
    assert reading_storage.partitions_pack(now=day_end + reading_storage.PACK_AFTER, limit=100)[-1] == name
    assert index_size(name) < before * 0.8, (index_size(name), before)
    assert reading_storage.partitions_pack(now=day_end + dt.timedelta(days=1), limit=100) == []  # once
    assert Reading.objects.count() == rows
    assert store(assignments[0].device, [start], received_at=day_end).stored == 0
