"""The periodic scans at 10,000 and 100,000 patients: `python bench/scans.py [--sizes 10k,100k]`.

The escalation scan (`alerts_escalate_due_task`, every 30 s: alerts_escalate_due) and the missed check-in scan as
the `reminders_advance_due_task` task runs it every minute (reminders_ensure_states, then reminders_advance_due: batches of
up to 500 due rows, one transaction each, until none is due), in that order, on generated networks
(datagen.py): 10k = car_t_scale (10,000 patients, 100
days of check-ins), 100k = car_t_scale_100k (100,000 patients in 500 teams, 7 days of check-ins each to
keep the load to a couple of minutes; the scans read the last days only), generated first if missing.
Each size runs in its own process on a throwaway copy of the database (CREATE DATABASE ... TEMPLATE,
dropped afterwards), so every run starts from the same state.

The clock is the data's: 21:00:30 New York time, when the second reminders of New York patients and the
first ones of Chicago patients fall due (about one patient in nine: 80% log almost daily, but patients
who stopped logging and daily CAR T patients who have not logged yet are due). The reminder scan is
shown for one tick (reminders_advance_due takes every due row once, bounded per tick by
reminders.TICK_MAX_ROWS = 50,000 rows and TICK_MAX_SECONDS = 40 s) and until nothing is due any more
(ticks, each with its ensure_states; more than one only when a tick hits its bound or a row is due again
at the same clock, e.g. a long-overdue one moving stage by stage). Escalations: the alerts due at the clock (few: the
scan runs every 30 s), then a backlog after a 30-minute worker outage in the morning peak: 0.4% of
patients with an unacknowledged urgent or same-day alert overdue (existing unresolved alerts set back to
open, overdue by 0-30 min).

Nothing leaves the machine and nothing is queued: notifications.services.outbox.enqueue (the after-commit
hand-off to Celery) is replaced by a counter, Celery's Task.apply_async by a counter, and
notifications.outside.http_post by a function that counts and refuses; email goes to the locmem backend;
REDIS_URL points at a port nobody listens on. So the times are the scan's own work in Django and
PostgreSQL (the Redis push after each commit is not included). Settings: config.settings.production
(persistent connection, synchronous_commit on as shipped). Queries are counted with a connection
execute_wrapper (no query capture overhead). Target: each scan under 10 s at 100,000 patients, growing no
faster than the patient count.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    DB_10K,
    DB_100K,
    anchor_of,
    bench_env,
    clone_database,
    drop_database,
    ensure_generated,
    header,
    load_average,
    read_meta,
    setup_django,
    table,
)

SIZES = {"10k": (DB_10K, 10_000, 100), "100k": (DB_100K, 100_000, 7)}
GOAL_S = 10.0
STALL_SHARE = 0.004  # patients with an overdue alert after a 30-minute worker outage in the morning peak


# ---------------------------------------------------------------------------------------------- worker side


class Counters:
    def __init__(self):
        self.queries = 0
        self.enqueued = 0
        self.apply_async = 0
        self.http_posts = 0

    def wrapper(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def isolate(counters: Counters) -> None:
    """No broker, no outside world: count what would have been sent."""
    import celery.app.task

    import notifications.outside
    import notifications.services.outbox as outbox

    def enqueue(notification_id: int) -> None:
        counters.enqueued += 1

    def apply_async(self, *args, **kwargs):
        counters.apply_async += 1

    def http_post(url, body, headers):
        counters.http_posts += 1
        raise AssertionError("the scans benchmark must not call the outside world")

    outbox.enqueue = enqueue
    celery.app.task.Task.apply_async = apply_async
    notifications.outside.http_post = http_post


def timed(counters: Counters, fn, *args, **kwargs):
    from django.db import connection

    q0 = counters.queries
    t0 = time.perf_counter()
    with connection.execute_wrapper(counters.wrapper):
        result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0, counters.queries - q0


def notification_count() -> int:
    from notifications.models import Notification

    return Notification.objects.count()


def run_worker(database: str, label: str, db_options: str = "") -> dict:
    import random

    setup_django(bench_env(database, db_options=db_options))
    counters = Counters()
    isolate(counters)
    from django.db import connection
    from django.db.models import Q

    from monitoring.models import Alert, AlertStatus
    from notifications.models import ReminderState
    from notifications.services import alerts as alert_scan
    from notifications.services import reminders
    from tracker.models import Patient

    meta = read_meta(database)
    now = anchor_of(meta)
    patients = Patient.objects.count()
    out = {"label": label, "patients": patients, "days": int(meta["days"]), "steps": []}

    def step(name, rows, seconds, queries, notes=""):
        out["steps"].append({"name": name, "rows": rows, "seconds": seconds, "queries": queries, "notes": notes})

    connection.ensure_connection()

    # --- escalation scan (first: the reminder drain below writes tens of thousands of rows) ----------
    due_now = Alert.objects.filter(status=AlertStatus.OPEN, next_escalation_at__lte=now).count()
    n1 = notification_count()
    escalated, secs, queries = timed(counters, alert_scan.alerts_escalate_due, now=now)
    step("alerts_escalate_due at the clock", escalated, secs, queries,
         f"{due_now} due; {notification_count() - n1} notifications")
    out["escalation_clock_s"] = secs

    rng = random.Random(7)
    want = max(1, round(STALL_SHARE * patients))
    candidates = list(Alert.objects.exclude(status=AlertStatus.RESOLVED).filter(urgency__gte=2)
                      .order_by("patient_id", "-urgency").values_list("pk", "patient_id", "urgency"))
    seen, chosen = set(), []
    for pk, patient_id, urgency in candidates:  # one alert per patient
        if patient_id not in seen:
            seen.add(patient_id)
            chosen.append((pk, urgency))
    rng.shuffle(chosen)
    chosen = chosen[:want]
    import datetime as dt

    for pk, _urgency in chosen:
        Alert.objects.filter(pk=pk).update(
            status=AlertStatus.OPEN, acknowledged_at=None, acknowledged_by=None, escalation_level=0,
            next_escalation_at=now - dt.timedelta(seconds=rng.randint(1, 1800)))
    backlog = Alert.objects.filter(Q(status=AlertStatus.OPEN) & Q(next_escalation_at__lte=now)).count()
    n1 = notification_count()
    escalated, secs, queries = timed(counters, alert_scan.alerts_escalate_due, now=now)
    step("alerts_escalate_due after 30-min outage", escalated, secs, queries,
         f"{backlog} due ({STALL_SHARE:.1%} of patients); {notification_count() - n1} notifications")
    out["escalation_backlog_s"] = secs

    # --- missed check-in scan -------------------------------------------------------------------------
    # On a fresh connection, as the escalation scan's worker would not share its backend. The generated
    # databases start with an empty notifications table: a backend that checked a foreign key into it while
    # it was empty keeps a sequential-scan plan for that check until the table is analysed (production
    # tables are not empty), which made every commit of this scan scan all the rows written so far.
    connection.close()
    connection.ensure_connection()
    n0 = notification_count()
    due_total = ReminderState.objects.filter(next_due_at__lte=now).count()
    by_stage = dict(Counter(ReminderState.objects.filter(next_due_at__lte=now).values_list("stage", flat=True)))
    out["due_total"], out["due_by_stage"] = due_total, by_stage
    created, ensure_s, ensure_q = timed(counters, reminders.reminders_ensure_states, now=now)
    step("reminders_ensure_states", created, ensure_s, ensure_q, "patients without a schedule")
    passes, outcomes = [], Counter()
    while True:  # one pass = one beat tick of reminders_advance_due_task: ensure_states, then reminders_advance_due
        if not ReminderState.objects.filter(next_due_at__lte=now).exists():
            break
        if passes:
            _, ens_s, ens_q = timed(counters, reminders.reminders_ensure_states, now=now)
        else:
            ens_s, ens_q = ensure_s, ensure_q
        done, scan_s, scan_q = timed(counters, reminders.reminders_advance_due, now=now)
        outcomes.update(done)
        passes.append({"rows": done.total(), "ensure_s": ens_s, "ensure_q": ens_q, "scan_s": scan_s, "scan_q": scan_q})
        if len(passes) > 50 or not done.total():
            raise RuntimeError("the reminder scan does not converge")
    first = passes[0] if passes else {"rows": 0, "ensure_s": 0, "ensure_q": 0, "scan_s": 0, "scan_q": 0}
    batches = math.ceil(first["rows"] / reminders.BATCH_SIZE)
    step("reminders_advance_due (tick 1)", first["rows"], first["scan_s"], first["scan_q"],
         f"{batches} batches of <= {reminders.BATCH_SIZE:,}, one transaction each; "
         f"tick bounds {reminders.TICK_MAX_ROWS:,} rows / {reminders.TICK_MAX_SECONDS:.0f} s")
    total_s = sum(p["ensure_s"] + p["scan_s"] for p in passes)
    total_q = sum(p["ensure_q"] + p["scan_q"] for p in passes)
    written = notification_count() - n0
    step(f"whole scan until none due ({len(passes)} ticks)", sum(p["rows"] for p in passes), total_s, total_q,
         ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())) + f"; {written:,} notifications")
    out["pass1_seconds"] = first["ensure_s"] + first["scan_s"]
    out["reminder_passes"] = len(passes)

    out["isolation"] = {"enqueue (counted, not sent)": counters.enqueued, "apply_async": counters.apply_async,
                        "http_post": counters.http_posts}
    from django.core import mail

    out["isolation"]["emails (locmem)"] = len(getattr(mail, "outbox", []))
    out["passes"] = passes
    connection.close()
    return out


# ---------------------------------------------------------------------------------------------- parent side


def run_size(label: str, keep: bool, db_options: str = "") -> dict:
    database, patients, days = SIZES[label]
    ensure_generated(database, patients, days)
    copy = f"{database}_scanrun"
    clone_s = clone_database(database, copy)
    try:
        proc = subprocess.run([sys.executable, __file__, "--worker", copy, "--label", label,
                               "--db-options", db_options], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"scans worker for {label} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if not keep:
            drop_database(copy)
    result["clone_s"] = clone_s
    result["database"] = database
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k, 100k (default both)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway copies (<db>_scanrun)")
    parser.add_argument("--db-options", default="",
                        help='experiment: PostgreSQL settings for the connection, e.g. "-c synchronous_commit=off"')
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.label, args.db_options), default=str))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        if s not in SIZES:
            parser.error(f"unknown size {s!r}; choose from {', '.join(SIZES)}")
    header("scans benchmark: missed check-in scan and escalation scan (clock 21:00:30 America/New_York)")
    print("enqueue, apply_async and http_post replaced by counters (nothing queued or sent); email: locmem"
          + (f"; EXPERIMENT connection options: {args.db_options}" if args.db_options else ""))
    results = []
    for label in sizes:
        print(f"[{label}: running ...]", flush=True)
        results.append(run_size(label, args.keep, args.db_options))

    for r in results:
        stages = ", ".join(f"stage {k}: {v:,}" for k, v in sorted(r["due_by_stage"].items()))
        print(f"\n{r['label']}: {r['patients']:,} patients, {r['days']} days of check-ins ({r['database']}, copy made "
              f"in {r['clone_s']:.0f} s); reminder rows due at the clock: {r['due_total']:,} ({stages})")
        rows = []
        for s in r["steps"]:
            per_row = f"{s['seconds'] / s['rows'] * 1000:.2f}" if s["rows"] else "-"
            q_row = f"{s['queries'] / s['rows']:.1f}" if s["rows"] else "-"
            rows.append([s["name"], f"{s['rows']:,}", f"{s['seconds']:.2f}", f"{s['queries']:,}", per_row, q_row,
                         s["notes"]])
        table(["step", "rows", "s", "queries", "ms/row", "q/row", "notes"], rows)
        print("isolation: " + ", ".join(f"{k} {v:,}" for k, v in r["isolation"].items()))
    if len(results) == 2:
        a, b = results
        factor = b["patients"] / a["patients"]
        print(f"\ngrowth {a['label']} -> {b['label']} (patients x{factor:.0f}):")
        rows = []
        for name, key in (("reminder scan, one tick", "pass1_seconds"),
                          ("escalation scan at the clock", "escalation_clock_s"),
                          ("escalation scan after outage", "escalation_backlog_s")):
            ra, rb = a[key], b[key]
            grow = rb / ra if ra else math.inf
            rows.append([name, f"{ra:.2f}", f"{rb:.2f}", f"x{grow:.1f}", "yes" if grow <= factor * 1.1 else "NO",
                         "yes" if rb < GOAL_S else "NO"])
        ta = next(s for s in a["steps"] if s["name"].startswith("whole scan"))
        tb = next(s for s in b["steps"] if s["name"].startswith("whole scan"))
        grow = tb["seconds"] / ta["seconds"] if ta["seconds"] else math.inf
        rows.append(["reminder scan, until none due", f"{ta['seconds']:.2f}", f"{tb['seconds']:.2f}", f"x{grow:.1f}",
                     "yes" if grow <= factor * 1.1 else "NO", "yes" if tb["seconds"] < GOAL_S else "NO"])
        table(["scan", f"{a['label']} s", f"{b['label']} s", "growth", f"<=x{factor:.0f}", f"<{GOAL_S:.0f}s"], rows)
    print(f"\nload average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
