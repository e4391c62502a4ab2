"""Queue health: each check failing and passing (database, broker, beat, worker heartbeat, scans, overdue
escalations, stuck and failed notifications, alerts nobody was told about), the scans and the heartbeat
recording themselves, the fault-injection run that `queue_health` used to call healthy, `GET /health/` and
`/health/ready/` (200/503, no patient data, messages only with the token), the command's exit code, and a
fixed number of queries whatever the data size."""


import datetime as dt
import json

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django_celery_beat.models import PeriodicTask

from monitoring.models import Alert
from notifications import tasks
from notifications.beat_schedule import HEARTBEAT_TASK, SCHEDULE
from notifications.models import TaskHeartbeat
from notifications.services import health
from notifications.services.health import CHECKS, heartbeat_record, queue_health
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    log_complete_checkin,
    make_notification,
    new_patient,
    now_s,
    post_checkin,
)

ESCALATIONS = "notifications.tasks.alerts_escalate_due_task"
EVERY = {task: seconds for task, seconds in SCHEDULE.values()}


@pytest.fixture
def now():
    moment = now_s()
    with time_machine.travel(moment, tick=False):
        yield moment


@pytest.fixture
def broker_folder(settings, tmp_path):
    """The quick start's filesystem broker in a folder of the test's own (no Redis needed)."""
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    return tmp_path


@pytest.fixture
def healthy(db, now, broker_folder):
    """Every periodic task sent by beat and completed just now."""
    for task in EVERY:
        heartbeat_record(task, now=now)
    PeriodicTask.objects.filter(task__in=EVERY).update(last_run_at=now)
    return now


def travel(moment):
    return time_machine.travel(moment, tick=False)


def open_alerts(team, n: int, *, next_escalation_at: dt.datetime) -> list[Alert]:
    """n open emergency alerts of one patient (one per condition), due to escalate at `next_escalation_at`."""
    patient = new_patient(team)
    checkin = log_complete_checkin(patient)
    return [Alert.objects.create(
        patient=patient, condition=f"condition-{i}", urgency=4, grading_system="ASTCT", title="Possible CRS",
        rationale="test", patient_instruction="test", first_checkin=checkin, last_checkin=checkin,
        next_escalation_at=next_escalation_at) for i in range(n)]


def problems(**kwargs) -> list[str]:
    return queue_health(**kwargs)["problems"]


# --- All well, and the shape ---------------------------------------------------------------------------------

def test_all_well_every_check_passes(healthy):
    report = queue_health()
    assert report["status"] == "ok" and report["problems"] == []
    assert list(report["checks"]) == list(CHECKS)
    for name, check in report["checks"].items():
        assert check["ok"] is True, (name, check)
        assert check["message"]


def test_the_health_check_costs_the_same_queries_for_an_empty_and_a_busy_tracker(
        healthy, team_a, nurse, django_assert_num_queries, settings):
    with django_assert_num_queries(8):
        queue_health()
    overdue = healthy - dt.timedelta(seconds=settings.HEALTH_ALERT_GRACE_SECONDS + 60)
    open_alerts(team_a, 12, next_escalation_at=overdue)
    for minutes in range(12):
        make_notification(recipient=nurse, next_attempt_at=healthy - dt.timedelta(minutes=minutes))
        make_notification(recipient=nurse, status="failed")
        make_notification(recipient=nurse, status="sending", claimed_at=healthy - dt.timedelta(hours=1))
    TaskHeartbeat.objects.update(last_success_at=healthy - dt.timedelta(hours=3))
    with django_assert_num_queries(8):
        report = queue_health()
    assert set(report["problems"]) == {"worker", "scans", "overdue_escalations", "stuck_notifications",
                                       "failed_notifications"}
    with django_assert_num_queries(1):
        assert queue_health(only=["database"])["status"] == "ok"


# --- Database and broker ---------------------------------------------------------------------------------------

