"""The dashboard's latest device temperature per patient, two ways, on a few hundred thousand readings:
`DATABASE_URL=postgres://... .venv/bin/python bench/device_latest.py [--patients 200] [--hours 24]`.

The database must be migrated (`manage.py migrate`); the readings, devices and assignments are inserted in one
transaction that is rolled back at the end, so the database is left as it was. For `--patients` patients, each
wearing a temperature patch (every 2 minutes) and a pulse oximeter (heart rate and SpO2 every 2 minutes) for
`--hours` hours, it prints EXPLAIN (ANALYZE, BUFFERS) timings of:

A. per shown patient, a correlated subquery on the reading table, newest first, LIMIT 1 (the primary key
   (patient_id, type, measured_at, device_id) read backwards: one index probe per patient);
B. the open assignments' last_measured_at (one query over the assignments), then one lookup of those exact
   primary keys.

A' is A with the "from a device assigned now" test inside the subquery, which defeats the backward scan.
C. what the dashboard runs now (monitoring/devices.py `device_annotations`): no readings at all, the newest
   temperature the ingest keeps on each assignment (`last_temperature`, `last_temperature_at`), the patient's
   assignments newest first, LIMIT 1. Until the ingest kept it, the dashboard ran A with the assignment test
   beside it. The README has the numbers."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

# A: the primary key read backwards, one probe per patient. The temperature device being assigned now is checked
# beside it (EXISTS on the open assignments), not inside it: a `device_id IN (...)` filter in the subquery makes
# PostgreSQL read every temperature of the patient through the patient_id index and sort them (A_FILTERED).
QUERY_A = """
SELECT p.id, r.value, r.measured_at, r.device_id FROM unnest(%s::int[]) p(id)
LEFT JOIN LATERAL (SELECT value, measured_at, device_id FROM tracker_reading
                   WHERE patient_id = p.id AND type = 1 ORDER BY measured_at DESC LIMIT 1) r ON true
"""
QUERY_A_FILTERED = """
SELECT p.id, r.value, r.measured_at FROM unnest(%s::int[]) p(id)
LEFT JOIN LATERAL (SELECT value, measured_at FROM tracker_reading
                   WHERE patient_id = p.id AND type = 1
                   AND device_id IN (SELECT a.device_id FROM tracker_deviceassignment a
                                     WHERE a.patient_id = p.id AND a.ended_at IS NULL)
                   ORDER BY measured_at DESC LIMIT 1) r ON true
"""
QUERY_B1 = """
SELECT a.patient_id, a.device_id, a.last_measured_at FROM tracker_deviceassignment a
JOIN tracker_device d ON d.id = a.device_id
WHERE a.patient_id = ANY(%s) AND a.ended_at IS NULL AND d.kind = 'temperature_patch' AND a.last_measured_at IS NOT NULL
"""
QUERY_B2 = """
SELECT r.patient_id, r.value, r.measured_at FROM unnest(%s::int[], %s::timestamptz[], %s::int[]) k(p, at, d)
JOIN tracker_reading r ON r.patient_id = k.p AND r.type = 1 AND r.measured_at = k.at AND r.device_id = k.d
"""
QUERY_C = """
SELECT p.id, a.last_temperature, a.last_temperature_at FROM unnest(%s::int[]) p(id)
LEFT JOIN LATERAL (SELECT last_temperature, last_temperature_at FROM tracker_deviceassignment
                   WHERE patient_id = p.id AND last_temperature_at IS NOT NULL
                   ORDER BY last_temperature_at DESC LIMIT 1) a ON true
