"""Alert latency, end to end: `python bench/alert_latency.py [--rounds N] [--concurrency 1,50]`.

From the patient's check-in POST to the nurse's delivered notification, through the production shape:
gunicorn serving config.settings.production, a Celery prefork worker, a private redis-server as broker,
PostgreSQL (its own database `car_t_bench`, dropped and recreated at start and left afterwards for
inspection unless --drop), and a loopback HTTP server standing in for the SMS provider and the paging
webhook. Email goes to Django's locmem backend (not the outside world timed here).

Every submission is a fever of 38.4 °C with dizziness from a different CAR T patient, so each one opens a
new emergency alert. For every submission: t0 (wall clock) just before the POST; latency = the nurse's
Notification.sent_at (SMS, and separately in-app) minus t0. Percentiles are nearest-rank (with fewer
than 100 samples the p99 is the maximum). A round fires `concurrency` POSTs at once and waits until the
worker has drained everything (bounded) before the next. The goal: p99 under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import FakeOutside, Gunicorn, PreforkWorker, RedisServer, wait_until  # noqa: E402

DB_NAME = "car_t_bench"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def shut_down(processes, *, drop: str | None = None) -> None:
    """Stop every process a benchmark started (worker, web, fake outside, Redis), whatever fails, then
    drop its database if asked."""
    for process in processes:
        if process is None:
            continue
        try:
            process.stop()
        except Exception as exc:  # noqa: BLE001 (keep stopping the rest)
            print(f"while stopping: {exc!r}", file=sys.stderr)
    if drop:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 (Django may not be set up in this process)
            pass
        drop_database(drop)


def database_url(db_name: str = DB_NAME) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{db_name}"


DATABASE_URL = database_url()
PAYLOAD = {"temperature": "38.4", "dizzy_or_fainting": True}  # fever with dizziness: an emergency
WARMUP = 4  # submissions before measuring (gunicorn and prefork children import lazily)
GOAL_S = 1.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ---------------------------------------------------------------------------------------------- processes


# PreforkWorker (celery prefork, as in docker-compose) and Gunicorn live in tests/services.py with the other
# process helpers (the chaos suite, tests/chaos/, starts the same shape); imported above.


# ---------------------------------------------------------------------------------------------- data


def recreate_database(db_name: str = DB_NAME) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name}")


def drop_database(db_name: str = DB_NAME) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def production_env(redis_url: str, outside_url: str, db_name: str = DB_NAME, **extra: str) -> dict:
    """The environment gunicorn, the worker and this process run with: production settings on loopback
    services (no TLS redirect), SMS and paging to the fake outside, email to locmem."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "bench-" + secrets.token_hex(24),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url(db_name),
        "REDIS_URL": redis_url,
        "SMS_BACKEND": "notifications.channels.sms.HttpProviderSmsBackend",
        "SMS_PROVIDER_URL": outside_url + "/sms",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def migrate(env: dict) -> None:
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError("migrate failed:\n" + result.stdout[-2000:] + result.stderr[-4000:])


def issue_token(user) -> str:
    """An API token the way the project issues them: hashed, expiring ApiToken rows where the project has
    them, otherwise DRF's authtoken."""
    try:
        from tracker.models import ApiToken
    except ImportError:
        from rest_framework.authtoken.models import Token

        return Token.objects.create(user=user).key
    return ApiToken.issue(user)[1]