def test_database_unreachable_is_a_problem_and_nothing_else_is_guessed(healthy):
    from unittest import mock

    from django.db import connection

    def refused():
        raise OperationalError("connection to server at 127.0.0.1 failed")

    with mock.patch.object(connection, "cursor", refused):
        report = queue_health()
    assert report["problems"] == ["database"]
    assert "cannot be reached (OperationalError)" in report["checks"]["database"]["message"]
    for name in health.DB_CHECKS:
        assert report["checks"][name]["ok"] is None
        assert report["checks"][name]["message"].startswith("Not measured")


def test_broker_that_refuses_connections_is_a_problem(healthy, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    report = queue_health(only=["broker"])
    assert report["problems"] == ["broker"]
    assert report["checks"]["broker"]["message"] == "The broker cannot be reached (OperationalError)."


def test_reachable_redis_broker_passes(db, settings):
    """Against a real Redis (a private server on a free port; in CI a missing redis-server fails the test)."""
    from tests.services import RedisServer

    server = RedisServer()
    server.start()
    try:
        settings.CELERY_BROKER_URL = server.url
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
        assert queue_health(only=["broker"])["checks"]["broker"]["ok"] is True
    finally:
        server.stop()


def test_filesystem_broker_folder_missing_is_a_problem(healthy, broker_folder, settings):
    missing = broker_folder / "gone"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(missing), "data_folder_out": str(missing)}
    report = queue_health(only=["broker"])
    assert report["problems"] == ["broker"]
    assert str(missing) in report["checks"]["broker"]["message"]


# --- Beat, worker heartbeat, scans ---------------------------------------------------------------------------

def test_beat_that_stopped_sending_is_a_problem(healthy, settings):
    stale = settings.HEALTH_WORKER_STALE_SECONDS + health.BEAT_SYNC_SECONDS
    with travel(healthy + dt.timedelta(seconds=stale)):
        assert "beat" not in problems()
    with travel(healthy + dt.timedelta(seconds=stale + 1)):
        report = queue_health()
    assert "beat" in report["problems"]
    assert "beat is not running or cannot reach the database" in report["checks"]["beat"]["message"]


def test_beat_with_no_schedule_is_a_problem(healthy):
    PeriodicTask.objects.filter(task__in=EVERY).update(enabled=False)
    report = queue_health()
    assert "beat" in report["problems"]
    assert "sync_schedule" in report["checks"]["beat"]["message"]


def test_the_heartbeat_task_records_the_worker_and_a_stale_one_is_a_problem(healthy, settings):
    TaskHeartbeat.objects.filter(task=HEARTBEAT_TASK).delete()
    report = queue_health()
    assert "worker" in report["problems"]
    assert "No worker heartbeat has ever been recorded" in report["checks"]["worker"]["message"]

    tasks.worker_heartbeat_task.apply()
    row = TaskHeartbeat.objects.get(task=HEARTBEAT_TASK)
    assert row.last_success_at == healthy and row.hostname
    assert queue_health()["checks"]["worker"]["ok"] is True

    stale = settings.HEALTH_WORKER_STALE_SECONDS
    with travel(healthy + dt.timedelta(seconds=stale)):
        assert "worker" not in problems()
    with travel(healthy + dt.timedelta(seconds=stale + 1)):
        check = queue_health()["checks"]["worker"]
    assert check["ok"] is False and check["age_seconds"] == stale + 1
    assert "cannot reach the database or the broker" in check["message"]


def test_a_task_that_never_completed_is_measured_from_when_it_was_scheduled(db, now, broker_folder, settings):
    """A fresh deployment: the migration (and sync_schedule) gave every task its row; nothing ran yet."""
    TaskHeartbeat.objects.all().delete()
    call_command("sync_schedule")
    PeriodicTask.objects.filter(task__in=EVERY).update(last_run_at=now)
    assert set(TaskHeartbeat.objects.values_list("task", flat=True)) == set(EVERY)
    assert problems() == []
    with travel(now + dt.timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS + 1)):
        report = queue_health()
    assert "worker" in report["problems"] and "scans" in report["problems"]
    assert "Escalate unacknowledged alerts has never completed" in report["checks"]["scans"]["message"]


