"""Connected devices (clinical-rules §10), measured side by side: `python bench/readings.py [--quick] [--keep]`.

The production shape of bench/ingest.py (whose load loop, client and setup this imports): gunicorn serving
config.settings.production (gthread, 2 workers x 4 threads), a Celery prefork worker (2), a private
redis-server (broker and cache), PostgreSQL in databases of its own (car_t_rbench_*, or <name>_rbench_* after the
database DATABASE_URL names: recreated at start, dropped at the end unless --keep), a loopback server standing in
for the SMS provider and the paging webhook.
RATE_LIMIT_READINGS and RATE_LIMIT_CHECKIN are raised for the run (the throttles still run on every POST).

1. Sustained ingest: POST /api/v1/readings/ (`Authorization: Device <key>`) at concurrency 8 for --duration s,
   batches of 60 temperature readings 1 minute apart; each client thread has its own patch devices (each worn
   by its own CAR T patient) and sends their hours round robin, moving forward in time, so nothing is a
   duplicate. Readings/s, batches/s, p50/p95 per batch. The grading tasks the batches queue run on the worker
   meanwhile (production shape); how many wait when the phase ends, and how long they take to drain, is shown.
   Then the replay: the same batches again for at most --duration s (every answer must say stored 0, and the
   table must not grow). Then the comparator: the check-in ingest of bench/ingest.py at concurrency 8.
2. Detection latency: K patients (--fever-patients, 20; --quick 5) each sent an hour below 38.0 °C ending in 5
   minutes at 38.2+ (graded: no alert), then a completing batch of 7 more minutes at 38.2+ (a sustained fever:
   12 readings over 11 minutes, clinical-rules §10). Latency from just before the completing POST to the Alert
   row (its opened_at; the database is polled until it is there) and to the nurse's SMS arriving at the
   loopback provider. Once with no other load, once during the ingest phase. Target p95 <= 5 s.
3. Bytes per stored reading after the ingest phase: the reading partitions' heap and indexes (pg_table_size,
   pg_indexes_size, pg_total_relation_size over pg_partition_tree) / rows; and in part 5 for a day of 14.4 M.
4. Silence scan at 10,000 streaming devices (its own database, Django in a subprocess, nothing queued: the
   outbox and Celery are replaced by counters as in bench/scans.py): 10,000 CAR T patients in their
   stay-near-the-center window, each with an open assignment of a patch, 2 % (--silence-share) silent for 45
   minutes. One pass of notifications.services.device_silence.device_silence_scan (what the beat task calls),
   then a second pass (nothing new due). Wall time and queries. Target <= 1 s (at 2 %).
5. A day of readings and the nurse's dashboard page (its own database, Django in a subprocess on
   config.settings.production through bench/settings.py, as bench/dashboard.py measures the page): 10,000 CAR T
   patients (--quick: 1,000) at one center in care teams of 200, a nurse member of the first team, a patch
   assigned to every patient. The nurse's /staff/ page (her 200 patients) is measured first with the patches
   assigned and no readings (the comparator), then again after a day of their readings, 1 a minute x 24 h =
   14.4 M rows, loaded for those patients' own patches with INSERT ... SELECT over generate_series(minutes) and
   unnest(patients, devices), time-major (every patch's reading of a minute before the next minute's, as they
   arrive), each assignment's last_measured_at / last_received_at and latest temperature set to its last reading
   (what the ingest keeps), VACUUM ANALYZE. The page
   through django.test.Client and the whole stack, with bench/dashboard.py's two-factor-verified client and
   `measure`: p50/p95/max of 50 requests after 5 warm-up ones, on the data's clock (time-machine), the queries
   per page, their SQL time and slowest statement, Django's CPU; beside it the page's device column query alone
   (monitoring.devices.device_annotations for the 200 patients, 100 runs), and each patient's latest temperature
   through LATEST_SQL (LATERAL ... ORDER BY measured_at DESC LIMIT 1 within the last 24 h) for 50 and 500
   patients, 200 runs each. Load time and size; a cProfile of 10 page requests on the day is written to
   var/bench/readings-day-profile.txt. Target: the page's p95 < 150 ms (bench/dashboard.py's).

Prints one table and writes it as JSON to var/bench/readings.json. Numbers depend on what else runs on the
machine: the load average at start is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ingest as ingest_bench  # noqa: E402
from alert_latency import (  # noqa: E402
    ROOT,
    Gunicorn,
    PreforkWorker,
    cpu_seconds,
    make_data,
    migrate,
    production_env,
    recreate_database,
    shut_down,
)
from common import clone_database, drop_database, load_average, machine_line, pct, table  # noqa: E402
from ingest import CpuMeter, KeepAlive, checkin_requests, closed_loop, drain  # noqa: E402

from tests.services import FakeOutside, RedisServer, wait_until  # noqa: E402


def databases_prefix(database_url: str | None) -> str:
    """The benchmark's databases are <name>_rbench_ingest, _silence and _day, <name> being the database of
    DATABASE_URL (car_t when unset): checkouts with databases of their own can run it at the same time without
    recreating or dropping each other's."""
    from urllib.parse import urlsplit

    name = urlsplit(database_url).path.strip("/") if database_url else ""
    return f"{name or 'car_t'}_rbench"


DB_PREFIX = databases_prefix(os.environ.get("DATABASE_URL"))
# And the run's process id: two runs of one checkout never drop each other's either.
DB_INGEST, DB_SILENCE, DB_DAY = (f"{DB_PREFIX}_{part}_{os.getpid()}" for part in ("ingest", "silence", "day"))
ingest_bench.DB_NAME = DB_INGEST  # whose PostgreSQL backends ingest.CpuMeter counts
OUT = ROOT / "var" / "bench" / "readings.json"
PROFILE = ROOT / "var" / "bench" / "readings-day-profile.txt"  # cProfile of the nurse's page on the day (part 5)

BATCH = 60  # readings per batch, 1 minute apart: an hour of a patch
STEP = dt.timedelta(minutes=1)
CONCURRENCY = 8
FEVER_C = 38.0  # clinical-rules §1 / §10
FEVER_MINUTES = 10  # stream_fever_minutes (policy default)
TARGET_READINGS_S = 2000
TARGET_DETECTION_P95_S = 5.0
TARGET_SILENCE_S = 1.0
TARGET_PAGE_P95_MS = 150.0
RATE_LIMITS = {"RATE_LIMIT_READINGS": "1000000/min", "RATE_LIMIT_CHECKIN": "100000/min"}
BATCHES_PER_THREAD_S = 25  # capacity: each thread can send at most this many batches per second