def make_data(patients: int, outside_url: str) -> dict:
    """A center, a team with nurse, charge nurse and physician, a paging webhook, and CAR T patients with
    API tokens. Passwords are unusable: hashing hundreds of them would dominate the setup."""
    from django.db import transaction
    from django.utils import timezone

    from notifications.models import PagingWebhook
    from tracker.catalogue import sync_catalogue
    from tracker.models import CareTeam, CareTeamMembership, Center, Patient, Role, Therapy, TreatmentCourse, User

    with transaction.atomic():
        sync_catalogue(Therapy)
        yescarta = Therapy.objects.get(code="yescarta")
        center = Center.objects.create(name="Bench Cancer Center", phone_24_7="(555) 010-0199")
        team = CareTeam.objects.create(center=center, name="Cellular Therapy")
        staff = {}
        for n, role in enumerate([Role.NURSE, Role.CHARGE_NURSE, Role.PHYSICIAN]):
            user = User(username=f"bench.{role}", role=role, email=f"{role}@example.org", phone=f"+1555010{n:04d}")
            user.set_unusable_password()
            user.save()
            CareTeamMembership.objects.create(user=user, team=team)
            staff[role] = user
        PagingWebhook.objects.create(team=team, url=outside_url + "/page", secret="bench-secret")
        start = timezone.localdate() - dt.timedelta(days=2)
        tokens = []
        for n in range(patients):
            user = User(username=f"bench.patient{n}", role=Role.PATIENT)
            user.set_unusable_password()
            user.save()
            patient = Patient.objects.create(
                center=center, care_team=team, user=user, mrn=f"BENCH{n:05d}", first_name="Bench",
                last_name=f"Patient{n}", date_of_birth=dt.date(1965, 5, 1), time_zone="America/New_York")
            TreatmentCourse.objects.create(patient=patient, therapy=yescarta, care_team=team, start_date=start)
            tokens.append((patient.pk, issue_token(user)))
    return {"nurse": staff[Role.NURSE].pk, "tokens": tokens}


# ---------------------------------------------------------------------------------------------- one round


def fire(port: int, batch: list[tuple[int, str]]) -> dict[int, dict]:
    """POST one check-in per (patient, token) at the same moment. Returns patient pk -> t0, post_s, ..."""
    results: dict[int, dict] = {}
    barrier = threading.Barrier(len(batch))
    body = json.dumps(PAYLOAD).encode()

    def one(patient_pk: int, token: str) -> None:
        barrier.wait()
        t0 = time.time()
        c0 = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", "/api/v1/checkins/", body=body, headers={
                "Authorization": f"Token {token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            conn.close()
            results[patient_pk] = {"t0": t0, "post_s": time.perf_counter() - c0, "status": response.status,
                                   "body": data}
        except Exception as exc:  # noqa: BLE001 (reported below)
            results[patient_pk] = {"t0": t0, "post_s": time.perf_counter() - c0, "status": None, "body": repr(exc)}

    threads = [threading.Thread(target=one, args=item) for item in batch]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for patient_pk, r in results.items():
        urgency = json.loads(r["body"]).get("urgency") if r["status"] == 201 else None
        if urgency != "emergency":
            raise RuntimeError(f"Check-in for patient {patient_pk}: HTTP {r['status']}, urgency {urgency!r}: "
                               f"{r['body'][:500]!r}")
    return results


def collect(results: dict[int, dict], nurse_pk: int, redis_client, timeout: float) -> list[dict]:
    """Wait until the nurse's in-app and SMS rows are sent for every submission and the queue is empty;
    then one sample per submission."""
    from notifications.models import Notification, NotificationStatus

    patients = list(results)
    done = (NotificationStatus.SENT, NotificationStatus.FAILED)

    def finished() -> bool:
        rows = Notification.objects.filter(patient_id__in=patients)
        nurse_sent = rows.filter(recipient_id=nurse_pk, channel__in=("inapp", "sms"),
                                 status=NotificationStatus.SENT).count()
        return (nurse_sent == 2 * len(patients) and not rows.exclude(status__in=done).exists()
                and redis_client.llen("celery") == 0)

    try:
        wait_until(finished, timeout=timeout, interval=0.05, what="every notification of the round to be sent")
    except AssertionError as exc:
        counts = defaultdict(int)
        for channel, status in Notification.objects.filter(patient_id__in=patients).values_list("channel", "status"):
            counts[f"{channel}/{status}"] += 1
        raise RuntimeError(f"{exc}: {len(patients)} check-ins; notifications by channel/status {dict(counts)}; "
                           f"{redis_client.llen('celery')} tasks still queued") from None

    samples = {pk: {"t0": r["t0"], "post": r["post_s"]} for pk, r in results.items()}
    rows = Notification.objects.filter(patient_id__in=patients)
    per_patient = defaultdict(int)
    for pk, recipient, channel, created, claimed, sent in rows.values_list(
            "patient_id", "recipient_id", "channel", "created_at", "claimed_at", "sent_at"):
        per_patient[pk] += 1
        if recipient == nurse_pk and channel in ("inapp", "sms"):
            t0 = samples[pk]["t0"]
            samples[pk][channel] = sent.timestamp() - t0
            if channel == "sms":
                samples[pk]["sms_row"] = created.timestamp() - t0
                samples[pk]["sms_claim"] = claimed.timestamp() - t0
    for pk, sample in samples.items():
        sample["rows"] = per_patient[pk]
    return list(samples.values())