def test_a_failing_scan_records_its_error_class_and_goes_stale_after_its_intervals(healthy, settings, monkeypatch):
    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks.alerts, "alerts_escalate_due", database_gone)
    stale = settings.HEALTH_SCAN_STALE_INTERVALS * EVERY[ESCALATIONS]
    for seconds in range(30, stale + 1, 30):
        with travel(healthy + dt.timedelta(seconds=seconds)), pytest.raises(OperationalError):
            tasks.alerts_escalate_due_task()
    row = TaskHeartbeat.objects.get(task=ESCALATIONS)
    assert row.last_success_at == healthy
    assert row.last_error == "django.db.utils.OperationalError"

    with travel(healthy + dt.timedelta(seconds=stale)):
        check = queue_health(only=["scans"])["checks"]["scans"]
    assert "alerts_escalate_due_task" not in check["stale"]
    assert check["scans"]["alerts_escalate_due_task"]["last_error"] == "OperationalError"  # failing, not stale yet
    with travel(healthy + dt.timedelta(seconds=stale + 1)):
        check = queue_health(only=["scans"])["checks"]["scans"]
    assert check["ok"] is False and "alerts_escalate_due_task" in check["stale"]
    assert (f"Escalate unacknowledged alerts has not completed for {health._duration(stale + 1)} "
            "(runs every 30 s; failing with OperationalError)") in check["message"]

    monkeypatch.undo()
    with travel(healthy + dt.timedelta(seconds=stale + 30)):
        assert tasks.alerts_escalate_due_task() == 0
        check = queue_health(only=["scans"])["checks"]["scans"]
    assert "alerts_escalate_due_task" not in check["stale"] and check["scans"]["alerts_escalate_due_task"]["last_error"] == ""


def test_each_scan_task_records_its_success(healthy):
    later = healthy + dt.timedelta(minutes=1)
    with travel(later):
        tasks.alerts_escalate_due_task()
        tasks.reminders_advance_due_task()
        tasks.digests_send_due_task()
        tasks.window_ends_notify_task()
        tasks.outbox_sweep_task()
        tasks.idempotency_purge_task()
        tasks.device_silence_scan_task()
        tasks.readings_grade_missed_task()
        tasks.reading_partitions_maintain_task()
    recorded = dict(TaskHeartbeat.objects.values_list("task", "last_success_at"))
    assert {task for task, at in recorded.items() if at == later} == set(EVERY) - {HEARTBEAT_TASK}


def test_recording_needs_no_database_to_let_the_scan_fail_with_its_own_error(healthy, monkeypatch, caplog):
    def scan_fails(**kwargs):
        raise ValueError("a bug in the scan")

    def database_gone(*args, **kwargs):
        raise OperationalError("could not connect")

    monkeypatch.setattr(tasks.digest, "digests_send_due", scan_fails)
    monkeypatch.setattr(health, "heartbeat_record", database_gone)
    with pytest.raises(ValueError, match="a bug in the scan"):
        tasks.digests_send_due_task()
    assert "Could not record the failure of notifications.tasks.digests_send_due_task" in caplog.text


# --- Overdue escalations, the fault-injection run --------------------------------------------------------------

def test_overdue_escalations_beyond_the_grace_are_a_problem(healthy, team_a, settings):
    grace = settings.HEALTH_ALERT_GRACE_SECONDS
    [alert] = open_alerts(team_a, 1, next_escalation_at=healthy - dt.timedelta(seconds=grace))
    assert queue_health()["checks"]["overdue_escalations"]["ok"] is True  # the scan runs every 30 s
    alert.next_escalation_at = healthy - dt.timedelta(seconds=grace + 1)
    alert.save()
    check = queue_health()["checks"]["overdue_escalations"]
    assert (check["ok"], check["count"], check["oldest_overdue_seconds"]) == (False, 1, grace + 1)
    alert.status, alert.acknowledged_at = "acknowledged", healthy
    alert.save()
    assert queue_health()["checks"]["overdue_escalations"]["ok"] is True


