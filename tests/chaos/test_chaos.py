"""Chaos: the production shape (gunicorn 2x4 gthread, Celery prefork worker and beat, private Redis,
PostgreSQL) under a bounded check-in load over HTTP (100 check-ins, 15 fevers each opening an alert), while
something breaks. tests/chaos/harness.py explains the machinery; every scenario checks the same things:

- every check-in POSTed is stored (201) or refused with a retryable 503/429 in the error shape with
  Retry-After, never a 500, a reset or a timeout; refused ones, sent again later with the same
  Idempotency-Key (and body "id"), are stored; nothing is stored twice (also when a stored one is replayed);
- every alert reaches every recipient exactly once per channel and escalation step (distinct notification
  ids; raw duplicates at the outside only with the same Idempotency-Key, counted);
- the nurse's SMS for each fever arrives within DELIVERY_BOUND_S of the fault's end (or of its POST);
- nothing needs a manual restart: processes not killed on purpose are alive at the end, and a fresh
  fever check-in after the fault gets its SMS within the bound.

Escalation: the center's policy makes urgent and emergency alerts escalate after 1 minute, and the scan runs
every 10 s, so the steps to the charge nurse and the physician happen during a scenario; at the end further
escalation is frozen (next_escalation_at cleared) so the ledger is final.
"""

import os
import subprocess
import sys
import time

import psycopg
import pytest
import redis
from django.db import connection

from config.celery import app as celery_app
from tests.chaos import harness as h
from tests.services import ROOT, pid_with_socket, wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _point_celery_at(url: str, options: dict) -> None:
    """Publish from this process (the data set-up's tasks) to the scenario's broker."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _schema_out_of_date() -> str:
    """Why the processes about to start would run code the test database does not fit, if so: the tree is
    edited while a long run goes on (migration files written after the test database was made, or models
    changed without their migration yet)."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    unapplied = [f"{app}.{name}" for app, name in loader.graph.leaf_nodes()
                 if (app, name) not in loader.applied_migrations]
    if unapplied:
        return f"migrations written after this run created its test database are not applied ({', '.join(unapplied)})"
    check = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT,
                           env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
                           capture_output=True, text=True)
    if check.returncode:
        return "models changed without a migration yet: " + " ".join(check.stdout.split())[:300]
    return ""


@pytest.fixture
def chaos(transactional_db):
    """start(scenario) -> (stack, world): Redis, the fake outside, the data, then gunicorn, worker, beat."""
    stacks = []
    original = (celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {}))

    def start(scenario: str):
        problem = _schema_out_of_date()
        if problem:
            pytest.fail(f"harness: {problem}; the processes would run code the schema does not fit. Run again.")
        stack = h.Stack(scenario, connection.settings_dict)
        stacks.append(stack)
        stack.start_services()
        _point_celery_at(stack.redis.url, {})
        world = h.make_world(stack.outside.url)
        stack.start_processes()
        return stack, world

    yield start
    for stack in stacks:
        stack.stop()
    _point_celery_at(*original)


# ---------------------------------------------------------------------------------------------- faults


def _in_flight(stack: h.Stack, timeout: float = 30) -> tuple:
    """(request, pool pid): a delivery waiting at the slow outside, sent by a live pool process."""

    def find():
        for request in stack.outside.in_flight():
            pid = pid_with_socket(request.client_port, stack.worker.children())
            if pid:
                return request, pid
        return None

    return wait_until(find, timeout=timeout, interval=0.05,
                      what="a delivery in flight at the slow SMS provider / paging receiver")


def worker_sigkill(stack: h.Stack, client: h.Client):
    """The SMS provider and the paging receiver answer after 2 s. SIGKILL the pool process that is waiting
    for one of them; a few seconds later SIGKILL the whole worker (main process and pool) while another is
    in flight, and start a new worker 3 s later, as a supervisor would."""
    kills = []
    time.sleep(3)
    stack.outside.delay = 2.0
    request, pid = _in_flight(stack)
    stack.kill_pid(pid)
    kills.append(f"pool process {pid} while sending {request.path} "
                 f"(key {request.headers.get('Idempotency-Key', '-')}) at +{time.time() - client.started_at:.1f} s")
    h.make_due()  # escalation steps are due while the worker is being killed
    time.sleep(6)
    request, _ = _in_flight(stack)
    pid = stack.kill_worker()
    kills.append(f"whole worker {pid} while sending {request.path} "
                 f"(key {request.headers.get('Idempotency-Key', '-')}) at +{time.time() - client.started_at:.1f} s")
    time.sleep(3)
    stack.restart_worker()
    stack.outside.delay = 0
    return time.time(), {"kills": kills, "harness_problems": []}