# ---------------------------------------------------------------------------------------------- batches


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def temperatures(start: dt.datetime, values: list[float]) -> list[dict]:
    """One temperature reading a minute from `start`, the values in order."""
    return [{"type": "temperature", "value": round(v, 1), "unit": "Cel", "measured_at": iso(start + i * STEP)}
            for i, v in enumerate(values)]


def quiet_batch(window_start: dt.datetime, hour: int, rng: random.Random) -> list[dict]:
    """The `hour`-th hour of a patch worn from `window_start`: 60 readings below fever."""
    return temperatures(window_start + hour * BATCH * STEP, [rng.uniform(36.2, 37.4) for _ in range(BATCH)])


def round_robin(devices: int, hours: int):
    """(device, hour) in the order a client thread sends them: every device's first hour, then every second."""
    for hour in range(hours):
        for device in range(devices):
            yield device, hour


def fever_batches(end: dt.datetime, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """(previous, completing) for one patient; the completing batch's last reading is at `end`.
    previous: 60 readings, 55 below 38.0 then 5 at 38.2+ (4 minutes: not sustained);
    completing: 7 more at 38.2+, so 12 readings over 11 minutes >= 38.0 (sustained, clinical-rules §10)."""
    first = end - (BATCH + 7 - 1) * STEP
    previous = temperatures(first, [rng.uniform(36.6, 37.4) for _ in range(BATCH - 5)]
                            + [rng.uniform(38.2, 38.6) for _ in range(5)])
    completing = temperatures(first + BATCH * STEP, [rng.uniform(38.2, 38.7) for _ in range(7)])
    return previous, completing


def body(readings: list[dict]) -> bytes:
    return json.dumps({"readings": readings}).encode()


def device_request(port: int, key: str, payload: bytes) -> bytes:
    return (f"POST /api/v1/readings/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n"
            f"Authorization: Device {key}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "\r\n").encode() + payload


# ---------------------------------------------------------------------------------------------- data


def bulk_patients(count: int, prefix: str, *, team, therapy, start_date: dt.date) -> list[int]:
    """`count` CAR T patients (user, patient, active course, stay-near-the-center window) in a few bulk
    statements: the course's own windows receiver does not run for bulk_create, so the window is made here."""
    from django.contrib.auth.hashers import make_password

    from monitoring.models import Window, WindowKind
    from tracker.models import Patient, Role, TreatmentCourse, User

    unusable = make_password(None)
    users = User.objects.bulk_create([User(username=f"{prefix}{n}", role=Role.PATIENT, password=unusable)
                                      for n in range(count)], batch_size=2000)
    patients = Patient.objects.bulk_create([
        Patient(center_id=team.center_id, care_team=team, user=user, mrn=f"{prefix.upper()}{n:06d}",
                first_name="Bench", last_name=f"Device{n}", date_of_birth=dt.date(1965, 5, 1),
                time_zone="America/New_York") for n, user in enumerate(users)], batch_size=2000)
    courses = TreatmentCourse.objects.bulk_create([
        TreatmentCourse(patient=p, therapy=therapy, care_team=team, start_date=start_date) for p in patients],
        batch_size=2000)
    days = therapy.proximity_days or 14
    Window.objects.bulk_create([
        Window(course=c, kind=WindowKind.PROXIMITY, starts_on=start_date, label_days=days,
               ends_on=start_date + dt.timedelta(days=days)) for c in courses], batch_size=2000)
    return [p.pk for p in patients]


def patch_devices(patient_ids: list[int], prefix: str, *, center_id: int, nurse_id: int, worn_from: dt.datetime,
                  heard: list[dt.datetime | None] | None = None, keys: bool = True) -> list[tuple[int, str]]:
    """A patch (1 reading a minute) assigned to each patient from `worn_from`; (patient id, device key) each."""
    from tracker.models import BodySite, Device, DeviceAssignment, DeviceCredential, DeviceKind

    devices = Device.objects.bulk_create([
        Device(center_id=center_id, kind=DeviceKind.TEMPERATURE_PATCH, maker="Bench", model_name="Patch",
               serial=f"{prefix}{n:06d}", body_site=BodySite.AXILLARY, expected_interval_seconds=60)
        for n in range(len(patient_ids))], batch_size=2000)
    DeviceAssignment.objects.bulk_create([
        DeviceAssignment(device=d, patient_id=p, started_at=worn_from, assigned_by_id=nurse_id,
                         last_received_at=heard[n] if heard else None, last_measured_at=heard[n] if heard else None)
        for n, (d, p) in enumerate(zip(devices, patient_ids, strict=True))], batch_size=2000)
    if not keys:
        return []
    from django.contrib.auth import get_user_model

    nurse = get_user_model().objects.get(pk=nurse_id)
    return [(p, DeviceCredential.issue(d, created_by=nurse)[1]) for d, p in zip(devices, patient_ids, strict=True)]


def reading_partitions(first_day: dt.date, last_day: dt.date) -> None:
    """Day partitions from first_day to last_day, as a deployment running for a while has them."""
    from tracker.reading_storage import partitions_ensure

    partitions_ensure(today=first_day, days_ahead=(last_day - first_day).days)


def storage(cursor) -> dict:
    """Rows and bytes of the reading partitions (heap incl. FSM/VM, indexes, total)."""
    cursor.execute("SELECT count(*) FROM tracker_reading")
    rows = cursor.fetchone()[0]
    cursor.execute("SELECT count(*), coalesce(sum(pg_table_size(relid)), 0), coalesce(sum(pg_indexes_size(relid)), 0),"
                   " coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('tracker_reading') "
                   "WHERE isleaf")
    partitions, heap, index, total = (int(v) for v in cursor.fetchone())
    per = (lambda b: round(b / rows, 1)) if rows else (lambda b: None)
    return {"rows": rows, "partitions": partitions, "heap_bytes": heap, "index_bytes": index, "total_bytes": total, "bytes_per_row": per(total), "heap_per_row": per(heap),
            "index_per_row": per(index)}


# ---------------------------------------------------------------------------------------------- ingest


class BatchPhase:
    def __init__(self, name: str):
        self.name = name
        self.latencies: list[float] = []
        self.stored = self.duplicates = self.received = 0
        self.errors: Counter = Counter()
        self.elapsed = 0.0
        self.sent: list[list[bytes]] = []
        self.exhausted = 0

    @property
    def batches_s(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def readings_s(self) -> float:
        return self.received / self.elapsed if self.elapsed else 0.0


def batch_loop(port: int, name: str, feeds: list, duration: float) -> BatchPhase:
    """One thread per feed (an iterator of raw requests), one keep-alive connection each, each sending its next
    batch when the last is answered, for `duration` seconds or until its feed runs out."""
    phase = BatchPhase(name)
    lock = threading.Lock()
    barrier = threading.Barrier(len(feeds) + 1)
    window: dict = {}
    phase.sent = [[] for _ in feeds]

    def run(i: int) -> None:
        client, out, sent = KeepAlive(port), [], phase.sent[i]
        stored = duplicates = received = 0
        barrier.wait()
        end = window["end"]
        for raw in feeds[i]:
            t0 = time.perf_counter()
            if t0 >= end:
                break
            try:
                status, answer = client.request(raw)
            except Exception as exc:  # noqa: BLE001 (counted and reported)
                with lock:
                    phase.errors[type(exc).__name__] += 1
                continue
            if status != 202:
                with lock:
                    phase.errors[f"HTTP {status}"] += 1
                    if phase.errors[f"HTTP {status}"] == 1:
                        print(f"  {name}: HTTP {status}: {answer[:300]!r}", file=sys.stderr)
                continue
            out.append(time.perf_counter() - t0)
            data = json.loads(answer)
            stored, duplicates, received = (stored + data["stored"], duplicates + data["duplicates"],
                                            received + data["received"])
            if data["refused"]:
                with lock:
                    phase.errors["refused readings"] += len(data["refused"])
            sent.append(raw)
        else:
            with lock:
                phase.exhausted += 1
        client.close()
        with lock:
            phase.latencies += out
            phase.stored += stored
            phase.duplicates += duplicates
            phase.received += received

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(feeds))]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    window["end"] = start + duration
    barrier.wait()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - start
    return phase


def ingest_feeds(port: int, groups: list[list[tuple[int, str]]], window_start: dt.datetime, hours: int) -> list:
    def feed(i: int, group: list[tuple[int, str]]):
        rng = random.Random(i)
        for device, hour in round_robin(len(group), hours):
            yield device_request(port, group[device][1], body(quiet_batch(window_start, hour, rng)))

    return [feed(i, group) for i, group in enumerate(groups)]


def post_batch(port: int, key: str, readings: list[dict]) -> dict:
    client = KeepAlive(port)
    try:
        status, answer = client.request(device_request(port, key, body(readings)))
    finally:
        client.close()
    if status != 202:
        raise RuntimeError(f"readings POST: HTTP {status}: {answer[:300]!r}")
    data = json.loads(answer)
    if data["refused"] or data["stored"] != len(readings):
        raise RuntimeError(f"readings POST stored {data['stored']} of {len(readings)}: {data}")
    return data


# ---------------------------------------------------------------------------------------------- detection


def fever_prepare(port: int, patients: list[tuple[int, str]], end: dt.datetime, seed: int) -> dict[int, list]:
    """Send each patient's previous hour (below, ending in 5 minutes of fever); return the completing batches."""
    rng = random.Random(seed)
    completing = {}
    for patient_id, key in patients:
        previous, last = fever_batches(end, rng)
        post_batch(port, key, previous)
        completing[patient_id] = last
    return completing


def fever_fire(port: int, patients: list[tuple[int, str]], completing: dict[int, list], spacing: float,
               ) -> tuple[dict[int, float], list[str]]:
    """POST each patient's completing batch, `spacing` seconds apart (open loop); t0 (wall clock) per patient."""
    t0s, errors, threads = {}, [], []
    start = time.perf_counter()

    def one(patient_id: int, key: str) -> None:
        t0s[patient_id] = time.time()
        try:
            post_batch(port, key, completing[patient_id])
        except Exception as exc:  # noqa: BLE001 (reported)
            errors.append(repr(exc)[:300])

    for i, (patient_id, key) in enumerate(patients):
        delay = start + i * spacing - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, args=(patient_id, key), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=120)
    return t0s, errors


