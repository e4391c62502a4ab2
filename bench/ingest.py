"""Check-in ingest under gunicorn, against a no-op endpoint: `python bench/ingest.py [--duration S] [--concurrency 1,8,32]`.

The production shape of bench/alert_latency.py (whose setup this imports): gunicorn serving
config.settings.production (gthread, 2 workers x 4 threads by default), a Celery prefork worker (2), a
private redis-server (broker and cache), PostgreSQL in its own database `car_t_ingest` (dropped and
recreated at start, left afterwards unless --drop), and a loopback server standing in for the SMS
provider and the paging webhook. RATE_LIMIT_CHECKIN is raised to 100000/min for the run (the product's
default, 30/min per user, would answer 429 to the load); the throttle itself still runs on every POST.

For each concurrency level: a closed loop (N threads, each with one keep-alive connection, sending its
next request when the previous one has answered) for --duration seconds against POST /api/v1/checkins/
(a mix of CAR T patients' check-ins: 85 % quiet, 10 % fever (urgent alert), 5 % fever with dizziness
(emergency alert); patients re-used, so alerts are opened, updated and raised), then, once the worker has
drained what the check-ins queued, the same load against GET /api/v1/ping/ (DRF, no auth, no database).
Reported: requests/s, p50/p99 latency, the ratio ingest rps / no-op rps (target >= 0.5), and CPU per
request by process (gunicorn, PostgreSQL backends of this database, Celery, Redis, this client).

Alert latency: fever with dizziness from separate patients (each opens a new emergency alert) at
--probe-rate per second, first with no other load (idle), then during the concurrency-8 ingest phase;
latency = the nurse's SMS Notification.sent_at minus the moment before the POST. Percentiles are
nearest-rank (with fewer than 100 samples the p99 is the maximum).

Then, in-process (gunicorn stopped): server CPU per quiet check-in side by side with a bare DRF
token-authenticated create of the same CheckIn row (`POST /bench/bare-checkins/`, which only the benchmark's
URL configuration has: bench/urls.py, bench/ingest_settings.py), interleaved, --cpu-requests of each after a
warm-up (time.process_time around each request through django.test.Client, the product's middleware and
authentication); queries and SQL time per check-in kind (CaptureQueriesContext); and a cProfile of a batch of
check-ins, to show what limits ingest. `--profile-only` runs just this in-process part (a minute or two).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import re
import socket
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alert_latency import (  # noqa: E402
    Gunicorn,
    PreforkWorker,
    collect,
    cpu_seconds,
    fire,
    make_data,
    migrate,
    pct,
    production_env,
    recreate_database,
    shut_down,
)

from tests.services import FakeOutside, RedisServer, wait_until  # noqa: E402

DB_NAME = "car_t_ingest"
TARGET_RATIO = 0.5
RATE_LIMIT = "100000/min"
MIX = (("quiet", 0.85), ("fever", 0.10), ("emergency", 0.05))
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------- client


class KeepAlive:
    """A minimal HTTP/1.1 client on one keep-alive socket: little client CPU per request, so the numbers
    are the server's (http.client costs several times more per request)."""

    def __init__(self, port: int):
        self.port, self.sock, self.buf = port, None, b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.sendall(raw)
            return self._response()
        except BaseException:
            self.close()
            raise

    def _recv(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"content-length" not in headers:
            raise RuntimeError(f"response without Content-Length: {head[:300]!r}")
        length = int(headers[b"content-length"])
        while len(self.buf) < length:
            self._recv()
        body, self.buf = self.buf[:length], self.buf[length:]
        if headers.get(b"connection") == b"close":
            self.close()
        return status, body


def raw_request(port: int, method: str, path: str, body: bytes = b"", token: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: keep-alive"]
    if token:
        lines.append(f"Authorization: Token {token}")
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Phase:
    def __init__(self, name: str, concurrency: int):
        self.name, self.concurrency = name, concurrency
        self.latencies: list[float] = []
        self.errors: Counter = Counter()
        self.elapsed = 0.0
        self.cpu: dict[str, float] = {}
        self.kinds: Counter = Counter()

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def closed_loop(port: int, name: str, concurrency: int, duration: float, next_request, expect: int) -> Phase:
    """`concurrency` threads, one connection each, each sending its next request when the last answered."""
    phase = Phase(name, concurrency)
    per_thread: list[list[float]] = [[] for _ in range(concurrency)]
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    window = {}

    def run(i: int) -> None:
        rng = random.Random(1000 * concurrency + i)
        client = KeepAlive(port)
        barrier.wait()
        end, out = window["end"], per_thread[i]
        while True:
            raw, kind = next_request(rng)
            t0 = time.perf_counter()
            if t0 >= end:
                break
            try:
                status, body = client.request(raw)
            except Exception as exc:  # noqa: BLE001 (counted and reported)
                with lock:
                    phase.errors[type(exc).__name__] += 1
                continue
            if status == expect:
                out.append(time.perf_counter() - t0)
                if kind:
                    with lock:
                        phase.kinds[kind] += 1
            else:
                with lock:
                    phase.errors[f"HTTP {status}"] += 1
                    if phase.errors[f"HTTP {status}"] == 1:
                        print(f"  {name}: HTTP {status}: {body[:300]!r}", file=sys.stderr)
        client.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    window["end"] = start + duration
    barrier.wait()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - start
    phase.latencies = [x for lat in per_thread for x in lat]
    return phase


# ---------------------------------------------------------------------------------------------- check-ins


def payloads():
    """Builders for the mix: a quiet CAR T day, a fever alone (urgent), a fever with dizziness (emergency)."""
    from tracker.questions import CAR_T, YES_NO_QUESTIONS

    no = {q.field: False for q in YES_NO_QUESTIONS if q.applies_to in ("all", CAR_T)}

    def quiet(rng: random.Random) -> dict:
        return {**no, "temperature": f"{rng.uniform(36.3, 37.4):.1f}", "heart_rate": rng.randint(64, 94),
                "systolic_bp": rng.randint(108, 136), "diastolic_bp": rng.randint(64, 86),
                "spo2": rng.randint(95, 99), "consciousness": "alert"}

    def fever(rng: random.Random) -> dict:
        return {**quiet(rng), "temperature": f"{rng.uniform(38.1, 38.8):.1f}"}

    def emergency(rng: random.Random) -> dict:
        return {**fever(rng), "dizzy_or_fainting": True}

    return {"quiet": quiet, "fever": fever, "emergency": emergency}


def checkin_requests(port: int, tokens: list[str]):
    builders = payloads()
    names = [n for n, _ in MIX]
    weights = [w for _, w in MIX]

    def next_request(rng: random.Random) -> tuple[bytes, str]:
        kind = rng.choices(names, weights)[0]
        body = json.dumps(builders[kind](rng)).encode()
        return raw_request(port, "POST", "/api/v1/checkins/", body, rng.choice(tokens)), kind

    return next_request


def ping_requests(port: int):
    raw = raw_request(port, "GET", "/api/v1/ping/")
    return lambda rng: (raw, "")


# ---------------------------------------------------------------------------------------------- measurements


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (all sessions, not only this one)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / CLK_TCK, sum(fields) / CLK_TCK


def backends_cpu() -> dict[int, float]:
    """CPU seconds of the live PostgreSQL backends serving this benchmark's database (by their title)."""
    out = {}
    marker = f" {DB_NAME} ".encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes():
                pid = int(cmdline.parent.name)
                out[pid] = proc_cpu(pid)
        except (OSError, ValueError):
            continue
    return out


class CpuMeter:
    """CPU seconds used by each part of the stack during a phase. PostgreSQL backends come and go
    (CONN_MAX_AGE), so they are sampled every half second and each one's last reading counts."""

    def __init__(self, web, worker, redis_pid: int):
        self.web, self.worker, self.redis_pid = web, worker, redis_pid

    def snapshot(self) -> dict:
        return {"gunicorn": cpu_seconds(self.web.process.pid), "celery": cpu_seconds(self.worker.process.pid),
                "redis": proc_cpu(self.redis_pid), "client": time.process_time(), "machine": machine_busy()}

    def run(self, fn, *args) -> Phase:
        start_pg, last_pg, done = backends_cpu(), {}, threading.Event()

        def sample() -> None:
            while True:
                last_pg.update(backends_cpu())
                if done.wait(0.5):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        before = self.snapshot()
        sampler.start()
        phase = fn(*args)
        after = self.snapshot()
        done.set()
        sampler.join()
        last_pg.update(backends_cpu())
        out = {k: after[k] - before[k] for k in ("gunicorn", "celery", "redis", "client")}
        out["postgres"] = sum(cpu - start_pg.get(pid, 0.0) for pid, cpu in last_pg.items())
        busy, total = (after["machine"][i] - before["machine"][i] for i in (0, 1))
        out["machine"] = busy / total if total else 0.0
        ours = sum(out[k] for k in ("gunicorn", "celery", "redis", "client", "postgres"))
        out["others"] = max(0.0, busy - ours) / total if total else 0.0  # other sessions' share of the cores
        phase.cpu = out
        return phase


def drain(broker, timeout: float = 120) -> None:
    """Wait until the worker has done what the check-ins queued (the queue is empty, no row unsent)."""
    from notifications.models import Notification, NotificationStatus

    busy = (NotificationStatus.PENDING, NotificationStatus.SENDING)
    try:
        wait_until(lambda: queued(broker) == 0 and not Notification.objects.filter(status__in=busy).exists(),
                   timeout=timeout, interval=0.2, what="the worker to drain the queue")
    except AssertionError as exc:
        print(f"  warning: {exc} ({queued(broker)} tasks queued)", file=sys.stderr)


def queued(broker, queues: tuple[str, ...] = ("celery", "readings")) -> int:
    """Tasks waiting in the broker: the default queue and the device readings' (config/settings CELERY_TASK_QUEUES)."""
    return sum(broker.llen(queue) for queue in queues)


def probe_alerts(port: int, patients: list[tuple[int, str]], rate: float, seconds: float) -> tuple[dict, list]:
    """Emergency check-ins from separate patients at `rate` per second (open loop), each timed by fire()."""
    results, errors, threads = {}, [], []
    start = time.perf_counter()
    count = min(len(patients), int(seconds * rate))

    def one(item) -> None:
        try:
            results.update(fire(port, [item]))
        except Exception as exc:  # noqa: BLE001 (reported)
            errors.append(repr(exc)[:300])

    for i, item in enumerate(patients[:count]):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, args=(item,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


# ---------------------------------------------------------------------------------------------- profile


def sql_shape(sql: str) -> str:
    verb = sql.split(None, 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return "SAVEPOINT/RELEASE"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    lock = " FOR UPDATE" if "FOR UPDATE" in sql else ""
    return f"{verb} {table[1] if table else '?'}{lock}"


def cpu_side_by_side(tokens: list[tuple[int, str]], requests: int, warmup: int = 40) -> list[str]:
    """Server CPU (time.process_time) of a quiet check-in, of DRF's generic create of the same row with a
    ModelSerializer, and of a bare create with no serializer, each request timed alone, the three
    interleaved (the order rotates), `requests` of each after `warmup` of each."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    quiet = payloads()["quiet"]
    rng = random.Random(11)
    paths = {"quiet check-in": "/api/v1/checkins/", "DRF create": "/bench/drf-checkins/",
             "bare create": "/bench/bare-checkins/"}
    cpu: dict[str, list[float]] = {label: [] for label in paths}
    items = list(paths.items())
    for i in range(warmup + requests):
        token = tokens[i % len(tokens)][1]
        for label, path in items[i % 3:] + items[:i % 3]:
            body = json.dumps(quiet(rng))
            c0 = time.process_time()
            response = client.post(path, data=body, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Token {token}")
            spent = time.process_time() - c0
            if response.status_code != 201:
                raise RuntimeError(f"{label}: HTTP {response.status_code}: {response.content[:300]!r}")
            if i >= warmup:
                cpu[label].append(spent * 1e3)
    lines = [f"server CPU per request, in-process, {requests} of each interleaved after {warmup} of each "
             "(time.process_time; ms median / mean / p90)"]
    for label, values in cpu.items():
        lines.append(f"  {label:<16}{pct(values, 50):7.2f} /{sum(values) / len(values):7.2f} /{pct(values, 90):7.2f}")
    checkin = cpu["quiet check-in"]
    for label in ("DRF create", "bare create"):
        other = cpu[label]
        lines.append(f"  ratio quiet check-in / {label}: median {pct(checkin, 50) / pct(other, 50):.2f}, mean "
                     f"{sum(checkin) / sum(other):.2f}" + (" (target <= 1.5)" if label == "DRF create" else ""))
    return lines


def profile_in_process(tokens: list[tuple[int, str]], repeat: int = 12) -> list[str]:
    """Queries, SQL time and wall time per request kind, in this process through the whole Django stack
    (middleware, DRF, the view, the rules, on-commit hooks); then cProfile of a mixed batch."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    builders = payloads()
    rng = random.Random(7)

    def post(token: str, kind: str):
        return client.post("/api/v1/checkins/", data=json.dumps(builders[kind](rng)),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")

    # Each case's requests: (what, token, kind). Fresh patients open alerts; the same ones then update.
    fresh = [t for _, t in tokens[:repeat]]
    quiet_pool = [t for _, t in tokens[repeat:2 * repeat]]
    for token in quiet_pool:  # every token used once before, as in steady state (no last_used_at write)
        post(token, "quiet")
    from django.db import transaction

    from tracker.models import AuditEvent

    def insert_only():
        """The floor of any write: one ORM INSERT in its own transaction, no HTTP, no auth, no grading."""
        with transaction.atomic():
            AuditEvent.objects.create(action="bench", method="POST", path="/bench/", status_code=201)

    cases = [
        ("ping (no-op)", [("ping", None, None)] * repeat),
        ("one INSERT, no HTTP", [("insert", None, None)] * repeat),
        ("quiet check-in", [("post", t, "quiet") for t in quiet_pool]),
        ("fever, opens alert", [("post", t, "fever") for t in fresh]),
        ("fever, updates alert", [("post", t, "fever") for t in fresh]),
        ("dizzy, raises alert", [("post", t, "emergency") for t in fresh]),
    ]
    lines = [f"{'request':<22}{'queries':>8}{'commits':>8}{'SQL ms':>8}{'CPU ms':>8}{'wall ms':>9}"
             f"   (in-process medians of {repeat}; SQL ms = time in the database calls)"]
    shapes: dict[str, Counter] = {}
    measures = {label: ([], [], [], [], []) for label, _ in cases}
    for i in range(repeat):  # interleaved, so a burst of other work on the machine hits every case alike
        for label, steps in cases:
            action, token, kind = steps[i]
            counts, commits, sql_ms, cpu_ms, wall_ms = measures[label]
            autocommitted: list[str] = []

            def watch(execute, sql, params, many, context, out=autocommitted):
                if not connection.in_atomic_block and not sql.lstrip().upper().startswith("SELECT"):
                    out.append(sql)  # a write outside a transaction: a commit of its own
                return execute(sql, params, many, context)

            with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(watch):
                t0, c0 = time.perf_counter(), time.process_time()
                if action == "insert":
                    insert_only()
                    response = None
                else:
                    response = client.get("/api/v1/ping/") if action == "ping" else post(token, kind)
                wall_ms.append((time.perf_counter() - t0) * 1e3)
                cpu_ms.append((time.process_time() - c0) * 1e3)
            if response is not None and response.status_code not in (200, 201):
                raise RuntimeError(f"{label}: HTTP {response.status_code}: {response.content[:300]!r}")
            queries = [q for q in ctx.captured_queries
                       if q["sql"].split(None, 1)[0].upper() not in ("BEGIN", "COMMIT")]
            counts.append(len(queries))
            # every COMMIT, plus every write in autocommit (outside a transaction): one WAL flush each
            commits.append(sum(q["sql"].upper().startswith("COMMIT") for q in ctx.captured_queries)
                           + len(autocommitted))
            sql_ms.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1e3)
            shapes[label] = Counter(sql_shape(q["sql"]) for q in queries)
    for label, (counts, commits, sql_ms, cpu_ms, wall_ms) in measures.items():
        lines.append(f"{label:<22}{pct(counts, 50):>8}{pct(commits, 50):>8}"
                     f"{pct(sql_ms, 50):>8.1f}{pct(cpu_ms, 50):>8.1f}{pct(wall_ms, 50):>9.1f}")
    quiet = shapes["quiet check-in"]
    lines.append("quiet check-in's queries: " + ", ".join(f"{n}x {s}" if n > 1 else s
                                                         for s, n in quiet.most_common()))

    batch = [(t, rng.choices([n for n, _ in MIX], [w for _, w in MIX])[0]) for _, t in tokens[2 * repeat:] * 3]
    profiler = cProfile.Profile()
    profiler.enable()
    for token, kind in batch:
        post(token, kind)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    if os.environ.get("INGEST_PROFILE_FILE"):  # for snakeviz / pstats
        stats.dump_stats(os.environ["INGEST_PROFILE_FILE"])
    areas = {  # (file suffix, function): what it is
        ("django/core/handlers/base.py", "get_response"): "whole request (Django handler)",
        ("rest_framework/views.py", "initial"): "  DRF token auth + throttle (Redis)",
        ("rest_framework/serializers.py", "is_valid"): "  input validation",
        ("monitoring/services/intake.py", "checkin_submit_for_user"): "  intake transaction, of which:",
        ("monitoring/services/context.py", "checkin_context_lock"): "    find and lock the patient, its context",
        ("tracker/services.py", "checkin_store"): "    INSERT check-in",
        ("monitoring/services/assessment.py", "_recent"): "    the recent check-ins (rules' input)",
        ("monitoring/rules/engine.py", "evaluate"): "    rules engine evaluate()",
        ("monitoring/services/alerts.py", "alert_record_finding"): "    alert_record_finding",
        ("monitoring/services/assessment.py", "_schedule_followups"): "    follow-ups",
        ("monitoring/api/serializers.py", "to_representation"): "  response serializer",
        ("tracker/audit.py", "audit_write"): "    audit row (in the transaction)",
        ("psycopg/cursor.py", "execute"): "all SQL calls (psycopg execute, incl. waiting)",
        ("django/db/models/sql/compiler.py", "as_sql"): "all ORM SQL compilation (as_sql)",
        ("tracker/compiled.py", "insert_row"): "all INSERTs with SQL made once (tracker/compiled.py)",
        ("rest_framework/serializers.py", "get_fields"): "DRF serializer field construction (get_fields)",
    }
    cumulative = defaultdict(float)
    for (filename, _, func), (_, _, _, ct, _) in stats.stats.items():
        for (suffix, name), area in areas.items():
            if filename.endswith(suffix) and func == name:
                cumulative[area] += ct
    whole = cumulative["whole request (Django handler)"] or 1.0
    lines.append(f"cProfile of {len(batch)} mixed check-ins in-process: share of the request's profiled time "
                 f"({whole / len(batch) * 1e3:.0f} ms each under the profiler)")
    for area in areas.values():
        if area in cumulative and not area.startswith("whole"):
            lines.append(f"  {cumulative[area] / whole * 100:5.1f}%  {area}")
    return lines


# ---------------------------------------------------------------------------------------------- main


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def wait_for_quiet_machine(limit: float, patience: float) -> None:
    deadline = time.monotonic() + patience
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        time.sleep(5)
    if os.getloadavg()[0] > limit:
        print(f"warning: 1-min load still {os.getloadavg()[0]:.2f} > {limit}: other work shares the cores; "
              "the numbers are pessimistic", flush=True)


def fmt_ms(values: list[float]) -> str:
    return f"{pct(values, 50) * 1e3:7.1f}/{pct(values, 99) * 1e3:<7.1f}" if values else f"{'-':>7}/{'-':<7}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15, help="seconds per endpoint per level")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated client threads")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork processes")
    parser.add_argument("--patients", type=int, default=300, help="patients the load draws from")
    parser.add_argument("--probe-rate", type=float, default=2.0, help="alert probes per second")
    parser.add_argument("--idle-seconds", type=float, default=10, help="idle alert-latency probing")
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for the 1-min load to fall below this")
    parser.add_argument("--load-patience", type=float, default=60, help="seconds to wait for that at most")
    parser.add_argument("--no-profile", action="store_true", help="skip the in-process profile")
    parser.add_argument("--cpu-requests", type=int, default=300,
                        help="quiet check-ins and bare creates timed side by side in-process")
    parser.add_argument("--profile-only", action="store_true",
                        help="only the in-process queries and profile (no gunicorn, no load): a quick check")
    parser.add_argument("--drop", action="store_true", help=f"drop the {DB_NAME} database at the end")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    probe_level = 8 if 8 in levels else levels[len(levels) // 2]
    probes_needed = int(args.probe_rate * (args.idle_seconds + args.duration)) + 2
    profile_patients = 60

    print(f"ingest benchmark; /proc/loadavg at start: {loadavg()}", flush=True)
    wait_for_quiet_machine(args.max_load, args.load_patience)
    load_at_start = loadavg()
    logs = Path(tempfile.mkdtemp(prefix="ingest-"))
    redis_server, outside, web, worker, meter = RedisServer(), None, None, None, None
    started = time.monotonic()
    try:
        redis_server.start()
        outside = FakeOutside().start()
        env = production_env(redis_server.url, outside.url, DB_NAME, RATE_LIMIT_CHECKIN=RATE_LIMIT,
                             DJANGO_SETTINGS_MODULE="bench.ingest_settings")
        recreate_database(DB_NAME)
        migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        import redis

        data = make_data(args.patients + probes_needed + profile_patients, outside.url)
        tokens = data["tokens"]
        load_tokens = [t for _, t in tokens[:args.patients]]
        probes = tokens[args.patients:args.patients + probes_needed]
        profile_tokens = tokens[args.patients + probes_needed:]
        setup_s = time.monotonic() - started
        if args.profile_only:
            print("\n".join(cpu_side_by_side(profile_tokens, args.cpu_requests)))
            print("where an ingest request's time goes (in-process, production settings)")
            print("\n".join(profile_in_process(profile_tokens)))
            return 0

        web = Gunicorn(env, logs / "gunicorn.log", args.web_workers, args.web_threads)
        web.start()
        worker = PreforkWorker(env, logs / "worker.log", args.worker_concurrency)
        worker.start()
        broker = redis.Redis.from_url(redis_server.url)
        meter = CpuMeter(web, worker, redis_server.process.pid)
        ingest, ping = checkin_requests(web.port, load_tokens), ping_requests(web.port)

        # Sanity: each kind of the mix gets the urgency it stands for.
        check = KeepAlive(web.port)
        rng = random.Random(1)
        for kind, urgency in (("quiet", "none"), ("fever", "urgent"), ("emergency", "emergency")):
            body = json.dumps(payloads()[kind](rng)).encode()
            status, answer = check.request(raw_request(web.port, "POST", "/api/v1/checkins/", body, load_tokens[-1]))
            got = json.loads(answer).get("urgency") if status == 201 else answer[:300]
            if got != urgency:
                raise RuntimeError(f"{kind} check-in: HTTP {status}, urgency {got!r}, expected {urgency!r}")
        check.close()
        for make in (ingest, ping):  # warm up: lazy imports, database connections in every thread
            closed_loop(web.port, "warm-up", 8, 3, make, 201 if make is ingest else 200)
        drain(broker)

        print(f"idle alert latency: {args.idle_seconds:.0f} s of probes at {args.probe_rate}/s ...", flush=True)
        idle_results, idle_errors = probe_alerts(web.port, probes, args.probe_rate, args.idle_seconds)
        idle = collect(idle_results, data["nurse"], broker, 120)
        probes = probes[len(idle_results) + len(idle_errors):]

        rows, loaded, loaded_errors = [], [], []
        for concurrency in levels:
            print(f"concurrency {concurrency}: ingest {args.duration:.0f} s, then no-op {args.duration:.0f} s ...",
                  flush=True)
            probe_out: list = []
            prober = None
            if concurrency == probe_level:
                prober = threading.Thread(target=lambda out=probe_out: out.extend(
                    probe_alerts(web.port, probes, args.probe_rate, args.duration - 1)))
                prober.start()
            post = meter.run(closed_loop, web.port, "ingest", concurrency, args.duration, ingest, 201)
            if prober:
                prober.join()
                loaded = collect(probe_out[0], data["nurse"], broker, 180)
                loaded_errors = probe_out[1]
            drain(broker)
            noop = meter.run(closed_loop, web.port, "no-op", concurrency, args.duration, ping, 200)
            rows.append((concurrency, post, noop))

        from monitoring.models import AlertEvent

        events = Counter(AlertEvent.objects.values_list("kind", flat=True))
        web_workers, web_threads = args.web_workers, args.web_threads
        web.stop()
        worker.stop()
        profile = [] if args.no_profile else [*cpu_side_by_side(profile_tokens, args.cpu_requests), "",
                                              *profile_in_process(profile_tokens)]

        print()
        print(f"setup: gunicorn gthread --workers {web_workers} --threads {web_threads}, celery prefork "
              f"--concurrency {args.worker_concurrency}, private redis-server, PostgreSQL db {DB_NAME}, "
              f"RATE_LIMIT_CHECKIN={RATE_LIMIT}; {os.cpu_count()} cores, python {sys.version.split()[0]}; "
              f"{args.patients} load patients; setup {setup_s:.0f} s; load before measuring: {load_at_start}")
        print(f"closed loop, {args.duration:.0f} s per endpoint per level, keep-alive; latency p50/p99 in ms; "
              f"target: ingest >= {TARGET_RATIO} x no-op rps")
        print(f"{'conc':>4} {'ingest rps':>10} {'p50/p99':>15} {'no-op rps':>10} {'p50/p99':>15} {'ratio':>6} "
              f"{'>=0.5':>5} {'errors':>7}")
        for concurrency, post, noop in rows:
            ratio = post.rps / noop.rps if noop.rps else 0.0
            errors = sum(post.errors.values()) + sum(noop.errors.values())
            print(f"{concurrency:>4} {post.rps:>10.1f} {fmt_ms(post.latencies):>15} {noop.rps:>10.1f} "
                  f"{fmt_ms(noop.latencies):>15} {ratio:>6.3f} {'yes' if ratio >= TARGET_RATIO else 'NO':>5} "
                  f"{errors:>7}")
        kinds = sum((post.kinds for _, post, _ in rows), Counter())
        print(f"check-ins sent: {dict(kinds)}; alert events: {dict(events)}")
        print("\nCPU ms per request (PostgreSQL = backends of this database; machine busy = both cores, all "
              "sessions)")
        print(f"{'conc':>4} {'endpoint':<8}{'gunicorn':>9}{'postgres':>9}{'celery':>8}{'redis':>7}{'client':>8}"
              f"{'sum':>7}{'machine busy':>14}{'others':>8}")
        cost = defaultdict(list)
        for concurrency, post, noop in rows:
            for phase in (post, noop):
                n = max(1, len(phase.latencies))
                parts = [phase.cpu[k] / n * 1e3 for k in ("gunicorn", "postgres", "celery", "redis", "client")]
                cost[phase.name].append(sum(parts[:4]))
                print(f"{concurrency:>4} {phase.name:<8}" + "".join(f"{v:>{w}.2f}" for v, w in
                                                                     zip(parts, (9, 9, 8, 7, 8), strict=True)) +
                      f"{sum(parts):>7.2f}{phase.cpu['machine'] * 100:>13.0f}%{phase.cpu['others'] * 100:>7.0f}%")
        server_ratio = pct(cost["no-op"], 50) / pct(cost["ingest"], 50)
        print(f"server CPU per request (all but the client), median over levels: ingest {pct(cost['ingest'], 50):.1f} "
              f"ms, no-op {pct(cost['no-op'], 50):.2f} ms -> ratio {server_ratio:.3f}: the rps ratio on a saturated "
              "machine, whatever else runs on it ('others' = other sessions' share of the 2 cores)")
        print(f"\nalert latency, POST -> nurse's SMS delivered (ms p50/p99; probes: fever + dizziness, new patient "
              f"each, {args.probe_rate}/s)")
        print(f"{'while':<26}{'samples':>8}{'POST':>16}{'SMS sent':>16}{'in-app':>16}")
        for label, samples in (("idle", idle), (f"ingest at concurrency {probe_level}", loaded)):
            if samples:
                print(f"{label:<26}{len(samples):>8}" + "".join(f"{fmt_ms([s[k] for s in samples]):>16}"
                                                               for k in ("post", "sms", "inapp")))
        for label, errors in (("idle", idle_errors), ("loaded", loaded_errors)):
            if errors:
                print(f"  {label} probe errors ({len(errors)}): {errors[0]}")
        if profile:
            print("\nwhere an ingest request's time goes (in-process, production settings, same database)")
            print("\n".join(profile))
        print(f"\nlogs in {logs}; database {DB_NAME} " + ("dropped." if args.drop else "left for inspection "
                                                        "(recreated on the next run; --drop to remove it)."))
        return 0
    except BaseException:
        print(f"ingest: failed; gunicorn and worker logs in {logs}", file=sys.stderr)
        raise
    finally:
        shut_down((worker, web, outside, redis_server), drop=DB_NAME if args.drop else None)


if __name__ == "__main__":
    sys.exit(main())
