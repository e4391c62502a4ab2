"""bench/readings.py's helpers do what its figures rely on, without running anything heavy: the ingest batches
never repeat a reading (so the ingest phase stores every one and the replay none), the fever batches become a
sustained fever only with the completing batch (clinical-rules §10), the day's readings are each patient's own
patch's in the order they arrive, the day's care teams are of a dashboard page's size, the benchmark's databases are
named after the checkout's own, and the latest-temperature query it times returns what the dashboard's device
column shows."""

import datetime as dt
import json
import random

from django.db import connection
from django.utils import timezone

from bench.readings import (
    BATCH,
    DAY_TEAM,
    FEVER_C,
    FEVER_MINUTES,
    LATEST_SQL,
    body,
    databases_prefix,
    day_readings,
    device_column,
    device_request,
    fever_batches,
    quiet_batch,
    round_robin,
    storage,
    team_sizes,
)
from monitoring.dashboard import PAGE_SIZE
from monitoring.rules.streams import TEMPERATURE, Point, Series, sustained_run
from tests.factories import DeviceAssignmentFactory, DeviceFactory, PatientFactory
from tracker.models import DeviceAssignment, Reading, ReadingType, ReadingUnit
from tracker.readings import assignments_refresh_temperature

START = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def series(readings: list[dict]) -> Series:
    points = tuple(Point(dt.datetime.fromisoformat(r["measured_at"]), r["value"]) for r in readings)
    return Series(TEMPERATURE, "bench patch", points, expected_interval_seconds=60)


def sustained(readings: list[dict]):
    return sustained_run(series(readings), lambda v: v >= FEVER_C, FEVER_MINUTES, 80)


def test_a_threads_batches_never_repeat_a_reading_and_stay_below_fever():
    rng = random.Random(1)
    devices, hours = 7, 5
    seen = set()
    for device, hour in round_robin(devices, hours):
        batch = quiet_batch(START, hour, rng)
        assert len(batch) == BATCH
        for reading in batch:
            key = (device, reading["measured_at"])
            assert key not in seen
            seen.add(key)
            assert reading["value"] < FEVER_C
    assert len(seen) == devices * hours * BATCH
    times = sorted({dt.datetime.fromisoformat(m) for _, m in seen})
    assert times[0] == START and times[-1] == START + dt.timedelta(minutes=hours * BATCH - 1)
    assert all(b - a == dt.timedelta(minutes=1) for a, b in zip(times, times[1:], strict=False))


def test_round_robin_sends_every_devices_hours_in_order():
    order = list(round_robin(3, 2))
    assert order == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]


def test_the_fever_is_sustained_only_with_the_completing_batch():
    end = START + dt.timedelta(hours=2)
    previous, completing = fever_batches(end, random.Random(2))
    assert len(previous) == BATCH
    assert sustained(previous) is None
    run = sustained(previous + completing)
    assert run is not None
    assert (run.last - run.first) >= dt.timedelta(minutes=FEVER_MINUTES)
    assert run.last == end
    assert all(r["value"] < FEVER_C for r in previous[:-5])
    measured = [r["measured_at"] for r in previous + completing]
    assert len(set(measured)) == len(measured)


def test_a_device_request_is_the_batch_the_api_takes():
    payload = body(quiet_batch(START, 0, random.Random(3)))
    raw = device_request(8000, "dev_key", payload)
    head, _, sent = raw.partition(b"\r\n\r\n")
    assert b"Authorization: Device dev_key" in head
    assert f"Content-Length: {len(payload)}".encode() in head
    assert json.loads(sent)["readings"][0]["unit"] == "Cel"