def fever_collect(t0s: dict[int, float], nurse_id: int, outside: FakeOutside, timeout: float) -> dict:
    """Poll until every patient has its alert and the nurse's SMS was received by the loopback provider (or the
    timeout); latencies in seconds from t0: the Alert row's opened_at, the SMS's arrival."""
    from monitoring.models import Alert
    from notifications.models import Notification

    patients = list(t0s)
    alerts: dict[int, float] = {}
    sms: dict[int, float] = {}

    def arrived() -> bool:
        for patient_id, opened in Alert.objects.filter(patient_id__in=patients).values_list("patient_id", "opened_at"):
            alerts.setdefault(patient_id, opened.timestamp() - t0s[patient_id])
        references = {}
        for entry in list(outside.received):
            if entry.path == "/sms":
                references.setdefault(json.loads(entry.body).get("reference"), entry.at)
        for uuid, patient_id in Notification.objects.filter(
                patient_id__in=patients, recipient_id=nurse_id, channel="sms").values_list("uuid", "patient_id"):
            if str(uuid) in references:
                sms.setdefault(patient_id, references[str(uuid)] - t0s[patient_id])
        return len(alerts) == len(sms) == len(patients)

    try:
        wait_until(arrived, timeout=timeout, interval=0.05, what="every fever alert and its SMS")
    except AssertionError:
        pass
    return {"patients": len(patients), "alerts": sorted(alerts.values()), "sms": sorted(sms.values()),
            "missing_alerts": len(patients) - len(alerts), "missing_sms": len(patients) - len(sms)}