# ---------------------------------------------------------------------------------------------- worker log

TASK_LINE = re.compile(r"\[(?P<ts>[\d-]+ [\d:,]+): INFO/\S+\] Task (?P<name>[\w.]+)\[[\w-]+\] succeeded in "
                       r"(?P<secs>[\d.]+)s")


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of the live processes in a process group (Linux /proc), to see what a
    check-in costs independently of whatever else shares the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def task_runtimes(log_text: str) -> dict[str, list[float]]:
    runtimes = defaultdict(list)
    for m in TASK_LINE.finditer(log_text):
        runtimes[m["name"].rsplit(".", 1)[-1]].append(float(m["secs"]))
    return runtimes


# ---------------------------------------------------------------------------------------------- main


def rounds_for(concurrency: int, rounds: int | None) -> int:
    if rounds:
        return rounds
    return 30 if concurrency == 1 else max(3, math.ceil(150 / concurrency))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds per concurrency level (default: 30 at 1, else enough for ~150 samples)")
    parser.add_argument("--concurrency", default="1,50", help="comma-separated simultaneous submissions")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork processes (compose: 2)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for a round's deliveries")
    parser.add_argument("--drop", action="store_true", help=f"drop the {DB_NAME} database at the end")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    plan = [(c, rounds_for(c, args.rounds)) for c in levels]
    total_patients = WARMUP + sum(c * r for c, r in plan)

    logs = Path(tempfile.mkdtemp(prefix="alert_latency-"))
    load_at_start = os.getloadavg()[0]  # other work on this machine competes for the same cores
    redis_server, outside, web, worker = RedisServer(), None, None, None
    started = time.monotonic()
    try:
        redis_server.start()
        outside = FakeOutside().start()
        env = production_env(redis_server.url, outside.url)
        recreate_database()
        migrate(env)

        os.environ.update(env)  # this process reads the results through the same production settings
        import django

        django.setup()
        data = make_data(total_patients, outside.url)
        setup_s = time.monotonic() - started

        web = Gunicorn(env, logs / "gunicorn.log", args.web_workers, args.web_threads)
        web.start()
        worker = PreforkWorker(env, logs / "worker.log", args.worker_concurrency)
        worker.start()
        import redis

        broker = redis.Redis.from_url(redis_server.url)

        tokens = list(data["tokens"])
        warm = collect(fire(web.port, tokens[:WARMUP]), data["nurse"], broker, args.timeout)
        tokens = tokens[WARMUP:]
        log_mark = len(worker.log_path.read_text())

        table = []
        for concurrency, rounds in plan:
            samples = []
            cpu_start = cpu_seconds(web.process.pid), cpu_seconds(worker.process.pid)
            level_start = time.monotonic()
            for _ in range(rounds):
                batch, tokens = tokens[:concurrency], tokens[concurrency:]
                samples += collect(fire(web.port, batch), data["nurse"], broker, args.timeout)
            log_text = worker.log_path.read_text()
            runtimes = task_runtimes(log_text[log_mark:])
            log_mark = len(log_text)
            cpu = (cpu_seconds(web.process.pid) - cpu_start[0], cpu_seconds(worker.process.pid) - cpu_start[1])
            table.append((concurrency, samples, runtimes, time.monotonic() - level_start, cpu))

        print(f"alert latency benchmark: check-in POST → nurse's delivered notification "
              f"(python {sys.version.split()[0]}, {os.cpu_count()} cores)")
        print(f"web: gunicorn --workers {args.web_workers} --threads {args.web_threads}; worker: celery prefork "
              f"--concurrency {args.worker_concurrency}; private redis-server; PostgreSQL db {DB_NAME}; "
              f"setup {setup_s:.0f} s; load average at start {load_at_start:.2f}")
        print(f"{warm[0]['rows']} notifications per check-in (+1 notify task); logs in {logs}")
        print()
        head = (f"{'conc':>5}{'samples':>9}{'POST p50':>10}{'POST p99':>10}{'in-app p50':>12}{'in-app p99':>12}"
                f"{'SMS p50':>10}{'SMS p99':>10}{'  p99<1s':>8}")
        print(head + "   (ms)")
        for concurrency, samples, *_ in table:
            post = [s["post"] for s in samples]
            inapp = [s["inapp"] for s in samples]
            sms = [s["sms"] for s in samples]
            ok = max(pct(inapp, 99), pct(sms, 99)) < GOAL_S
            print(f"{concurrency:>5}{len(samples):>9}{pct(post, 50) * 1e3:>10.0f}{pct(post, 99) * 1e3:>10.0f}"
                  f"{pct(inapp, 50) * 1e3:>12.0f}{pct(inapp, 99) * 1e3:>12.0f}{pct(sms, 50) * 1e3:>10.0f}"
                  f"{pct(sms, 99) * 1e3:>10.0f}{'yes' if ok else 'NO':>8}")

        print("\nwhere the SMS time goes (ms after t0, p50/p99): POST answered → SMS row written by the notify "
              "task → SMS task claimed → sent")
        print(f"{'conc':>5}{'answered':>14}{'row written':>14}{'claimed':>14}{'sent':>14}{'rounds':>8}{'s/round':>9}")
        for concurrency, samples, _, elapsed, _ in table:
            cols = [[s[k] for s in samples] for k in ("post", "sms_row", "sms_claim", "sms")]
            cells = "".join(f"{pct(c, 50) * 1e3:>7.0f}/{pct(c, 99) * 1e3:<6.0f}" for c in cols)
            rounds = len(samples) // concurrency
            print(f"{concurrency:>5}{cells}{rounds:>8}{elapsed / rounds:>9.2f}")

        print("\nworker task run times (worker log; ms mean/p99 ×count), busy = task run time per check-in, "
              "CPU = process CPU per check-in (PostgreSQL and Redis not included)")
        for concurrency, samples, runtimes, _, (web_cpu, worker_cpu) in table:
            parts = [f"{name} {statistics.mean(v) * 1e3:.0f}/{pct(v, 99) * 1e3:.0f} ×{len(v)}"
                     for name, v in sorted(runtimes.items())]
            busy = sum(sum(v) for v in runtimes.values()) / len(samples)
            print(f"{concurrency:>5}: " + "; ".join(parts) + f"; busy {busy * 1e3:.0f} ms; CPU gunicorn "
                  f"{web_cpu / len(samples) * 1e3:.0f} ms, celery {worker_cpu / len(samples) * 1e3:.0f} ms")
        print(f"\nDatabase {DB_NAME} " + ("dropped." if args.drop else "left for inspection (recreated on the "
                                                                    "next run; --drop to remove it)."))
        return 0
    except BaseException:
        print(f"alert_latency: failed; gunicorn and worker logs in {logs}", file=sys.stderr)
        raise
    finally:
        shut_down((worker, web, outside, redis_server), drop=DB_NAME if args.drop else None)


if __name__ == "__main__":
    sys.exit(main())