def test_the_latest_temperature_query_returns_each_patients_newest_reading(db):
    now = timezone.now().replace(microsecond=0)
    first, second, without = PatientFactory(), PatientFactory(), PatientFactory()
    device = DeviceFactory()
    rows = [Reading(patient=p, type=ReadingType.TEMPERATURE, measured_at=now - dt.timedelta(minutes=m), device=device,
                    value=36.0 + m / 10, unit=ReadingUnit.CEL, utc_offset_minutes=0, received_at=now)
            for p in (first, second) for m in (30, 5, 50)]
    rows.append(Reading(patient=second, type=ReadingType.HEART_RATE, measured_at=now, device=device, value=80,
                        unit=ReadingUnit.PER_MIN, utc_offset_minutes=0, received_at=now))
    Reading.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute(LATEST_SQL, {"ids": [first.pk, second.pk, without.pk], "type": ReadingType.TEMPERATURE,
                                    "now": now, "since": now - dt.timedelta(days=1),
                                    "until": now + dt.timedelta(minutes=5)})
        latest = {pk: (value, age) for pk, value, _, age in cursor.fetchall()}
        sizes = storage(cursor)
    assert latest[first.pk] == (36.5, dt.timedelta(minutes=5))
    assert latest[second.pk] == (36.5, dt.timedelta(minutes=5))
    assert latest[without.pk] == (None, None)
    assert sizes["rows"] == 7 and sizes["partitions"] >= 2 and sizes["bytes_per_row"] > 0


def test_the_days_care_teams_are_a_nurses_dashboard_page_each():
    assert DAY_TEAM == PAGE_SIZE
    assert team_sizes(10_000) == [200] * 50
    assert team_sizes(1_000) == [200] * 5
    assert team_sizes(450) == [200, 200, 50]
    assert team_sizes(120) == [120]


def test_the_benchmarks_databases_are_named_after_the_checkouts_own():
    assert databases_prefix(None) == "car_t_rbench"
    assert databases_prefix("") == "car_t_rbench"
    assert databases_prefix("postgres://postgres@127.0.0.1:5432/car_t_daybench") == "car_t_daybench_rbench"
    assert databases_prefix("postgres://postgres@127.0.0.1:5432/car_t?options=-c%20jit%3Doff") == "car_t_rbench"


def test_the_days_readings_come_from_each_patients_own_patch_minute_after_minute(db):
    # A day long past has no partition of its own: every row lands in DEFAULT, in the order inserted.
    first = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    worn = [(a.patient_id, a.device_id) for a in DeviceAssignmentFactory.create_batch(3)]
    with connection.cursor() as cursor:
        added = day_readings(cursor, worn, first, first + dt.timedelta(minutes=3))
        cursor.execute("SELECT tableoid::regclass::text, patient_id, device_id, measured_at, type, value "
                       "FROM tracker_reading ORDER BY tableoid, ctid")
        rows = cursor.fetchall()
    assert added == len(rows) == 3 * 4
    assert {r[0] for r in rows} == {"tracker_reading_default"}
    assert [(r[1], r[2]) for r in rows] == worn * 4  # every patch's reading of a minute, then the next minute
    assert [r[3] for r in rows] == [first + dt.timedelta(minutes=m) for m in range(4) for _ in worn]
    assert all(r[4] == ReadingType.TEMPERATURE and 36.2 <= r[5] <= 37.4 for r in rows)


def test_the_pages_device_column_shows_what_the_latest_temperature_query_finds(db):
    now = timezone.now().replace(microsecond=0)
    worn = DeviceAssignmentFactory.create_batch(2)
    bare = PatientFactory()
    Reading.objects.bulk_create([
        Reading(patient_id=a.patient_id, type=ReadingType.TEMPERATURE, measured_at=now - dt.timedelta(minutes=m),
                device_id=a.device_id, value=36.0 + m / 10 + n, unit=ReadingUnit.CEL, utc_offset_minutes=0,
                received_at=now) for n, a in enumerate(worn) for m in (30, 5, 50)])
    assignments_refresh_temperature(DeviceAssignment.objects.filter(pk__in=[a.pk for a in worn]))
    ids = [a.patient_id for a in worn] + [bare.pk]
    with connection.cursor() as cursor:
        cursor.execute(LATEST_SQL, {"ids": ids, "type": ReadingType.TEMPERATURE, "now": now,
                                    "since": now - dt.timedelta(days=1), "until": now + dt.timedelta(minutes=5)})
        latest = {pk: (value, at) for pk, value, at, _ in cursor.fetchall()}
    column = {row["pk"]: row for row in device_column(ids)}
    assert set(column) == set(ids)
    for pk in ids:
        assert (column[pk]["device_temperature"], column[pk]["device_temperature_at"]) == latest[pk]
    assert latest[worn[1].patient_id] == (37.5, now - dt.timedelta(minutes=5))
    assert column[worn[0].patient_id]["has_temperature_device"] and not column[bare.pk]["has_temperature_device"]
