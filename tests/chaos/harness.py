"""The chaos suite's machinery: the production shape in real processes, a bounded check-in load over HTTP,
and what the outside world received, checked against what the database says should have been sent.

Processes (tests/services.py): gunicorn (2 workers x 4 threads, gthread) and a Celery prefork worker
(concurrency 2) and Celery beat (django_celery_beat's DatabaseScheduler) on config.settings.production,
fed like a deployment (DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL,
DJANGO_SECURE_SSL_REDIRECT=false), a private redis-server with an append-only file (as in
docker-compose.yml), all on the PostgreSQL database the test process uses (pytest-django's test database;
the tests are transactional, so what the test writes is committed and visible to the processes).

The outside world: the SMS provider (SMS_BACKEND=HttpProviderSmsBackend, SMS_PROVIDER_URL) and the team's
paging webhook are one loopback HTTP server (tests.services.FakeOutside) that records every request it
receives, answered or not; email goes to Django's console backend, i.e. the worker's stdout, which Celery
logs (the worker log is parsed). In-app messages are delivered by being written: their rows are the receipt.

A supervisor thread watches every process the scenario did not kill on purpose: one that exits is
recorded (a failure: it would have needed a restart) and started again, as compose's `restart:
unless-stopped` would, so the rest of the scenario still measures something.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from tests.services import ROOT, Beat, FakeOutside, Gunicorn, PreforkWorker, RedisServer, wait_until

# ---------------------------------------------------------------------------------------------- the plan

CHECKINS = 100  # per scenario, POSTed by a bounded loop
FEVERS = 15  # of which fevers (>= 38 °C), each from its own patient, so each opens its own alert
EMERGENCIES = 5  # of the fevers, this many also report dizziness: emergency instead of urgent
QUIET_PATIENTS = 20  # the quiet check-ins rotate over these (the throttle allows 30/min per user)
SENDERS = 4  # client threads
CLIENT_TIMEOUT_S = 45  # longer than the Redis hang, so a slow answer is not counted as a reset
DELIVERY_BOUND_S = 60  # the nurse's SMS arrives at most this long after the fault ends (or after its POST)
RETRY_BUDGET_S = 40  # how long the client keeps retrying refused check-ins after the fault
ESCALATION_MINUTES = 1  # center policy (escalation_urgent_minutes, escalation_emergency_minutes)
ESCALATION_SCAN_SECONDS = 10  # the beat row "Escalate unacknowledged alerts" (30 s in notifications/beat_schedule.py)
WEB_WORKERS, WEB_THREADS, WORKER_CONCURRENCY = 2, 4, 2
LOG_ROOT = ROOT / "var" / "chaos-logs"

QUIET = {"temperature": "36.8", "chills": False, "short_of_breath": False, "dizzy_or_fainting": False,
         "confusion": False}
FEVER = {"temperature": "38.4"}  # CRS grade 1 on CAR T: urgent
EMERGENCY = {"temperature": "38.6", "dizzy_or_fainting": True}  # fever with a grade 2 sign: emergency

LINK = re.compile(r"/staff/alerts/([0-9a-f-]{36})/")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def now() -> float:
    return time.time()


# ---------------------------------------------------------------------------------------------- processes


def production_env(*, database: dict, redis_url: str, outside_url: str) -> dict:
    """config.settings.production as a deployment feeds it, on loopback services."""
    user, host, port = database["USER"] or "postgres", database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "chaos-" + secrets.token_hex(24),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"postgres://{user}@{host}:{port}/{database['NAME']}",
        "REDIS_URL": redis_url,
        "SMS_BACKEND": "notifications.channels.sms.HttpProviderSmsBackend",
        "SMS_PROVIDER_URL": outside_url + "/sms",
        "SMS_PROVIDER_TOKEN": "chaos-provider-token",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Exit:
    process: str
    at: float
    returncode: int | None
    restarted: bool


class Stack:
    """Redis, the fake outside, gunicorn, one Celery worker and one beat (more beats on request), with a
    supervisor thread. Logs go to var/chaos-logs/<scenario>/ and stay there for reading."""

    def __init__(self, scenario: str, database: dict):
        self.scenario = scenario
        self.logs = LOG_ROOT / scenario
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self.redis = RedisServer(data_dir=self.logs / "redis-data")
        self.outside = FakeOutside()
        self.database = database
        self.env: dict = {}
        self.web: Gunicorn | None = None
        self.workers: list[PreforkWorker] = []  # every worker started; the last one is the current one
        self.beats: list[Beat] = []
        self.exits: list[Exit] = []
        self.killed: set[int] = set()  # pids stopped or killed on purpose (never reported as exits)
        self.started_at = now()
        self.source_at_start = source_state()  # before any process imports the code
        self._watching = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    # -- lifecycle

    def start_services(self) -> None:
        self.redis.start()
        self.outside.start()
        self.env = production_env(database=self.database, redis_url=self.redis.url, outside_url=self.outside.url)

    def start_processes(self) -> None:
        """gunicorn, the worker and beat, started side by side (each waits until it answers)."""
        self.web = Gunicorn(self.env, self.logs / "gunicorn.log", WEB_WORKERS, WEB_THREADS, access_log=True)
        worker = self._new_worker()
        beat = Beat(self.env, self.logs / "beat-1.log")
        self.beats.append(beat)
        errors = []

        def run(start):
            try:
                start()
            except Exception as exc:  # noqa: BLE001 (raised below, after all three tried)
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(p.start,)) for p in (self.web, worker, beat)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        self._watching.set()
        self._watcher = threading.Thread(target=self._supervise, daemon=True)
        self._watcher.start()

    def _new_worker(self) -> PreforkWorker:
        worker = PreforkWorker(self.env, self.logs / f"worker-{len(self.workers) + 1}.log", WORKER_CONCURRENCY,
                               name=f"chaos-{self.scenario}-{len(self.workers) + 1}")
        self.workers.append(worker)
        return worker

    @property
    def worker(self) -> PreforkWorker:
        return self.workers[-1]

    def add_beat(self) -> Beat:
        beat = Beat(self.env, self.logs / f"beat-{len(self.beats) + 1}.log")
        beat.start()
        with self._lock:
            self.beats.append(beat)
        return beat

    def kill_worker(self) -> int:
        """SIGKILL the whole worker (main process and pool), as when its machine dies."""
        worker = self.worker
        with self._lock:
            self.killed.add(worker.process.pid)
            worker.kill()
        return worker.process.pid

    def restart_worker(self) -> PreforkWorker:
        """What a supervisor does after the worker died: start a new one."""
        worker = self._new_worker()
        worker.start()
        return worker

    def kill_pid(self, pid: int) -> None:
        with self._lock:
            self.killed.add(pid)
        os.kill(pid, signal.SIGKILL)

    def processes(self) -> dict[str, object]:
        procs = {"gunicorn": self.web, "worker": self.worker}
        for n, beat in enumerate(self.beats, 1):
            procs[f"beat-{n}"] = beat
        return procs

    def _supervise(self) -> None:
        while self._watching.is_set():
            time.sleep(0.5)
            with self._lock:
                for name, proc in self.processes().items():
                    p = proc.process
                    if p is None or p.poll() is None or p.pid in self.killed or not self._watching.is_set():
                        continue
                    self.exits.append(Exit(name, now(), p.returncode, restarted=True))
                    self.killed.add(p.pid)
                    try:
                        if name == "worker":
                            self._new_worker().start()
                        else:
                            proc.start()
                    except Exception as exc:  # noqa: BLE001 (recorded; the liveness check reports it)
                        self.exits[-1].restarted = False
                        (self.logs / "supervisor.log").open("a").write(f"{name}: restart failed: {exc!r}\n")

    def liveness(self) -> dict[str, str]:
        """Each process that should be running: "ok", or what is wrong."""
        state = {}
        for name, proc in self.processes().items():
            if not proc.alive:
                state[name] = f"not running (exit code {proc.process.returncode})"
            elif name == "gunicorn" and len(proc.children()) != WEB_WORKERS:
                state[name] = f"{len(proc.children())} workers instead of {WEB_WORKERS}"
            elif name == "worker" and len(proc.children()) != WORKER_CONCURRENCY:
                state[name] = f"{len(proc.children())} pool processes instead of {WORKER_CONCURRENCY}"
            else:
                state[name] = "ok"
        if self.redis.process is None or self.redis.process.poll() is not None:
            state["redis"] = "not running"
        return state

    def stop(self) -> None:
        self._watching.clear()
        if self._watcher:
            self._watcher.join(timeout=5)
        for proc in [*self.beats, *self.workers, self.web]:
            if proc is None:
                continue
            with contextlib.suppress(Exception):
                proc.stop()
        with contextlib.suppress(Exception):
            self.outside.stop()
        with contextlib.suppress(Exception):
            self.redis.stop()

    # -- logs

    def worker_logs(self) -> str:
        return "".join(w.log_path.read_text(errors="replace") for w in self.workers if w.log_path.exists())

    def log_text(self, name: str) -> str:
        path = self.logs / name
        return path.read_text(errors="replace") if path.exists() else ""


# ---------------------------------------------------------------------------------------------- the world


@dataclass
class World:
    """What the test created: staff with phones and addresses, the paging webhook, patients with tokens."""

    staff: dict  # role -> {"pk", "phone", "email"}
    hook_pk: int
    fever_patients: list  # [(patient_pk, token)]
    quiet_patients: list
    probe_patients: list


def make_world(outside_url: str) -> World:
    """Catalogue and beat schedule (a transactional test starts from empty tables), one team with a
    nurse, a charge nurse and a physician, the paging webhook, escalation shortened by center policy, and
    CAR T patients with API tokens."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from monitoring.models import PolicySetting
    from notifications.beat_schedule import sync_schedule
    from notifications.models import PagingWebhook
    from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
    from tracker.catalogue import sync_catalogue
    from tracker.models import ApiToken, Role, Therapy

    sync_catalogue(Therapy)
    sync_schedule(IntervalSchedule, PeriodicTask)
    faster, _ = IntervalSchedule.objects.get_or_create(every=ESCALATION_SCAN_SECONDS, period="seconds")
    PeriodicTask.objects.filter(task="notifications.tasks.alerts_escalate_due_task").update(interval=faster)
    team = CareTeamFactory(name="Cellular Therapy")
    for name in ("escalation_urgent_minutes", "escalation_emergency_minutes"):
        PolicySetting.objects.create(center=team.center, name=name, value=str(ESCALATION_MINUTES),
                                     reason="chaos suite: escalate within the scenario")
    staff = {}
    for n, role in enumerate([Role.NURSE, Role.CHARGE_NURSE, Role.PHYSICIAN]):
        user = UserFactory(role=role, teams=[team], email=f"{role}@chaos.example.org", phone=f"+1555020{n:04d}")
        staff[role] = {"pk": user.pk, "phone": user.phone, "email": user.email}
    hook = PagingWebhook.objects.create(team=team, url=outside_url + "/page", secret="chaos-secret")

    def patients(count: int) -> list:
        made = []
        for _ in range(count):
            patient = PatientFactory(care_team=team)
            CourseFactory(patient=patient)
            made.append((patient.pk, ApiToken.issue(patient.user)[1]))
        return made

    return World(staff=staff, hook_pk=hook.pk, fever_patients=patients(FEVERS), quiet_patients=patients(QUIET_PATIENTS),
                 probe_patients=patients(1))