def _redis_answers(url: str) -> str:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "answers"
    except redis.exceptions.TimeoutError:
        return "hangs"
    except redis.exceptions.ConnectionError:
        return "refuses"


def redis_stopped(stack: h.Stack, client: h.Client, seconds: float = 60):
    time.sleep(5)
    stack.redis.stop()
    time.sleep(seconds / 2)
    # The alerts raised so far come due during the outage, as every alert raised in an outage longer than
    # the escalation interval does (those raised in its first seconds do so here anyway: policy 1 minute).
    h.make_due(untold_too=True)
    state = _redis_answers(stack.redis.url)
    time.sleep(seconds / 2)
    stack.redis.start()
    problems = [] if state == "refuses" else [f"Redis {state} in the middle of the outage"]
    return time.time(), {"redis_stopped_s": seconds, "harness_problems": problems}


def redis_hung(stack: h.Stack, client: h.Client, seconds: float = 20):
    time.sleep(5)
    h.make_due()  # escalation steps come due as Redis hangs
    stack.redis.pause()
    time.sleep(seconds / 2)
    state = _redis_answers(stack.redis.url)
    time.sleep(seconds / 2)
    stack.redis.resume()
    problems = [] if state == "hangs" else [f"Redis {state} in the middle of the hang"]
    return time.time(), {"redis_sigstop_s": seconds, "harness_problems": problems}


def _terminate_backends(own_pid: int) -> list[str]:
    """pg_terminate_backend every client connection to the test database except this process's own."""
    name = connection.settings_dict["NAME"]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid, coalesce(application_name, ''), coalesce(state, '') FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s AND backend_type = 'client backend'", (name, own_pid)).fetchall()
        for pid, _, _ in rows:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return [f"{pid}:{state}" for pid, _, state in rows]


def pg_terminate(stack: h.Stack, client: h.Client):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own = cursor.fetchone()[0]
    rounds = []
    for at in (5, 12, 19):
        time.sleep(max(0.0, client.started_at + at - time.time()))
        rounds.append(_terminate_backends(own))
        if at == 12:
            h.make_due()  # escalation steps come due between the disconnects
    problems = [f"round {n + 1} found no connection to terminate" for n, r in enumerate(rounds) if not r]
    return time.time(), {"terminated": [len(r) for r in rounds], "states": rounds, "harness_problems": problems}


def second_beat(stack: h.Stack, client: h.Client):
    time.sleep(2)
    stack.add_beat()
    time.sleep(max(0.0, client.started_at + 8 - time.time()))
    h.make_due()  # escalation steps under two beats
    time.sleep(max(0.0, client.started_at + 20 - time.time()))
    sending = [b.log_path.read_text().count("Sending due task") for b in stack.beats]
    problems = [f"beat {n + 1} sent no task" for n, count in enumerate(sending) if not count]
    return time.time(), {"beats": len(stack.beats), "tasks_sent_by_each_beat": sending, "harness_problems": problems}


# ---------------------------------------------------------------------------------------------- scenarios


def _check(result, chaos_results) -> None:
    chaos_results(result)
    assert not result.failures, f"{result.line()}\n  - " + "\n  - ".join(result.failures)


def test_a_worker_killed_twice_mid_delivery(chaos, chaos_results):
    stack, world = chaos("a-worker-sigkill")
    _check(h.run(stack, world, scenario="a-worker-sigkill", load_seconds=25, fault=worker_sigkill), chaos_results)


def test_b1_redis_stopped_for_60_s(chaos, chaos_results):
    stack, world = chaos("b1-redis-stopped-60s")
    _check(h.run(stack, world, scenario="b1-redis-stopped-60s", load_seconds=75, fault=redis_stopped), chaos_results)


def test_b2_redis_hung_for_20_s(chaos, chaos_results):
    stack, world = chaos("b2-redis-hung-20s")
    _check(h.run(stack, world, scenario="b2-redis-hung-20s", load_seconds=30, fault=redis_hung), chaos_results)


def test_c_database_connections_terminated_three_times(chaos, chaos_results):
    stack, world = chaos("c-pg-terminate")
    _check(h.run(stack, world, scenario="c-pg-terminate", load_seconds=25, fault=pg_terminate), chaos_results)


def test_d_two_beats_at_once(chaos, chaos_results):
    stack, world = chaos("d-two-beats")
    _check(h.run(stack, world, scenario="d-two-beats", load_seconds=25, fault=second_beat), chaos_results)