def test_the_fault_injection_run_is_unhealthy(healthy, team_a, monkeypatch, capsys):
    """A PostgreSQL restart wedged the worker: every scan failed for 8.7 minutes while the process stayed up,
    and 18 alerts were overdue by up to 6 min 19 s. queue_health used to call that healthy."""
    def database_gone(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(tasks.alerts, "alerts_escalate_due", database_gone)
    due = healthy + dt.timedelta(seconds=30)
    open_alerts(team_a, 18, next_escalation_at=due)
    checked = due + dt.timedelta(minutes=6, seconds=19)
    moment = healthy
    while moment + dt.timedelta(seconds=30) <= checked:
        moment += dt.timedelta(seconds=30)
        with travel(moment), pytest.raises(OperationalError):
            tasks.alerts_escalate_due_task()
    with travel(checked):
        report = queue_health()
        with pytest.raises(SystemExit) as exc:
            call_command("queue_health", "--fail-on-problem")
    assert exc.value.code == 1
    assert {"worker", "scans", "overdue_escalations"} <= set(report["problems"])
    overdue = report["checks"]["overdue_escalations"]
    assert overdue["count"] == 18
    assert "18 alerts are overdue for escalation by up to 6 min 19 s" in overdue["message"]
    err = capsys.readouterr().err
    assert "Problem: overdue_escalations: 18 alerts are overdue" in err
    assert "Problem: scans: " in err and "Escalate unacknowledged alerts has not completed for 6 min" in err
    assert "OperationalError" in err


# --- Notifications and unnotified alerts -----------------------------------------------------------------------

def test_stuck_notifications_are_a_problem(healthy, nurse):
    make_notification(recipient=nurse)  # due now: its task is on the way
    check = queue_health()["checks"]["stuck_notifications"]
    assert (check["ok"], check["pending"], check["count"]) == (True, 1, 0)
    make_notification(recipient=nurse, next_attempt_at=healthy - dt.timedelta(minutes=6))
    check = queue_health()["checks"]["stuck_notifications"]
    assert (check["ok"], check["count"], check["oldest_waiting_seconds"]) == (False, 1, 360)
    assert "1 notification is due but not moving (waiting up to 6 min)" in check["message"]


def test_failed_notifications_of_the_last_day_are_a_problem(healthy, nurse):
    make_notification(recipient=nurse, status="failed", created_at=healthy - dt.timedelta(days=2))
    assert queue_health()["checks"]["failed_notifications"]["ok"] is True
    make_notification(recipient=nurse, status="failed", last_error="HTTP 400")
    check = queue_health()["checks"]["failed_notifications"]
    assert (check["ok"], check["count"]) == (False, 1)
    assert "need a person" in check["message"]


def test_an_alert_nobody_was_told_about_is_a_problem_after_the_grace(healthy, as_user, patient, settings):
    post_checkin(as_user(patient.user), **FEVER_AND_DIZZY)  # the after-commit enqueue never ran
    check = queue_health()["checks"]["alerts_without_notification"]
    assert (check["ok"], check["count"], check["late"]) == (True, 1, 0)  # the worker is writing its rows
    with travel(healthy + dt.timedelta(seconds=settings.HEALTH_ALERT_GRACE_SECONDS + 1)):
        check = queue_health()["checks"]["alerts_without_notification"]
    assert (check["ok"], check["late"]) == (False, 1)
    assert "1 open alert has had nobody told" in check["message"]


def test_device_readings_waiting_too_long_for_grading_are_a_problem(healthy, team_a, settings):
    """The marker remembers when grading was first asked for while the readings wait: a steady stream that keeps
    asking does not hide a backlog, and grading clears it."""
    from monitoring.services.stream_grading import readings_grade, readings_request_grading

    patient = new_patient(team_a)
    measured = healthy - dt.timedelta(minutes=2)
    readings_request_grading(patients={patient.pk: measured}, now=healthy)
    check = queue_health()["checks"]["readings_grading"]
    assert (check["ok"], check["waiting"], check["oldest_seconds"]) == (True, 1, 0)
    later = healthy + dt.timedelta(seconds=settings.HEALTH_READINGS_GRADING_SECONDS + 30)
    with travel(later):
        readings_request_grading(patients={patient.pk: measured + dt.timedelta(minutes=1)}, now=later)  # asks again
        check = queue_health()["checks"]["readings_grading"]
        assert (check["ok"], check["waiting"]) == (False, 1)
        assert "Device readings of 1 patient wait for grading" in check["message"]
        readings_grade(patient_id=patient.pk, since=measured, now=later)
        check = queue_health()["checks"]["readings_grading"]
    assert (check["ok"], check["waiting"], check["message"]) == (True, 0, "No device readings wait for grading.")


# --- HTTP ------------------------------------------------------------------------------------------------------

def test_http_health_answers_200_when_all_is_well_without_sign_in(healthy):
    response = Client().get("/health/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body == {"status": "ok", "problems": [], "checks": {name: {"ok": True} for name in CHECKS}}


def test_http_health_answers_503_naming_the_problems_with_counts_only_for_the_token(healthy, team_a, settings):
    alerts = open_alerts(team_a, 2, next_escalation_at=healthy - dt.timedelta(minutes=10))
    patient = alerts[0].patient
    TaskHeartbeat.objects.filter(task=HEARTBEAT_TASK).update(last_success_at=healthy - dt.timedelta(minutes=9))
    response = Client().get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["problems"] == ["worker", "overdue_escalations"]
    assert body["checks"]["worker"] == {"ok": False}  # no messages, counts or host names without the token

    settings.HEALTH_TOKEN = "monitor-secret"
    assert Client().get("/health/", HTTP_AUTHORIZATION="Bearer wrong").json() == body
    detailed = Client().get("/health/", HTTP_AUTHORIZATION="Bearer monitor-secret")
    assert detailed.status_code == 503
    checks = detailed.json()["checks"]
    assert checks["overdue_escalations"]["count"] == 2
    assert "2 alerts are overdue for escalation by up to 10 min" in checks["overdue_escalations"]["message"]
    text = detailed.content.decode()
    for private in (patient.first_name, patient.last_name, patient.mrn, str(patient.uuid), "Possible CRS"):
        assert private not in text


def test_http_ready_is_the_database_only_and_ping_stays_plain(healthy, monkeypatch):
    TaskHeartbeat.objects.all().delete()  # the worker is gone: not the web process's problem
    assert Client().get("/health/").status_code == 503
    ready = Client().get("/health/ready/")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "problems": [], "checks": {"database": {"ok": True}}}
    assert Client().get("/api/v1/ping/").json() == {"status": "ok"}
    assert Client().post("/health/").status_code == 405


# --- The command -----------------------------------------------------------------------------------------------

def test_command_passes_when_all_is_well(healthy, capsys):
    call_command("queue_health", "--fail-on-problem")
    out = capsys.readouterr().out
    assert "status: ok" in out
    for name in CHECKS:
        assert name in out


def test_command_checks_only_what_it_is_told_and_pings_the_worker(healthy, monkeypatch, capsys):
    from celery import current_app

    pinged = []

    def ping(destination, timeout):
        pinged.append(destination)
        return [{destination[0]: {"ok": "pong"}}] if destination == ["celery@here"] else []

    monkeypatch.setattr(current_app.control, "ping", ping)
    call_command("queue_health", "--fail-on-problem", "--check", "database", "broker", "--ping-worker", "celery@here",
                 "--json")
    report = json.loads(capsys.readouterr().out)
    assert list(report["checks"]) == ["database", "broker", "worker_ping"] and report["status"] == "ok"
    with pytest.raises(SystemExit) as exc:
        call_command("queue_health", "--fail-on-problem", "--check", "database", "--ping-worker", "celery@gone")
    assert exc.value.code == 1
    assert "Problem: worker_ping: Worker celery@gone does not answer" in capsys.readouterr().err


def test_admin_page_shows_the_same_checks(healthy, admin_user, team_a):
    from tests.notifications.notif_support import signed_in

    open_alerts(team_a, 1, next_escalation_at=healthy - dt.timedelta(minutes=5))
    body = signed_in(admin_user).get("/admin/notifications/notification/health/").content.decode()
    assert "unhealthy: overdue_escalations" in body
    assert "1 alert is overdue for escalation by up to 5 min" in body
    assert "alerts_escalate_due_task" in body