# ---------------------------------------------------------------------------------------------- the client


@dataclass
class Attempt:
    started: float
    finished: float
    outcome: str  # stored, refused, bad_refusal, server_error, client_error, conflict, reset, timeout
    status: int | None = None
    detail: str = ""
    retry_after: str | None = None
    with_id: bool = True
    echoed_id: str | None = None


@dataclass
class Submission:
    key: str  # the Idempotency-Key header and the body's "id"
    kind: str  # quiet, fever, emergency, probe
    patient_pk: int
    token: str
    payload: dict
    attempts: list = field(default_factory=list)
    replay: bool = False  # re-sent once more after it was stored (a client that never saw the answer)

    @property
    def stored_at(self) -> float | None:
        return next((a.finished for a in self.attempts if a.outcome == "stored"), None)

    def body(self, with_id: bool) -> bytes:
        data = {**self.payload, "note": f"chaos {self.key}"}
        if with_id:
            data["id"] = self.key
        return json.dumps(data).encode()


ERROR_SHAPE = {"type", "detail", "fields"}


def post_checkin(port: int, sub: Submission, *, with_id: bool = True) -> Attempt:
    """One POST /api/v1/checkins/ with `Idempotency-Key: <key>` and `"id": <key>`, classified."""
    started = now()
    body = sub.body(with_id)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
        try:
            conn.request("POST", "/api/v1/checkins/", body=body, headers={
                "Authorization": f"Token {sub.token}", "Content-Type": "application/json",
                "Idempotency-Key": sub.key, "Connection": "close"})
            response = conn.getresponse()
            raw = response.read()
            retry_after = response.getheader("Retry-After")
        finally:
            conn.close()
    except TimeoutError as exc:
        return Attempt(started, now(), "timeout", detail=repr(exc), with_id=with_id)
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        return Attempt(started, now(), "reset", detail=repr(exc), with_id=with_id)
    finished = now()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    status = response.status
    text = raw[:300].decode(errors="replace")
    if status in (200, 201):
        echoed = data.get("id") if isinstance(data, dict) else None
        return Attempt(started, finished, "stored", status, with_id=with_id, echoed_id=echoed)
    if status in (429, 503):
        shaped = isinstance(data, dict) and ERROR_SHAPE <= data.keys()
        ok = shaped and retry_after is not None and retry_after.strip().isdigit()
        return Attempt(started, finished, "refused" if ok else "bad_refusal", status, text, retry_after, with_id)
    if status >= 500:
        return Attempt(started, finished, "server_error", status, text, retry_after, with_id)
    if status == 409:
        return Attempt(started, finished, "conflict", status, text, retry_after, with_id)
    return Attempt(started, finished, "client_error", status, text, retry_after, with_id)