def latency_summary(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    return {"n": len(samples), "p50": round(pct(samples, 50), 3), "p95": round(pct(samples, 95), 3),
            "max": round(max(samples), 3)}


def server_cpu(cpu: dict, requests: int) -> dict:
    """CPU ms per request by process (ingest.CpuMeter), the server's sum (all but the load client), and what two
    cores given to the server alone would serve at that cost; the machine's busy share and other sessions'."""
    per = {k: round(cpu[k] / max(1, requests) * 1e3, 2) for k in ("gunicorn", "postgres", "celery", "redis", "client")}
    server = sum(per[k] for k in ("gunicorn", "postgres", "celery", "redis"))
    return {"ms_per_request": per, "server_ms": round(server, 2),
            "two_dedicated_cores_rps": round(2000 / server, 1) if server else None,
            "machine_busy_percent": round(cpu["machine"] * 100), "others_percent": round(cpu["others"] * 100)}


# ---------------------------------------------------------------------------------------------- parts in subprocesses


def part_silence(database: str, devices: int, silent_share: float) -> dict:
    """In its own process on its own database (see the module's docstring, part 4)."""
    from common import bench_env, setup_django
    from scans import Counters, isolate, timed

    setup_django(bench_env(database))
    counters = Counters()
    isolate(counters)
    from django.db import connection, transaction
    from django.utils import timezone

    from notifications.services.device_silence import device_silence_scan
    from tracker.catalogue import sync_catalogue
    from tracker.models import CareTeam, CareTeamMembership, Center, Role, Therapy, User

    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        sync_catalogue(Therapy)
        therapy = Therapy.objects.get(code="yescarta")
        center = Center.objects.create(name="Bench Silence Center", phone_24_7="(555) 010-0199")
        team = CareTeam.objects.create(center=center, name="Cellular Therapy")
        nurse = User.objects.create(username="bench.silence.nurse", role=Role.NURSE, phone="+15550100000")
        CareTeamMembership.objects.create(user=nurse, team=team)
        ids = bulk_patients(devices, "silence", team=team, therapy=therapy,
                            start_date=timezone.localdate() - dt.timedelta(days=3))
        silent = set(random.Random(5).sample(range(devices), round(devices * silent_share)))
        heard = [now - dt.timedelta(minutes=45 if n in silent else 1) for n in range(devices)]
        patch_devices(ids, "S", center_id=center.pk, nurse_id=nurse.pk, worn_from=now - dt.timedelta(days=1),
                      heard=heard, keys=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    setup_s = time.perf_counter() - started
    connection.ensure_connection()
    first, first_s, first_q = timed(counters, device_silence_scan, now=now)
    second, second_s, second_q = timed(counters, device_silence_scan, now=now + dt.timedelta(seconds=60))
    return {"devices": devices, "silent": len(silent), "setup_s": round(setup_s, 1),
            "first_pass": {"seconds": round(first_s, 3), "queries": first_q, **first},
            "second_pass": {"seconds": round(second_s, 3), "queries": second_q, **second},
            "notifications_enqueued": counters.enqueued, "tasks_sent": counters.apply_async}


LATEST_SQL = """
SELECT p.id, r.value, r.measured_at, %(now)s - r.measured_at AS age
FROM unnest(%(ids)s::bigint[]) AS p(id)
LEFT JOIN LATERAL (
    SELECT value, measured_at FROM tracker_reading
    WHERE patient_id = p.id AND type = %(type)s AND measured_at >= %(since)s AND measured_at <= %(until)s
    ORDER BY measured_at DESC LIMIT 1
) r ON true"""

# A day of readings from the patches worn: one a minute from `first` to `last`, every patch's reading of a minute
# before the next minute's (time-major, the order they arrive in). The patches' array is unnested once per minute
# (its argument refers to the minute), so the minutes are the outer loop whatever the planner prefers.
DAY_SQL = """
INSERT INTO tracker_reading (patient_id, type, measured_at, device_id, value, unit, utc_offset_minutes, received_at)
SELECT worn.patient_id, %(type)s, t, worn.device_id, round((36.2 + random() * 1.2)::numeric, 1), %(unit)s, -300,
       t + interval '20 seconds'
FROM generate_series(%(first)s::timestamptz, %(last)s::timestamptz, interval '1 minute') AS t
CROSS JOIN LATERAL unnest(CASE WHEN t IS NULL THEN NULL ELSE %(patients)s::bigint[] END,
                          CASE WHEN t IS NULL THEN NULL ELSE %(devices)s::bigint[] END) AS worn(patient_id, device_id)"""

DAY_TEAM = 200  # patients per care team: the nurse's dashboard page (monitoring.dashboard.PAGE_SIZE rows)
PAGE_RUNS = 50  # timed requests of the nurse's page per case, after PAGE_WARMUP
PAGE_WARMUP = 5


def team_sizes(patients: int, size: int = DAY_TEAM) -> list[int]:
    """The day's care teams: full teams of `size` patients, the remainder in a last, smaller one."""
    full, rest = divmod(patients, size)
    return [size] * full + ([rest] if rest else [])


def day_readings(cursor, worn: list[tuple[int, int]], first: dt.datetime, last: dt.datetime) -> int:
    """Insert the readings of the (patient id, device id) patches from `first` to `last` (DAY_SQL); rows added."""
    from tracker.models import ReadingType, ReadingUnit

    cursor.execute(DAY_SQL, {"type": ReadingType.TEMPERATURE.value, "unit": ReadingUnit.CEL.value, "first": first,
                             "last": last, "patients": [p for p, _ in worn], "devices": [d for _, d in worn]})
    return cursor.rowcount


def device_column(patient_ids: list[int]) -> list[dict]:
    """The dashboard's device column for these patients, as its rows query computes it
    (monitoring.devices.device_annotations): the latest device temperature and when it was measured."""
    from monitoring.devices import device_annotations
    from tracker.models import Patient

    return list(Patient.objects.filter(pk__in=patient_ids).annotate(**device_annotations()).values(
        "pk", "has_temperature_device", "device_temperature", "device_temperature_at", "device_silent",
        "device_last_at"))


def day_network(patients: int, now: dt.datetime, worn_from: dt.datetime) -> dict:
    """`patients` CAR T patients (day 3 of their course) at one center in care teams of DAY_TEAM, a nurse
    member of the first team, and a patch assigned to every patient from `worn_from`, nothing heard from it
    yet. Returns the nurse, her team's patient ids and every (patient id, device id) patch."""
    from django.db import transaction

    from tracker.catalogue import sync_catalogue
    from tracker.models import CareTeam, CareTeamMembership, Center, DeviceAssignment, Role, Therapy, User

    with transaction.atomic():
        sync_catalogue(Therapy)
        therapy = Therapy.objects.get(code="yescarta")
        center = Center.objects.create(name="Bench Day Center", phone_24_7="(555) 010-0198")
        nurse = User.objects.create(username="bench.day.nurse", role=Role.NURSE, first_name="Dana",
                                    last_name="Nurse", phone="+15550100001")
        team_ids: list[int] = []
        ids: list[int] = []
        for n, size in enumerate(team_sizes(patients)):
            team = CareTeam.objects.create(center=center, name=f"Cellular Therapy {n + 1}")
            made = bulk_patients(size, f"day{n:03d}-", team=team, therapy=therapy,
                                 start_date=now.date() - dt.timedelta(days=3))
            if n == 0:
                CareTeamMembership.objects.create(user=nurse, team=team)
                team_ids = made
            ids += made
        patch_devices(ids, "D", center_id=center.pk, nurse_id=nurse.pk, worn_from=worn_from, keys=False)
        worn = list(DeviceAssignment.objects.filter(patient_id__in=ids).order_by("patient_id")
                    .values_list("patient_id", "device_id"))
    return {"nurse": nurse, "team": team_ids, "worn": worn}


def timed_runs(fn, runs: int, warmup: int = 10) -> dict:
    """p50/p95/max in ms of `runs` calls of fn() after `warmup` untimed ones."""
    samples = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        fn()
        if i >= warmup:
            samples.append((time.perf_counter() - t0) * 1e3)
    return {"runs": runs, "p50_ms": round(pct(samples, 50), 2), "p95_ms": round(pct(samples, 95), 2),
            "max_ms": round(max(samples), 2)}


def nurse_page(nurse, team: list[int], now: dt.datetime, devices_shown: int) -> dict:
    """The nurse's /staff/ page through the whole stack (bench/dashboard.py's verified client and `measure`), on
    the data's clock, with the page's device column query alone beside it. `devices_shown`: how many rows must
    show a device temperature (every row once the readings are in, none before)."""
    import time_machine
    from dashboard import measure, signed_in_client

    with time_machine.travel(now, tick=True):
        client = signed_in_client(nurse)
        page = measure(client, "/staff/", {}, PAGE_RUNS, PAGE_WARMUP)
        body = client.get("/staff/", secure=True).content.decode()
        shown = body.count('class="device-reading')
        if page["rows"] != len(team) or shown != devices_shown:
            raise RuntimeError(f"the nurse's page shows {page['rows']} rows, {shown} device temperatures; expected "
                               f"{len(team)} and {devices_shown}")
        column = timed_runs(lambda: device_column(team), runs=100)
    return {"patients": len(team), "runs": PAGE_RUNS, "warmup": PAGE_WARMUP, "device_temperatures_shown": shown,
            **{k: round(page[k], 1) for k in ("p50", "p95", "max", "cpu_ms", "sql_ms", "slowest_ms")},
            "queries": page["queries"], "full_gcs": page["full_gcs"], "rows": page["rows"], "bytes": page["bytes"],
            "slowest_sql": page["slowest_sql"][:400], "device_column": column}


def part_day(database: str, patients: int, runs: int, pages: list[int]) -> dict:  # noqa: PLR0915 (one run)
    """In its own process on its own database (see the module's docstring, part 5)."""
    from common import bench_env, setup_django
    from dashboard import collectstatic, profile_page, signed_in_client

    env = bench_env(database, settings="bench.settings")
    collectstatic(env)
    setup_django(env)
    import time_machine
    from django.db import connection

    from config.wsgi import load_and_freeze
    from tracker.models import DeviceAssignment
    from tracker.readings import assignments_refresh_temperature

    load_and_freeze()  # as the production WSGI entry point does at start-up
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    first, last = now - dt.timedelta(days=1), now - dt.timedelta(minutes=1)
    reading_partitions(first.date(), now.date() + dt.timedelta(days=1))
    t0 = time.perf_counter()
    network = day_network(patients, now, worn_from=first - dt.timedelta(minutes=1))
    nurse, team, worn = network["nurse"], network["team"], network["worn"]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    setup_s = time.perf_counter() - t0
    print(f"  {patients} patients, {len(worn)} patches in {setup_s:.0f} s; the nurse's page before the readings ...",
          file=sys.stderr, flush=True)
    before = nurse_page(nurse, team, now, devices_shown=0)

    print(f"  loading {len(worn) * 1440:,} readings ...", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        rows = day_readings(cursor, worn, first, last)
        load_s = time.perf_counter() - t0
        # What the ingest keeps on each open assignment, true for the day loaded (the silence scan and the page
        # read them): every patch was last heard at the last minute.
        patches = DeviceAssignment.objects.filter(device_id__in=[d for _, d in worn], ended_at__isnull=True)
        patches.update(last_measured_at=last, last_received_at=last + dt.timedelta(seconds=20))
        assignments_refresh_temperature(patches)  # each patch's last reading, as the ingest keeps it
        t0 = time.perf_counter()
        cursor.execute("VACUUM (ANALYZE) tracker_reading")
        vacuum_s = time.perf_counter() - t0
        cursor.execute("ANALYZE tracker_deviceassignment")
        sizes = storage(cursor)
    print("  the nurse's page with the day loaded ...", file=sys.stderr, flush=True)
    after = nurse_page(nurse, team, now, devices_shown=len(team))

    rng = random.Random(3)
    everyone = [p for p, _ in worn]
    latest = {}
    with connection.cursor() as cursor:
        for page in (min(p, patients) for p in pages):
            params = {"type": 1, "now": now, "since": now - dt.timedelta(days=1), "until": now + dt.timedelta(minutes=5)}

            def latest_of_a_page(params=params, page=page) -> None:
                params["ids"] = rng.sample(everyone, page)
                cursor.execute(LATEST_SQL, params)
                found = cursor.fetchall()
                if len(found) != page or any(r[1] is None for r in found):
                    raise RuntimeError(f"latest temperature: {len(found)} rows for {page} patients, some empty")

            latest[str(page)] = timed_runs(latest_of_a_page, runs)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + LATEST_SQL, params)
            plan = cursor.fetchone()[0][0]
            latest[str(page)].update(buffers_hit=plan["Plan"].get("Shared Hit Blocks"),
                                     buffers_read=plan["Plan"].get("Shared Read Blocks"))
    with time_machine.travel(now, tick=True):
        profile = profile_page(signed_in_client(nurse), "/staff/")
    # The hourly upkeep's index rebuild of the finished days (tracker/reading_storage.py partitions_pack).
    from tracker.reading_storage import PACK_AFTER, partitions_pack

    t0 = time.perf_counter()
    packed = partitions_pack(now=now + dt.timedelta(days=1) + PACK_AFTER, limit=10)
    pack_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        packed_sizes = storage(cursor)
    return {"patients": patients, "teams": len(team_sizes(patients)), "rows": sizes["rows"], "rows_inserted": rows,
            "setup_s": round(setup_s, 1), "load_s": round(load_s, 1), "rows_per_s": round(rows / load_s),
            "vacuum_analyze_s": round(vacuum_s, 1), "storage": sizes, "page_before": before, "page_after": after,
            "latest_temperature": latest, "page_profile": profile,
            "packed": {"partitions": packed, "seconds": round(pack_s, 1), "storage": packed_sizes}}


def run_part(part: str, *args: str) -> dict:
    """The part in a subprocess of its own; its progress and errors go to this terminal (stderr)."""
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--part", part, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"part {part} failed (exit {result.returncode}; its traceback above):\n{result.stdout[-2000:]}")


# ---------------------------------------------------------------------------------------------- main


def grading_backlog(broker) -> dict[str, int]:
    """Tasks still queued: the ordinary readings' grading (`readings`) and everything else (`celery`)."""
    return {queue: broker.llen(queue) for queue in ("celery", "readings")}


def drain_timed(broker, timeout: float) -> float:
    start = time.monotonic()
    drain(broker, timeout=timeout)
    return time.monotonic() - start


def main() -> int:  # noqa: PLR0915 (one run, phase after phase)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 s phases, 5 fever patients, 1,000-patient day")
    parser.add_argument("--duration", type=float, default=None, help="seconds per load phase (default 60)")
    parser.add_argument("--fever-patients", type=int, default=None, help="K per detection round (default 20)")
    parser.add_argument("--day-patients", type=int, default=None, help="patients in the day of readings")
    parser.add_argument("--silence-devices", type=int, default=10_000)
    parser.add_argument("--silence-share", type=float, default=0.02,
                        help="share of the silence scan's devices silent for 45 minutes (default 0.02)")
    parser.add_argument("--checkin-patients", type=int, default=300)
    parser.add_argument("--devices-per-thread", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_PREFIX}_* databases")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: ingest,silence,day")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "silence":
        print("RESULT " + json.dumps(part_silence(args.database, args.size, args.silence_share)))
        return 0
    if args.part == "day":
        print("RESULT " + json.dumps(part_day(args.database, args.size, 200, [50, 500])))
        return 0
    duration = args.duration or (15 if args.quick else 60)
    fever_k = args.fever_patients or (5 if args.quick else 20)
    day_patients = args.day_patients or (1_000 if args.quick else 10_000)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    print(f"readings benchmark; machine: {machine_line()}", flush=True)
    load_at_start = load_average()
    print(f"load average (1/5/15 min) at start: {load_at_start}", flush=True)
    logs = Path(tempfile.mkdtemp(prefix="readings-bench-"))
    results: dict = {"machine": machine_line(), "load_at_start": load_at_start, "quick": args.quick,
                     "duration_s": duration, "concurrency": CONCURRENCY, "batch_readings": BATCH}
    redis_server, outside, web, worker = RedisServer(), None, None, None
    try:
        redis_server.start()
        outside = FakeOutside().start()
        env = production_env(redis_server.url, outside.url, DB_INGEST, LOG_LEVEL="WARNING", **RATE_LIMITS)
        recreate_database(DB_INGEST)
        migrate(env)
        for name in (DB_SILENCE, DB_DAY):  # the same migrated schema, before anything connects to it
            clone_database(DB_INGEST, name)

        if "ingest" not in skip:
            results.update(ingest_parts(env, logs, redis_server, outside, duration, fever_k, args))
            web, worker = results.pop("_processes")
            web.stop()
            worker.stop()
            web = worker = None
        if "silence" not in skip:
            print(f"silence scan at {args.silence_devices} streaming devices ...", flush=True)
            results["silence"] = run_part("silence", "--database", DB_SILENCE, "--size", str(args.silence_devices),
                                          "--silence-share", str(args.silence_share))
        if "day" not in skip:
            print(f"a day of {day_patients} patients at 1 reading a minute ...", flush=True)
            results["day"] = run_part("day", "--database", DB_DAY, "--size", str(day_patients))
            PROFILE.parent.mkdir(parents=True, exist_ok=True)
            PROFILE.write_text(results["day"].pop("page_profile"))
        results["load_at_end"] = load_average()
        report(results)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nwritten to {OUT.relative_to(ROOT)}; logs in {logs}")
        if "day" in results:
            print(f"the nurse's page on the day, cProfile of 10 requests: {PROFILE.relative_to(ROOT)}")
        return 0
    except BaseException:
        print(f"readings: failed; gunicorn and worker logs in {logs}", file=sys.stderr)
        raise
    finally:
        shut_down((worker, web, outside, redis_server))
        if not args.keep:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001, S110 (Django may not be set up in this process)
                pass
            for name in (DB_INGEST, DB_SILENCE, DB_DAY):
                drop_database(name)


def ingest_parts(env: dict, logs: Path, redis_server, outside, duration: float, fever_k: int, args) -> dict:
    """Parts 1 to 3, on gunicorn and the worker (returned under `_processes` for the caller to stop)."""
    os.environ.update(env)
    import django

    django.setup()
    import redis
    from django.db import connection

    from tracker.models import CareTeam, Reading, Therapy

    out: dict = {}
    hours = max(2, -(-int(duration * BATCHES_PER_THREAD_S) // args.devices_per_thread))
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    window_start = now - dt.timedelta(hours=hours, minutes=10)  # the last batch ends 10 minutes ago
    reading_partitions((window_start - dt.timedelta(days=1)).date(), now.date())
    t0 = time.monotonic()
    data = make_data(args.checkin_patients + 2 * fever_k, outside.url)
    team = CareTeam.objects.get()
    therapy = Therapy.objects.get(code="yescarta")
    reading_ids = bulk_patients(CONCURRENCY * args.devices_per_thread, "reader", team=team, therapy=therapy,
                                start_date=now.date() - dt.timedelta(days=2))
    keys = patch_devices(reading_ids, "R", center_id=team.center_id, nurse_id=data["nurse"],
                         worn_from=window_start - dt.timedelta(minutes=1))
    fever_patients = [pk for pk, _ in data["tokens"][args.checkin_patients:]]
    fever_keys = patch_devices(fever_patients, "F", center_id=team.center_id, nurse_id=data["nurse"],
                               worn_from=now - dt.timedelta(hours=3))
    checkin_tokens = [t for _, t in data["tokens"][:args.checkin_patients]]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    out["setup_s"] = round(time.monotonic() - t0, 1)

    web = Gunicorn(env, logs / "gunicorn.log", 2, 4)
    web.start()
    worker = PreforkWorker(env, logs / "worker.log", 2)
    worker.start()
    out["_processes"] = (web, worker)
    broker = redis.Redis.from_url(redis_server.url)
    groups = [keys[i::CONCURRENCY] for i in range(CONCURRENCY)]
    feeds = ingest_feeds(web.port, groups, window_start, hours)

    # Warm-up: lazy imports and connections in every gunicorn thread and prefork child (the same feeds: these
    # are real new readings), and the check-in path.
    batch_loop(web.port, "warm-up", feeds, 3)
    closed_loop(web.port, "warm-up", CONCURRENCY, 3, checkin_requests(web.port, checkin_tokens), 201)
    drain(broker, timeout=300)

    # Part 2, no other load.
    idle_patients, loaded_patients = fever_keys[:fever_k], fever_keys[fever_k:]
    end = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    print(f"detection latency, no other load: {fever_k} patients ...", flush=True)
    completing = fever_prepare(web.port, idle_patients, end, seed=21)
    drain(broker, timeout=120)
    t0s, idle_errors = fever_fire(web.port, idle_patients, completing, spacing=1.0)
    idle = fever_collect(t0s, data["nurse"], outside, timeout=60)
    # The loaded round's previous hours now, graded before the load starts.
    end = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    loaded_completing = fever_prepare(web.port, loaded_patients, end, seed=22)
    drain(broker, timeout=120)

    # Part 1: the ingest, with the loaded detection round alongside.
    print(f"ingest: {duration:.0f} s of batches of {BATCH} at concurrency {CONCURRENCY} ...", flush=True)
    rows_before = Reading.objects.count()
    probe: dict = {}

    def fire_during_ingest() -> None:
        spacing = max(0.2, (duration - 5) / fever_k)
        probe["t0s"], probe["errors"] = fever_fire(web.port, loaded_patients, loaded_completing, spacing)

    prober = threading.Thread(target=fire_during_ingest, daemon=True)
    prober.start()
    meter = CpuMeter(web, worker, redis_server.process.pid)
    worker_cpu = cpu_seconds(worker.process.pid)
    ingest = meter.run(batch_loop, web.port, "ingest", feeds, duration)
    backlog = grading_backlog(broker)
    drain_s = drain_timed(broker, timeout=900)  # what the worker still had to do when the load stopped
    worker_cpu = cpu_seconds(worker.process.pid) - worker_cpu  # the grading of every batch, queued ones too
    prober.join()
    loaded = fever_collect(probe.get("t0s", {}), data["nurse"], outside, timeout=600)
    rows_after = Reading.objects.count()

    print(f"replay: the same {len(ingest.latencies)} batches again (at most {duration:.0f} s) ...", flush=True)
    replay = batch_loop(web.port, "replay", [iter(sent) for sent in ingest.sent], duration)
    rows_replayed = Reading.objects.count()
    replay_ok = replay.stored == 0 and rows_replayed == rows_after and replay.duplicates == replay.received
    drain(broker, timeout=120)

    print(f"comparator: check-ins at concurrency {CONCURRENCY} for {duration:.0f} s ...", flush=True)
    checkins = meter.run(closed_loop, web.port, "check-ins", CONCURRENCY, duration,
                         checkin_requests(web.port, checkin_tokens), 201)
    drain(broker, timeout=300)

    with connection.cursor() as cursor:
        out["storage_after_ingest"] = storage(cursor)
    out["ingest"] = {
        "seconds": round(ingest.elapsed, 1), "batches": len(ingest.latencies), "readings": ingest.received,
        "stored": ingest.stored, "rows_added": rows_after - rows_before, "readings_s": round(ingest.readings_s),
        "batches_s": round(ingest.batches_s, 1), "p50_ms": round(pct(ingest.latencies, 50) * 1e3, 1),
        "p95_ms": round(pct(ingest.latencies, 95) * 1e3, 1), "errors": dict(ingest.errors),
        "threads_out_of_batches": ingest.exhausted, "grading_tasks_waiting_at_end": backlog,
        "grading_drain_s": round(drain_s, 1), "cpu": server_cpu(ingest.cpu, len(ingest.latencies)),
        "celery_ms_per_batch_until_drained": round(worker_cpu / max(1, len(ingest.latencies)) * 1e3, 2),
    }
    cpu = out["ingest"]["cpu"]
    cpu["server_ms_until_drained"] = round(cpu["server_ms"] - cpu["ms_per_request"]["celery"]
                                           + out["ingest"]["celery_ms_per_batch_until_drained"], 2)
    cpu["two_dedicated_cores_rps"] = round(2000 / cpu["server_ms_until_drained"], 1)
    out["replay"] = {
        "seconds": round(replay.elapsed, 1), "batches": len(replay.latencies), "readings": replay.received,
        "stored": replay.stored, "duplicates": replay.duplicates, "rows_added": rows_replayed - rows_after,
        "p50_ms": round(pct(replay.latencies, 50) * 1e3, 1) if replay.latencies else None,
        "p95_ms": round(pct(replay.latencies, 95) * 1e3, 1) if replay.latencies else None,
        "nothing_stored_twice": replay_ok, "errors": dict(replay.errors),
    }
    out["checkins"] = {
        "seconds": round(checkins.elapsed, 1), "requests": len(checkins.latencies), "rps": round(checkins.rps, 1),
        "p50_ms": round(pct(checkins.latencies, 50) * 1e3, 1), "p95_ms": round(pct(checkins.latencies, 95) * 1e3, 1),
        "errors": dict(checkins.errors), "cpu": server_cpu(checkins.cpu, len(checkins.latencies)),
        "readings_s_per_checkin_s": round(ingest.readings_s / checkins.rps, 1) if checkins.rps else None,
        "batches_s_per_checkin_s": round(ingest.batches_s / checkins.rps, 2) if checkins.rps else None,
    }
    out["detection"] = {
        "idle": {"alert": latency_summary(idle["alerts"]), "sms": latency_summary(idle["sms"]),
                 "missing_alerts": idle["missing_alerts"], "missing_sms": idle["missing_sms"], "errors": idle_errors},
        "during_ingest": {"alert": latency_summary(loaded["alerts"]), "sms": latency_summary(loaded["sms"]),
                          "missing_alerts": loaded["missing_alerts"], "missing_sms": loaded["missing_sms"],
                          "errors": probe.get("errors", [])},
    }
    if not replay_ok:
        raise RuntimeError(f"the replay stored readings twice: {out['replay']}")
    return out


def report(results: dict) -> None:
    print(f"\nconnected devices benchmark: gunicorn gthread 2x4, celery prefork 2, private redis; load average at "
          f"start {results['load_at_start']}, at end {results.get('load_at_end')}; {os.cpu_count()} cores shared "
          "with other work")
    rows = []
    ing, rep, chk = results.get("ingest"), results.get("replay"), results.get("checkins")
    if ing:
        rows += [
            ["1 ingest readings/s (batches of 60, conc 8)", ing["readings_s"], f">= {TARGET_READINGS_S}",
             "yes" if ing["readings_s"] >= TARGET_READINGS_S else "NO"],
            ["  batches/s; batch p50 / p95 ms", f"{ing['batches_s']}; {ing['p50_ms']} / {ing['p95_ms']}", "", ""],
            ["  grading tasks queued at end; drain s", f"{ing['grading_tasks_waiting_at_end']}; "
                                                       f"{ing['grading_drain_s']}", "", ""],
            ["  replay: rows added; duplicate batch p50 / p95 ms",
             f"{rep['rows_added']}; {rep['p50_ms']} / {rep['p95_ms']}", "0 rows",
             "yes" if rep["nothing_stored_twice"] else "NO"],
            ["  server CPU ms per batch (web + db + worker + redis)", f"{ing['cpu']['server_ms']} during the "
             f"load; {ing['cpu']['server_ms_until_drained']} with the queued grading", "", ""],
            ["  readings/s on 2 dedicated cores at that CPU", round(ing["cpu"]["two_dedicated_cores_rps"] * BATCH),
             f">= {TARGET_READINGS_S}", "yes" if ing["cpu"]["two_dedicated_cores_rps"] * BATCH >= TARGET_READINGS_S
             else "NO"],
            ["  check-ins/s (conc 8); p50 / p95 ms", f"{chk['rps']}; {chk['p50_ms']} / {chk['p95_ms']}", "", ""],
            ["  server CPU ms per check-in", chk["cpu"]["server_ms"], "", ""],
            ["  readings/s per check-in/s (measured; by CPU)", f"{chk['readings_s_per_checkin_s']}; "
             f"{round(chk['cpu']['server_ms'] / ing['cpu']['server_ms_until_drained'] * BATCH, 1)}", "", ""],
            ["  machine busy; other sessions' share (ingest)", f"{ing['cpu']['machine_busy_percent']} %; "
                                                                f"{ing['cpu']['others_percent']} %", "", ""],
        ]
        for label, key in (("idle", "idle"), ("during ingest", "during_ingest")):
            d = results["detection"][key]
            for what, missing in (("alert", d["missing_alerts"]), ("sms", d["missing_sms"])):
                s = d[what]
                cell = f"{s.get('p50')} / {s.get('p95')} / {s.get('max')}" + (f" ({missing} missing)" if missing
                                                                                 else "")
                ok = s.get("n") and not missing and s["p95"] <= TARGET_DETECTION_P95_S
                rows.append([f"2 fever -> {'Alert row' if what == 'alert' else 'nurse SMS'} s p50/p95/max, {label}",
                             cell, f"p95 <= {TARGET_DETECTION_P95_S:g}", "yes" if ok else "NO"])
        st = results["storage_after_ingest"]
        rows.append(["3 bytes/reading after ingest: total (heap + index)",
                     f"{st['bytes_per_row']} ({st['heap_per_row']} + {st['index_per_row']})", "", ""])
    if "silence" in results:
        s = results["silence"]
        first, second = s["first_pass"], s["second_pass"]
        rows += [[f"4 silence scan, {s['devices']} devices, {s['silent']} silent: s (queries)",
                  f"{first['seconds']} ({first['queries']})", f"<= {TARGET_SILENCE_S:g}",
                  "yes" if first["seconds"] <= TARGET_SILENCE_S else "NO"],
                 ["  next pass, nothing new due: s (queries)", f"{second['seconds']} ({second['queries']})",
                  f"<= {TARGET_SILENCE_S:g}", "yes" if second["seconds"] <= TARGET_SILENCE_S else "NO"]]
    if "day" in results:
        d = results["day"]
        st, before, after = d["storage"], d["page_before"], d["page_after"]
        rows += [[f"5 load a day, {d['rows']:,} rows: s (rows/s)", f"{d['load_s']} ({d['rows_per_s']:,})", "", ""],
                 ["  size MB; bytes/reading (heap + index)",
                  f"{st['total_bytes'] / 2**20:.0f}; {st['bytes_per_row']} ({st['heap_per_row']} + "
                  f"{st['index_per_row']})", "", ""]]
        for label, p in (("before the readings", before), ("with the day loaded", after)):
            rows += [[f"  nurse /staff/, {p['patients']} patients, {label}: ms p50 / p95 / max (queries)",
                      f"{p['p50']:.0f} / {p['p95']:.0f} / {p['max']:.0f} ({p['queries']})",
                      f"p95 < {TARGET_PAGE_P95_MS:g}", "yes" if p["p95"] < TARGET_PAGE_P95_MS else "NO"],
                     ["    SQL ms (slowest statement); Django CPU ms; page's device column query ms p50 / p95",
                      f"{p['sql_ms']:.0f} ({p['slowest_ms']:.0f}); {p['cpu_ms']:.0f}; "
                      f"{p['device_column']['p50_ms']} / {p['device_column']['p95_ms']}", "", ""]]
        for page, q in d["latest_temperature"].items():
            rows.append([f"  latest temperature (LATERAL), {page} patients: ms p50 / p95",
                         f"{q['p50_ms']} / {q['p95_ms']}", "", ""])
        pk = d["packed"]
        rows.append([f"  indexes rebuilt ({len(pk['partitions'])} partitions, {pk['seconds']} s): size MB; bytes/reading",
                     f"{pk['storage']['total_bytes'] / 2**20:.0f}; {pk['storage']['bytes_per_row']} "
                     f"({pk['storage']['heap_per_row']} + {pk['storage']['index_per_row']})", "", ""])
    table(["measure", "value", "target", "met"], rows)


if __name__ == "__main__":
    sys.exit(main())