"""


def populate(patients: int, hours: int) -> list[int]:
    with connection.cursor() as cursor:
        # Made-up patient, center and user ids: the foreign keys are checked at commit (deferred), and the
        # transaction is rolled back, so no patients need to exist.
        ids = list(range(900_000_000, 900_000_000 + patients))
        center = user = 900_000_000
        cursor.execute("""
            INSERT INTO tracker_device (uuid, center_id, kind, maker, model_name, serial, body_site,
                                        expected_interval_seconds, temperature_offset_c, created_at)
            SELECT gen_random_uuid(), %s, k.kind, 'Bench', 'B1', 'bench-' || k.kind || '-' || p, 'axillary', 120, 0,
                   now()
            FROM unnest(%s::int[]) p, (VALUES ('temperature_patch'), ('pulse_oximeter')) k(kind)""", [center, ids])
        cursor.execute("""
            INSERT INTO tracker_deviceassignment (device_id, patient_id, started_at, assigned_by_id, last_measured_at)
            SELECT d.id, split_part(d.serial, '-', 3)::int, now() - make_interval(hours => %s), %s,
                   date_trunc('minute', now())
            FROM tracker_device d WHERE d.maker = 'Bench'""", [hours, user])
        cursor.execute("""
            INSERT INTO tracker_reading (patient_id, type, measured_at, device_id, value, unit, utc_offset_minutes,
                                         received_at)
            SELECT a.patient_id, t.type, date_trunc('minute', now()) - make_interval(mins => 2 * s),
                   a.device_id, t.base + random(), 1, -300, now()
            FROM tracker_deviceassignment a JOIN tracker_device d ON d.id = a.device_id
            JOIN (VALUES (1, 'temperature_patch', 36.5), (2, 'pulse_oximeter', 75.0), (3, 'pulse_oximeter', 96.0))
                 t(type, kind, base) ON t.kind = d.kind
            CROSS JOIN generate_series(0, %s) s
            WHERE d.maker = 'Bench'""", [hours * 30])
        cursor.execute("""
            UPDATE tracker_deviceassignment a SET last_temperature = r.value, last_temperature_at = r.measured_at
            FROM tracker_reading r WHERE r.patient_id = a.patient_id AND r.type = 1 AND r.device_id = a.device_id
            AND r.measured_at = a.last_measured_at AND a.patient_id = ANY(%s)""", [ids])
        cursor.execute("ANALYZE tracker_reading")
        cursor.execute("ANALYZE tracker_deviceassignment")
        cursor.execute("SELECT count(*) FROM tracker_reading")
        print(f"readings: {cursor.fetchone()[0]:,} for {len(ids)} patients ({hours} h each)")
    return ids


def timed(sql: str, params, runs: int = 20) -> tuple[float, str]:
    with connection.cursor() as cursor:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            samples.append((time.perf_counter() - start) * 1000)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return statistics.median(samples), plan


def _summary(plan: str) -> str:
    """The plan's index and buffers in a few words."""
    lines = plan.splitlines()
    index = next((line.strip().split(" on ")[0].lstrip("-> ") + " on " + line.split(" on ")[1].split()[0]
                  for line in lines if "Index" in line and " on " in line), "no index")
    buffers = next((line.strip() for line in lines if line.strip().startswith("Buffers")), "")
    return f"{index}, {buffers}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--plans", action="store_true", help="print the query plans")
    args = parser.parse_args()
    with transaction.atomic():
        ids = populate(args.patients, args.hours)
        a_ms, a_plan = timed(QUERY_A, [ids])
        f_ms, f_plan = timed(QUERY_A_FILTERED, [ids])
        with connection.cursor() as cursor:
            cursor.execute(QUERY_B1, [ids])
            keys = cursor.fetchall()
        b1_ms, b1_plan = timed(QUERY_B1, [ids])
        b2_params = [[k[0] for k in keys], [k[2] for k in keys], [k[1] for k in keys]]
        b2_ms, b2_plan = timed(QUERY_B2, b2_params)
        c_ms, c_plan = timed(QUERY_C, [ids])
        print(f"A  primary key backwards, LIMIT 1 per patient (LATERAL or correlated subquery): median {a_ms:.2f} ms, "
              f"one query; {_summary(a_plan)}")
        print(f"A' the same with the open-assignment filter inside: median {f_ms:.2f} ms; {_summary(f_plan)}")
        print(f"B  assignments' last_measured_at {b1_ms:.2f} ms + those exact primary keys {b2_ms:.2f} ms "
              f"= {b1_ms + b2_ms:.2f} ms, two queries; {_summary(b2_plan)}")
        print(f"C  the temperature kept on the assignments, no readings read: median {c_ms:.2f} ms, one query; "
              f"{_summary(c_plan)}")
        if args.plans:
            print("\n--- A\n" + a_plan + "\n--- A'\n" + f_plan + "\n--- B1\n" + b1_plan + "\n--- B2\n" + b2_plan
                  + "\n--- C\n" + c_plan)
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