def first_outcome(sub: Submission) -> str:
    return next((a.outcome for a in sub.attempts if not id_refused(a)), "none")


def id_refused(attempt: Attempt) -> bool:
    """400 naming the body's "id" as an unknown field: the server does not take a client-generated id."""
    if attempt.outcome != "client_error" or attempt.status != 400:
        return False
    with contextlib.suppress(ValueError):
        return "id" in json.loads(attempt.detail).get("fields", {})
    return '"id"' in attempt.detail


class Client:
    """Sends the planned check-ins on a schedule (evenly over `duration`), SENDERS at a time, each once; then,
    on request, retries those not stored with the same key until stored or the budget is spent."""

    def __init__(self, port: int, world: World, duration: float):
        self.port, self.duration = port, duration
        self.id_supported: bool | None = None
        fevers = [("emergency", p) for p in world.fever_patients[:EMERGENCIES]]
        fevers += [("fever", p) for p in world.fever_patients[EMERGENCIES:]]
        fevers = [fevers[i // 2] if i % 2 == 0 else fevers[len(fevers) - 1 - i // 2] for i in range(len(fevers))]
        # The fevers spread evenly through the run, the first one early (the 4th check-in).
        slots = {int(3 + i * (CHECKINS - 6) / len(fevers)) for i in range(len(fevers))}
        order, quiet = [], 0
        for n in range(CHECKINS):
            if n in slots and fevers:
                order.append(fevers.pop(0))
            else:
                order.append(("quiet", world.quiet_patients[quiet % len(world.quiet_patients)]))
                quiet += 1
        payloads = {"quiet": QUIET, "fever": FEVER, "emergency": EMERGENCY}
        self.submissions = [Submission(str(uuid.uuid4()), kind, pk, token, payloads[kind]) for kind, (pk, token) in order]
        self._thread: threading.Thread | None = None
        self.started_at = 0.0

    def _send(self, sub: Submission) -> None:
        with_id = self.id_supported is not False
        attempt = post_checkin(self.port, sub, with_id=with_id)
        if with_id and id_refused(attempt):
            self.id_supported = False
            sub.attempts.append(attempt)
            attempt = post_checkin(self.port, sub, with_id=False)
        elif with_id and attempt.outcome == "stored":
            self.id_supported = True
        sub.attempts.append(attempt)

    def start(self) -> None:
        self.started_at = now()
        interval = self.duration / len(self.submissions)
        queue = list(enumerate(self.submissions))
        lock = threading.Lock()

        def sender():
            while True:
                with lock:
                    if not queue:
                        return
                    n, sub = queue.pop(0)
                due = self.started_at + n * interval
                if due > now():
                    time.sleep(due - now())
                self._send(sub)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()

        def join():
            for thread in threads:
                thread.join()

        self._thread = threading.Thread(target=join, daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the check-in load did not finish within {timeout:.0f} s")

    def retry_unstored(self) -> None:
        """Everything not stored (refused, or failed in a way a client cannot tell from 'not stored') is sent
        again with the same Idempotency-Key, after its Retry-After, until stored or RETRY_BUDGET_S is spent."""
        deadline = now() + RETRY_BUDGET_S
        while now() < deadline:
            todo = [s for s in self.submissions if s.stored_at is None]
            if not todo:
                return
            for sub in todo:
                self._send(sub)
            asked = [int(s.attempts[-1].retry_after) for s in todo
                     if s.stored_at is None and (s.attempts[-1].retry_after or "").strip().isdigit()]
            if any(s.stored_at is None for s in self.submissions):
                time.sleep(min(max([2, *asked]), 10, max(deadline - now(), 0)))

    def replay_some(self, count: int = 3) -> None:
        """A client that never saw its answer sends a stored check-in again, same key: not stored twice."""
        for sub in [s for s in self.submissions if s.kind == "quiet" and s.stored_at is not None][:count]:
            sub.replay = True
            self._send(sub)

    def probe(self, patient: tuple) -> Submission:
        """One fresh fever check-in after everything: does the whole chain still work, unrestarted?"""
        sub = Submission(str(uuid.uuid4()), "probe", patient[0], patient[1], FEVER)
        self._send(sub)
        if sub.stored_at is None:
            time.sleep(2)
            self._send(sub)
        self.submissions.append(sub)
        return sub


# ---------------------------------------------------------------------------------------------- receipts


@dataclass
class Receipt:
    channel: str  # sms, email, webhook
    at: float
    key: str | None  # the idempotency key it carried (header), if any
    notification: str | None  # the notification id it names (key, payload id, X-Tracker-Notification)
    alert: str | None  # alert uuid from the link
    to: str  # phone, address, or "webhook"


def outside_receipts(outside: FakeOutside) -> list[Receipt]:
    receipts = []
    for r in list(outside.received):
        try:
            body = json.loads(r.body)
        except ValueError:
            body = {}
        key = next((v for k, v in r.headers.items() if k.lower() == "idempotency-key"), None) or None
        if r.path == "/sms":
            text = body.get("text", "")
            link = LINK.search(text)
            receipts.append(Receipt("sms", r.at, key, key or body.get("reference") or None,
                                    link[1] if link else None, body.get("to", "")))
        elif r.path == "/page":
            link = LINK.search(body.get("link", "") + body.get("message", ""))
            receipts.append(Receipt("webhook", r.at, key, key or body.get("id"), link[1] if link else None, "webhook"))
    return receipts


LOG_PREFIX = re.compile(r"^\[[^\]]*\] ", re.M)


def email_receipts(log_text: str) -> list[Receipt]:
    """The console email backend writes each message, then a line of 79 dashes, to stdout; Celery logs each
    write as one record ("[time: WARNING/ForkPoolWorker-n] Content-Type: ...", the message's other lines
    follow unprefixed until the next record). Arrival time: the record's."""
    receipts = []
    for match in re.finditer(r"^\[(?P<ts>[^\]]*?): \w+/[^\]]*\] (?P<msg>Content-Type: .*?)(?=^\[\d{4}-|\Z)",
                             log_text, re.M | re.S):
        message = email.message_from_string(match["msg"], policy=email.policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body else ""
        key = message.get("X-Tracker-Notification")
        notification = key
        if notification is None:
            found = UUID.search(message.get("Message-ID", "") or "")
            notification = found[0] if found else None
        link = LINK.search(text)
        at = _log_time(match["ts"])
        receipts.append(Receipt("email", at, str(key) if key else None, str(notification) if notification else None,
                                link[1] if link else None, str(message.get("To", ""))))
    return receipts


def _log_time(stamp: str) -> float:
    """Celery's "2026-11-27 21:40:01,123" (local time) as a unix time."""
    with contextlib.suppress(ValueError):
        return dt.datetime.strptime(stamp.strip(), "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return 0.0


# ---------------------------------------------------------------------------------------------- the ledger


@dataclass
class Result:
    scenario: str
    checkins: dict = field(default_factory=dict)
    deliveries: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    processes: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)
    fault: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def line(self) -> str:
        c, d, t = self.checkins, self.deliveries, self.timing
        without_key = sum((d.get("receipts_without_key") or {}).values())
        return (f"{self.scenario}: check-ins {c.get('posted')} posted: {c.get('stored_first_try')} stored at once, "
                f"{c.get('refused_first_try')} refused (503/429) and {c.get('stored_after_retry')} stored on retry, "
                f"{c.get('errors')} errors {c.get('error_kinds')}; {c.get('stored_once')} stored once, "
                f"{c.get('stored_twice')} duplicated, {c.get('lost')} lost | alerts {d.get('alerts')} (levels "
                f"{d.get('steps')}); deliveries {d.get('delivered_once')}/{d.get('expected')} exactly once, "
                f"{d.get('missing')} missing, {d.get('distinct_duplicates')} doubled; "
                f"{sum((d.get('distinct_ids') or {}).values())} distinct ids, "
                f"{sum((d.get('raw_receipts') or {}).values())} raw receipts, {d.get('raw_duplicate_receipts')} "
                f"raw duplicates (same key), {without_key} without key | nurse SMS max "
                f"{t.get('sms_max_after_recovery_s')} s after recovery (p50 {t.get('sms_p50_after_recovery_s')}), "
                f"probe SMS {t.get('probe_sms_s')} s, escalation after fault {t.get('escalation_after_fault_s')} s, "
                f"POST max {t.get('post_max_s')} s | unexpected exits "
                f"{len(self.processes.get('unexpected_exits', []))} | {t.get('scenario_s')} s | "
                f"{len(self.failures)} failed checks")

    def as_dict(self) -> dict:
        return asdict(self)


def _expected_person(step: int) -> str:
    from tracker.models import Role

    return [Role.NURSE, Role.CHARGE_NURSE, Role.PHYSICIAN][min(step, 2)]


def wait_for_quiet(stack: Stack, world: World, deadline: float) -> str:
    """Until every alert notification has its outcome (sent/failed), every step of every alert has its rows,
    and the outside has received at least as many messages as were sent; or the deadline. Returns "" when
    quiet, else what was still missing at the deadline."""
    from monitoring.models import Alert
    from notifications.models import Notification, NotificationStatus

    def missing() -> str:
        rows = Notification.objects.filter(alert__isnull=False)
        moving = Counter(rows.exclude(status__in=(NotificationStatus.SENT, NotificationStatus.FAILED))
                         .values_list("status", flat=True))
        if moving:
            return f"notification rows not finished: {dict(moving)}"
        steps = set(rows.values_list("alert_id", "step").distinct())
        unwritten = [(str(uuid_)[:8], step) for pk, uuid_, level in Alert.objects.values_list("pk", "uuid", "escalation_level")
                     for step in range(level + 1) if (pk, step) not in steps]
        if unwritten:
            return f"alert steps without any notification row (alert, step): {unwritten[:6]}"
        sent = Counter(rows.filter(status=NotificationStatus.SENT).values_list("channel", flat=True))
        got = Counter(r.channel for r in outside_receipts(stack.outside) + email_receipts(stack.worker_logs()))
        short = {c: f"{got[c]} received of {sent[c]} sent" for c in ("sms", "email", "webhook") if got[c] < sent[c]}
        return f"outside receipts short: {short}" if short else ""

    while True:
        reason = missing()
        if not reason or now() >= deadline:
            return reason
        time.sleep(1)


def make_due(*, untold_too: bool = False) -> list[tuple[int, int]]:
    """Compress time: every open alert still waiting for its escalation time (center policy: 1 minute) is
    due now, so the scan moves it one step up at its next tick. Returns [(alert id, level)] made due.

    Only alerts whose current step has its notification rows: in real time the outbox sweep (every 15-30 s)
    writes a lost step long before the escalation minutes pass, and escalating an alert whose step was never
    written skips that step for good (the sweep repairs the current step only), an ordering only this
    compression would otherwise produce. `untold_too`: all open alerts, as after an outage longer than the
    escalation interval (alerts raised during it have no rows yet: their fast path was lost)."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from monitoring.models import Alert, AlertStatus
    from notifications.models import Notification

    told = Notification.objects.filter(alert=OuterRef("pk"), step=OuterRef("escalation_level"))
    due = Alert.objects.filter(status=AlertStatus.OPEN, next_escalation_at__gt=timezone.now())
    if not untold_too:
        due = due.filter(Exists(told))
    made = list(due.values_list("pk", "escalation_level"))
    due.filter(pk__in=[pk for pk, _ in made]).update(next_escalation_at=timezone.now())
    return made


def escalated(made: list[tuple[int, int]]) -> bool:
    from monitoring.models import Alert

    levels = dict(Alert.objects.filter(pk__in=[pk for pk, _ in made]).values_list("pk", "escalation_level"))
    return all(levels.get(pk, -1) > level for pk, level in made)


def freeze_escalation() -> None:
    """No further escalation steps: the ledger must be final. (As if every alert were acknowledged, without
    sending acknowledgement notices.)"""
    from monitoring.models import Alert

    Alert.objects.update(next_escalation_at=None)


def ledger(stack: Stack, world: World, client: Client, fault_end: float, probe: Submission | None,
           result: Result) -> None:
    """Compare what the database says should have reached whom with what arrived."""
    from monitoring.models import Alert
    from notifications.models import Notification, NotificationStatus
    from tracker.models import CheckIn

    # ---- check-ins
    subs = [s for s in client.submissions if s.kind != "probe"]
    rows = Counter()
    for note in CheckIn.objects.filter(note__startswith="chaos ").values_list("note", flat=True):
        rows[note.split(" ", 1)[1]] += 1
    first = Counter(next((a.outcome for a in s.attempts if not id_refused(a)), "none") for s in subs)
    all_attempts = [a for s in subs for a in s.attempts if not id_refused(a)]
    replay_answers = [s.attempts[-1] for s in subs if s.replay]
    kinds = Counter(a.outcome for a in all_attempts)
    # A replay of a stored check-in may be answered 409 (already stored): not an error.
    kinds["conflict"] -= sum(1 for a in replay_answers if a.outcome == "conflict")
    errors = {k: v for k, v in kinds.items() if k not in ("stored", "refused") and v > 0}
    error_samples = []
    for a in all_attempts:
        if a.outcome not in ("stored", "refused", "conflict") and len(error_samples) < 5:
            error_samples.append(f"{a.outcome} {a.status or ''} {a.detail[:160]}".strip())
    stored_keys = [s for s in subs if rows[s.key] >= 1]
    result.checkins = {
        "posted": len(subs),
        "requests": len(all_attempts),
        "stored_first_try": first["stored"],
        "refused": kinds["refused"],
        "refused_first_try": first["refused"],
        "stored_after_retry": sum(1 for s in subs if first_outcome(s) != "stored" and s.stored_at is not None),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "error_samples": error_samples,
        "status_codes": dict(Counter(str(a.status) for a in all_attempts)),
        "stored_once": sum(1 for s in subs if rows[s.key] == 1),
        "stored_twice": sum(1 for s in subs if rows[s.key] > 1),
        "lost": sum(1 for s in subs if rows[s.key] == 0),
        "replays": len(replay_answers),
        "replay_answers": dict(Counter(str(a.status) for a in replay_answers)),
        "replays_stored_again": sum(1 for s in subs if s.replay and rows[s.key] > 1),
        "client_id_accepted": client.id_supported,
        "client_id_echoed": sum(1 for s in stored_keys if any(a.echoed_id == s.key for a in s.attempts)),
        "probe": next((first_outcome(s) for s in client.submissions if s.kind == "probe"), None),
    }
    stored_responses = [a for a in all_attempts if a.outcome == "stored"]
    result.timing["post_max_s"] = round(max((a.finished - a.started for a in all_attempts), default=0), 2)
    slowest = sorted(all_attempts, key=lambda a: a.started - a.finished)[:3]
    result.timing["post_slowest"] = [f"{a.finished - a.started:.1f} s from +{a.started - client.started_at:.1f} s: "
                                     f"{a.outcome} {a.status}" for a in slowest]
    result.timing["post_p50_s"] = round(statistics.median([a.finished - a.started for a in stored_responses]), 3) \
        if stored_responses else None

    # ---- deliveries: expected (alert, step, destination, channel) from the alerts' final escalation levels
    staff = world.staff
    by_phone = {v["phone"]: role for role, v in staff.items()}
    by_email = {v["email"]: role for role, v in staff.items()}
    alerts = {str(a.uuid): a for a in Alert.objects.select_related("first_checkin")}
    expected = {}
    for auuid, alert in alerts.items():
        for step in range(alert.escalation_level + 1):
            person = _expected_person(step)
            for channel in ("inapp", "email", "sms"):
                expected[(auuid, step, person, channel)] = alert
            if alert.urgency >= 3:
                expected[(auuid, step, "webhook", "webhook")] = alert
    notif = {}
    for n in Notification.objects.filter(alert__isnull=False).select_related("alert", "recipient"):
        dest = "webhook" if n.webhook_id else n.recipient.role
        notif[str(n.uuid)] = (str(n.alert.uuid), n.step, dest, n.channel, n.status)
    receipts = outside_receipts(stack.outside) + email_receipts(stack.worker_logs())
    for n_uuid, (auuid, _step, dest, channel, status) in notif.items():
        if channel == "inapp" and status == NotificationStatus.SENT:
            receipts.append(Receipt("inapp", 0, n_uuid, n_uuid, auuid, dest))

    distinct = defaultdict(set)
    raw = Counter()
    unkeyed = Counter()  # (alert, dest, channel) -> receipts naming no notification
    unknown, without_key = [], Counter()
    first_sms_at = {}
    for r in receipts:
        if r.channel in ("sms", "webhook") and not r.key:
            without_key[r.channel] += 1
        if r.channel == "email" and not r.key:
            without_key["email"] += 1
        dest = r.to if r.channel in ("webhook", "inapp") else (by_phone.get(r.to) or by_email.get(r.to) or r.to)
        if r.notification and r.notification in notif:
            auuid, step, ndest, channel, _ = notif[r.notification]
            item = (auuid, step, ndest, channel)
            distinct[item].add(r.notification)
            raw[item] += 1
            if channel == "sms" and step == 0:
                first_sms_at[auuid] = min(first_sms_at.get(auuid, r.at), r.at)
        elif r.notification:
            unknown.append(r)
        else:
            unkeyed[(r.alert, dest, r.channel)] += 1
            if r.channel == "sms" and dest == _expected_person(0):
                first_sms_at[r.alert] = min(first_sms_at.get(r.alert, r.at), r.at)

    once = missing = two = 0
    raw_dups = Counter()
    missing_items = []
    for item in expected:
        ids = len(distinct.get(item, ()))
        if ids == 0:
            # No keyed receipt: an unkeyed one for the same alert, destination and channel may stand for it.
            bucket = (item[0], item[2], item[3])
            if unkeyed[bucket] > 0:
                unkeyed[bucket] -= 1
                once += 1
                continue
            missing += 1
            missing_items.append(item)
        elif ids == 1:
            once += 1
        else:
            two += 1
        raw_dups[item[3]] += max(raw[item] - ids, 0)
    unexpected = [k for k in distinct if k not in expected]
    leftover_unkeyed = sum(v for v in unkeyed.values() if v > 0)
    by_channel = Counter(item[3] for item in expected)
    result.deliveries = {
        "alerts": len(alerts),
        "steps": dict(Counter(a.escalation_level for a in alerts.values())),
        "expected": len(expected),
        "expected_by_channel": dict(by_channel),
        "delivered_once": once,
        "missing": missing,
        "missing_items": [f"alert {a[:8]} step {s} {d} {c}" for a, s, d, c in missing_items[:8]],
        "distinct_duplicates": two,
        "raw_receipts": dict(Counter(r.channel for r in receipts)),
        "distinct_ids": dict(Counter(item[3] for item, ids in distinct.items() for _ in ids)),
        "raw_duplicate_receipts": sum(raw_dups.values()),
        "raw_duplicate_receipts_by_channel": dict(raw_dups),
        "receipts_without_key": dict(without_key),
        "unkeyed_extra_receipts": leftover_unkeyed,
        "unexpected_notifications": len(unexpected) + len(unknown),
        "notification_rows": dict(Counter(f"{v[3]}/{v[4]}" for v in notif.values())),
    }

    # ---- time from recovery to the nurse's SMS, per fever check-in
    delays, late = [], []
    key_of = {str(a.first_checkin.note).split(" ", 1)[-1]: auuid for auuid, a in alerts.items() if a.first_checkin}
    for sub in client.submissions:
        if sub.kind not in ("fever", "emergency") or sub.stored_at is None:
            continue
        auuid = key_of.get(sub.key)
        start = max(fault_end, sub.stored_at)
        if auuid is None or auuid not in first_sms_at:
            late.append(f"{sub.kind} check-in {sub.key[:8]}: no alert" if auuid is None else
                        f"alert {auuid[:8]}: no nurse SMS")
            continue
        delays.append(max(first_sms_at[auuid] - start, 0.0))
    result.timing.update({
        "sms_max_after_recovery_s": round(max(delays), 1) if delays else None,
        "sms_p50_after_recovery_s": round(statistics.median(delays), 1) if delays else None,
        "sms_measured": len(delays),
        "sms_never": late,
    })
    if probe is not None:
        auuid = key_of.get(probe.key)
        probe_at = first_sms_at.get(auuid) if auuid else None
        result.timing["probe_sms_s"] = (round(probe_at - probe.stored_at, 2)
                                        if probe_at and probe.stored_at else None)


def log_findings(stack: Stack, result: Result) -> None:
    """Counts and first lines of what went wrong, per log (tracebacks, ERROR lines, 5xx in the access log)."""
    findings = {}
    for path in sorted(stack.logs.glob("*.log")):
        text = path.read_text(errors="replace")
        errors = [line for line in text.splitlines()
                  if " ERROR " in line or "/ERROR" in line or "CRITICAL" in line or line.startswith("Traceback")]
        exceptions = Counter(m[1] for m in re.finditer(r"^(\w+(?:\.\w+)*(?:Error|Exception|Lost)): ", text, re.M))
        access_5xx = Counter(m[1] for m in re.finditer(r'" (5\d\d) ', text)) if path.name == "gunicorn.log" else {}
        findings[path.name] = {"error_lines": len(errors), "first_errors": [e[:300] for e in errors[:4]],
                               "exceptions": dict(exceptions.most_common(6)), "http_5xx": dict(access_5xx)}
    result.logs = findings


# ---------------------------------------------------------------------------------------------- checks


def judge(result: Result, stack: Stack, fault_end: float, still: str) -> None:
    """Every assertion of the brief, collected (not stopping at the first) into result.failures."""
    c, d, t = result.checkins, result.deliveries, result.timing
    f = result.failures
    for problem in result.fault.get("harness_problems", []):
        f.append(f"harness: the fault did not happen as planned: {problem}")
    if c["errors"]:
        f.append(f"check-in POSTs answered neither 201 nor a retryable 503/429 (with the error shape and "
                 f"Retry-After): {c['error_kinds']}; e.g. {c['error_samples'][:3]}")
    if c["client_id_accepted"] is False:
        f.append('POST /api/v1/checkins/ refuses the client-generated "id" field (400 "Unknown field")')
    if c["client_id_accepted"] and c["client_id_echoed"] < c["stored_once"] + c["stored_twice"]:
        f.append(f'the body "id" was accepted but only {c["client_id_echoed"]} of '
                 f'{c["stored_once"] + c["stored_twice"]} stored check-ins answered with that id')
    if c["lost"]:
        f.append(f"{c['lost']} check-ins never stored, even after retrying with the same Idempotency-Key "
                 f"for {RETRY_BUDGET_S} s")
    if c["stored_twice"]:
        f.append(f"{c['stored_twice']} check-ins stored more than once (same Idempotency-Key; "
                 f"{c['replays_stored_again']} of {c['replays']} deliberate replays of a stored one)")
    if d["missing"]:
        f.append(f"{d['missing']} of {d['expected']} alert deliveries never arrived (alert, step, recipient, "
                 f"channel): {d['missing_items']}")
    if d["distinct_duplicates"]:
        f.append(f"{d['distinct_duplicates']} deliveries arrived as two different notifications (same alert, "
                 "step, recipient and channel)")
    if d["unkeyed_extra_receipts"]:
        f.append(f"{d['unkeyed_extra_receipts']} extra receipts without an idempotency key (duplicates a provider "
                 "cannot drop)")
    missing_keys = {k: v for k, v in d["receipts_without_key"].items() if v}
    if missing_keys:
        f.append(f"outside receipts without Idempotency-Key / X-Tracker-Notification: {missing_keys}")
    if d["unexpected_notifications"]:
        f.append(f"{d['unexpected_notifications']} receipts for notifications outside the expected steps")
    if t["sms_never"]:
        f.append(f"nurse SMS never arrived for {len(t['sms_never'])} fever check-ins: {t['sms_never'][:5]}")
    if t["sms_max_after_recovery_s"] is not None and t["sms_max_after_recovery_s"] > DELIVERY_BOUND_S:
        f.append(f"nurse SMS arrived {t['sms_max_after_recovery_s']} s after recovery (bound {DELIVERY_BOUND_S} s)")
    if t.get("probe_sms_s") is None:
        f.append(f"the fresh fever check-in after the fault got no SMS within {DELIVERY_BOUND_S} s")
    elif t["probe_sms_s"] > DELIVERY_BOUND_S:
        f.append(f"the fresh fever check-in's SMS took {t['probe_sms_s']} s (bound {DELIVERY_BOUND_S} s)")
    if t.get("escalation_after_fault_s") is None and result.fault.get("alerts_made_due_after_fault"):
        f.append(f"the escalation scan did not move the {result.fault['alerts_made_due_after_fault']} alerts made "
                 f"due after the fault within {3 * ESCALATION_SCAN_SECONDS} s (beat or worker not working)")
    if still:
        f.append(f"not settled {DELIVERY_BOUND_S} s after recovery: {still}")
    exits = result.processes.get("unexpected_exits", [])
    if exits:
        f.append(f"processes exited without being killed (a supervisor had to restart them): {exits}")
    dead = {k: v for k, v in result.processes.get("liveness", {}).items() if v != "ok"}
    if dead:
        f.append(f"not healthy at the end: {dead}")


def nurse_sms_for(stack: Stack, world: World, sub: Submission) -> bool:
    """Has the nurse's SMS for the alert that this check-in opened arrived?"""
    from monitoring.models import Alert

    alerts = {str(u) for u in Alert.objects.filter(first_checkin__note=f"chaos {sub.key}").values_list("uuid", flat=True)}
    phone = world.staff["nurse"]["phone"]
    return bool(alerts) and any(r.channel == "sms" and r.to == phone and r.alert in alerts
                                for r in outside_receipts(stack.outside))


def source_state() -> dict[str, tuple[int, int]]:
    """mtime and size of every product source file (to notice the tree being edited during a scenario)."""
    state = {}
    for folder in ("config", "tracker", "monitoring", "notifications", "templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".html", ".txt") and "__pycache__" not in path.parts:
                with contextlib.suppress(OSError):
                    st = path.stat()
                    state[str(path.relative_to(ROOT))] = (st.st_mtime_ns, st.st_size)
    return state


def run(stack: Stack, world: World, *, scenario: str, load_seconds: float, fault) -> Result:
    """The common shape of every scenario: start the load, run `fault(stack, client)` (it returns when the fault
    is over, with the time it ended and what it did), let the load finish, retry the refused check-ins, replay
    a few, probe with a fresh fever, freeze escalation, wait for deliveries, then account for everything."""
    result = Result(scenario)
    t0 = now()
    source = stack.source_at_start
    client = Client(stack.web.port, world, load_seconds)
    client.start()
    fault_end, fault_info = fault(stack, client)
    result.fault = {**fault_info, "ended_after_s": round(fault_end - t0, 1)}
    client.join(timeout=load_seconds + 4 * CLIENT_TIMEOUT_S)
    client.retry_unstored()
    client.replay_some()
    made_due, due_at = make_due(), now()
    probe = client.probe(world.probe_patients[0])
    if probe.stored_at:
        with contextlib.suppress(AssertionError):
            wait_until(lambda: nurse_sms_for(stack, world, probe), timeout=DELIVERY_BOUND_S, interval=0.5,
                       what="the probe's SMS")
    # The escalation scan works after the fault: the alerts made due just now move up one step.
    with contextlib.suppress(AssertionError):
        wait_until(lambda: escalated(made_due), timeout=3 * ESCALATION_SCAN_SECONDS, interval=0.5,
                   what="the escalation scan after the fault")
    result.timing["escalation_after_fault_s"] = round(now() - due_at, 1) if escalated(made_due) else None
    result.fault["alerts_made_due_after_fault"] = len(made_due)
    freeze_escalation()
    last_store = max((s.stored_at or 0) for s in client.submissions)
    still = wait_for_quiet(stack, world, deadline=max(fault_end, last_store) + DELIVERY_BOUND_S)
    time.sleep(2)  # late duplicates
    result.processes = {
        "unexpected_exits": [f"{e.process} exit {e.returncode} at +{e.at - t0:.0f} s" +
                             ("" if e.restarted else " (restart failed)") for e in stack.exits],
        "liveness": stack.liveness(),
        "workers_started": len(stack.workers),
    }
    ledger(stack, world, client, fault_end, probe, result)
    log_findings(stack, result)
    result.timing["scenario_s"] = round(now() - t0, 1)
    after = source_state()
    changed = sorted(k for k in source.keys() | after.keys() if source.get(k) != after.get(k))
    if changed:
        result.notes.append(f"product code was edited during this scenario (results may mix versions): "
                            f"{', '.join(changed[:8])}{' ...' if len(changed) > 8 else ''}")
    judge(result, stack, fault_end, still)
    (stack.logs / "result.json").write_text(json.dumps(result.as_dict(), indent=2, default=str))
    return result
