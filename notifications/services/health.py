"""Queue health: is the tracker telling people what it should, when it should?

`queue_health()` runs every check and answers in a fixed number of queries whatever the data size (eight with
the database up; none of the checks reads patient data, and the report carries counts, ages and task names
only). `manage.py queue_health`, the admin's queue-health page and `GET /health/` all show it.

Each check is a dict: `ok` (True, False for a problem, None when it could not be measured because the
database is down), a plain-language `message`, and the numbers behind it. Thresholds are operational
settings (`HEALTH_*`), the same for every center.

The scans and the worker heartbeat record their last success and last failure in `TaskHeartbeat`
(`task_recorded`), so a scan that keeps failing, a worker that cannot reach the database or the broker, or no
worker at all shows as a row that stops moving.
"""

import datetime as dt
import functools
import logging
import os
import socket

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from monitoring.models import Alert, AlertStatus, StreamGrading
from notifications.beat_schedule import HEARTBEAT_TASK, SCHEDULE
from notifications.models import Notification, NotificationStatus, TaskHeartbeat
from notifications.services.alerts import alerts_missing_notifications
from notifications.services.sweep import stuck_notifications

logger = logging.getLogger(__name__)

CHECKS = ("database", "broker", "beat", "worker", "scans", "overdue_escalations", "stuck_notifications",
          "failed_notifications", "alerts_without_notification", "readings_grading")
DB_CHECKS = CHECKS[2:]  # measured in the database; not measured when it cannot be reached
WORKER_PING = "worker_ping"  # only when asked for a node (the worker container's health check)
BROKER_TIMEOUT_SECONDS = 1
# django-celery-beat writes the time it last sent each task to the database every 3 minutes
# (celery.beat.Scheduler.sync_every); the beat check allows for that on top of the heartbeat's staleness.
BEAT_SYNC_SECONDS = 180
TASK_INTERVALS = {task: seconds for task, seconds in SCHEDULE.values()}
TASK_TITLES = {task: title for title, (task, _seconds) in SCHEDULE.items()}
SWEEP_TASK = "notifications.tasks.outbox_sweep_task"


# Recording ----------------------------------------------------------------------------------------------


def heartbeat_record(task: str, *, error: BaseException | None = None, now: dt.datetime | None = None) -> None:
    """Record a completion (or, with `error`, a failure and its exception class) of `task`: one upsert."""
    now = now or timezone.now()
    row = TaskHeartbeat(task=task, hostname=socket.gethostname()[:200])
    if error is None:
        row.last_success_at, fields = now, ["last_success_at", "hostname"]
    else:
        row.last_failure_at, row.last_error = now, f"{type(error).__module__}.{type(error).__qualname__}"[:200]
        fields = ["last_failure_at", "last_error", "hostname"]
    TaskHeartbeat.objects.bulk_create([row], update_conflicts=True, unique_fields=["task"], update_fields=fields)


def task_recorded(fn):
    """Decorate a periodic task's function (under `@shared_task`) so each run records its success or
    failure. A failure is re-raised; not being able to record (the database is down) is logged."""
    task = f"{fn.__module__}.{fn.__name__}"

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            _record_quietly(task, error=exc)
            raise
        _record_quietly(task)
        return result

    return run


def _record_quietly(task: str, *, error: BaseException | None = None) -> None:
    try:
        heartbeat_record(task, error=error)
    except DatabaseError as exc:
        logger.warning("Could not record the %s of %s: %s", "failure" if error else "completion", task,
                       type(exc).__name__)


# Checks -------------------------------------------------------------------------------------------------


def queue_health(now: dt.datetime | None = None, *, only=None, ping_worker: str | None = None) -> dict:
    """Every check (or those named in `only`), plus `worker_ping` when `ping_worker` names a Celery node.
    Returns {"status": "ok" | "unhealthy", "problems": [check names], "checks": {name: check}}."""
    now = now or timezone.now()
    wanted = [name for name in CHECKS if only is None or name in only]
    checks = {}
    db_checks = [name for name in DB_CHECKS if name in wanted]
    if "database" in wanted or db_checks:
        checks["database"] = _database()
    if "broker" in wanted:
        checks["broker"] = _broker()
    if ping_worker:
        checks[WORKER_PING] = _worker_ping(ping_worker)
    if db_checks and not checks["database"]["ok"]:
        for name in db_checks:
            checks[name] = _check(None, "Not measured: the database cannot be reached.")
    elif db_checks:
        checks.update(_from_database(now, db_checks))
    if "database" not in wanted:
        checks.pop("database", None)
    problems = [name for name, check in checks.items() if check["ok"] is False]
    return {"status": "unhealthy" if problems else "ok", "checked_at": now.isoformat(), "problems": problems,
            "checks": checks}


def _check(ok: bool | None, message: str, **numbers) -> dict:
    return {"ok": ok, "message": message, **numbers}


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return _check(False, f"The database cannot be reached ({type(exc).__name__}).")
    return _check(True, "The database answers.")


def _broker() -> dict:
    """Connect to the broker (at most BROKER_TIMEOUT_SECONDS); the quick start's filesystem broker is a
    folder this process must be able to write to."""
    url = settings.CELERY_BROKER_URL
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    if url.startswith("filesystem://"):
        folders = sorted({options.get("data_folder_in", ""), options.get("data_folder_out", "")} - {""})
        unusable = [f for f in folders if not (os.path.isdir(f) and os.access(f, os.W_OK))]
        if unusable:
            return _check(False, "The filesystem broker's folder is missing or not writable: " + ", ".join(unusable))
        return _check(True, "The filesystem broker's folder is writable.")
    from kombu import Connection

    timeout = BROKER_TIMEOUT_SECONDS
    try:
        with Connection(url, connect_timeout=timeout,
                        transport_options={**options, "socket_connect_timeout": timeout, "socket_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 (whatever the transport raises, the broker is not usable)
        return _check(False, f"The broker cannot be reached ({type(exc).__name__}).")
    return _check(True, "The broker answers.")


def _worker_ping(node: str) -> dict:
    from celery import current_app

    try:
        replies = current_app.control.ping(destination=[node], timeout=BROKER_TIMEOUT_SECONDS * 2)
    except Exception as exc:  # noqa: BLE001
        return _check(False, f"Could not ping worker {node} ({type(exc).__name__}).")
    if any(node in reply for reply in replies or []):
        return _check(True, f"Worker {node} answers.")
    return _check(False, f"Worker {node} does not answer a ping: it is not running, hung, or cannot reach the broker.")


def _from_database(now: dt.datetime, wanted: list[str]) -> dict:
    """The database checks, one query each (at most seven)."""
    checks = {}
    try:
        if "beat" in wanted:
            checks["beat"] = _beat(now)
        if "worker" in wanted or "scans" in wanted:
            beats = {row.task: row for row in TaskHeartbeat.objects.filter(task__in=TASK_INTERVALS)}
            if "worker" in wanted:
                checks["worker"] = _worker(now, beats.get(HEARTBEAT_TASK))
            if "scans" in wanted:
                checks["scans"] = _scans(now, beats)
        if "overdue_escalations" in wanted:
            checks["overdue_escalations"] = _overdue_escalations(now)
        if "stuck_notifications" in wanted or "failed_notifications" in wanted:
            checks.update(_notifications(now, wanted))
        if "alerts_without_notification" in wanted:
            checks["alerts_without_notification"] = _alerts_without_notification(now)
        if "readings_grading" in wanted:
            checks["readings_grading"] = _readings_grading(now)
    except DatabaseError as exc:
        message = f"Not measured: a query failed ({type(exc).__name__})."
        return {name: checks.get(name) or _check(False, message) for name in wanted}
    return {name: checks[name] for name in wanted}


def _beat(now: dt.datetime) -> dict:
    from django_celery_beat.models import PeriodicTask

    stale_after = settings.HEALTH_WORKER_STALE_SECONDS + BEAT_SYNC_SECONDS
    found = PeriodicTask.objects.filter(task__in=TASK_INTERVALS, enabled=True).aggregate(
        ran=Max("last_run_at"), written=Max("date_changed"))
    since = found["ran"] or found["written"]
    if since is None:
        return _check(False, "No periodic task is scheduled and enabled: run `manage.py sync_schedule`.",
                      stale_after_seconds=stale_after)
    age = _seconds(now - since)
    numbers = {"age_seconds": age, "stale_after_seconds": stale_after}
    if age > stale_after:
        what = "sent a periodic task" if found["ran"] else "sent any periodic task since the schedule was written"
        return _check(False, f"Beat has not {what} for {_duration(age)}: beat is not running or cannot reach the "
                             "database, so no scan starts.", **numbers)
    if not found["ran"]:
        return _check(True, f"Beat has not sent a periodic task yet; the schedule was written {_duration(age)} ago.",
                      **numbers)
    return _check(True, f"Beat sent a periodic task {_duration(age)} ago.", **numbers)


def _since(row: TaskHeartbeat | None) -> dt.datetime | None:
    """A task's last success; one that never completed is measured from when it was scheduled."""
    if row is None:
        return None
    return row.last_success_at or row.created_at


def _worker(now: dt.datetime, row: TaskHeartbeat | None) -> dict:
    stale_after = settings.HEALTH_WORKER_STALE_SECONDS
    since = _since(row)
    if row is None or since is None:
        return _check(False, "No worker heartbeat has ever been recorded: run `manage.py sync_schedule` and start "
                             "a worker.",
                      stale_after_seconds=stale_after)
    age = _seconds(now - since)
    numbers = {"age_seconds": age, "stale_after_seconds": stale_after, "hostname": row.hostname}
    if age > stale_after:
        what = "recorded its heartbeat" if row.last_success_at else "recorded a heartbeat since the schedule was set up"
        failed = f" (last failure: {_short(row.last_error)})" if row.last_error and _failed_last(row) else ""
        return _check(False, f"No worker has {what} for {_duration(age)}{failed}: no worker is running, or it "
                             "cannot reach the database or the broker (or beat is not sending it).", **numbers)
    if not row.last_success_at:
        return _check(True, f"No worker heartbeat yet; the schedule was set up {_duration(age)} ago.", **numbers)
    return _check(True, f"A worker recorded its heartbeat {_duration(age)} ago.", **numbers)


def _scans(now: dt.datetime, beats: dict) -> dict:
    factor = settings.HEALTH_SCAN_STALE_INTERVALS
    scans, stale, lines = {}, [], []
    for task, every in TASK_INTERVALS.items():
        if task == HEARTBEAT_TASK:
            continue
        row, short, stale_after = beats.get(task), task.rsplit(".", 1)[-1], factor * every
        last = row.last_success_at if row else None
        failing = _short(row.last_error) if row and _failed_last(row) else ""
        scans[short] = {"last_success_seconds_ago": _seconds(now - last) if last else None,
                        "stale_after_seconds": stale_after, "last_error": failing}
        since = _since(row)
        if since is None or _seconds(now - since) > stale_after:
            stale.append(short)
            when = f"has not completed for {_duration(_seconds(now - last))}" if last else "has never completed"
            lines.append(f"{TASK_TITLES[task]} {when} (runs every {_duration(every)}"
                         + (f"; failing with {failing}" if failing else "") + ")")
    if stale:
        return _check(False, "; ".join(lines) + ".", stale=stale, scans=scans)
    return _check(True, "Every scan completed within its expected interval.", stale=[], scans=scans)


def _failed_last(row: TaskHeartbeat) -> bool:
    return row.last_failure_at is not None and (row.last_success_at is None or row.last_failure_at > row.last_success_at)


def _short(error: str) -> str:
    return error.rsplit(".", 1)[-1]


def _overdue_escalations(now: dt.datetime) -> dict:
    grace = settings.HEALTH_ALERT_GRACE_SECONDS
    found = Alert.objects.filter(status=AlertStatus.OPEN, next_escalation_at__lt=now - dt.timedelta(seconds=grace)) \
        .aggregate(count=Count("pk"), oldest=Min("next_escalation_at"))
    count = found["count"]
    if not count:
        return _check(True, "No alert is overdue for escalation.", count=0, grace_seconds=grace)
    late = _seconds(now - found["oldest"])
    return _check(False, f"{_plural(count, 'alert is', 'alerts are')} overdue for escalation by up to "
                         f"{_duration(late)}: the escalation scan is not running or failing.",
                  count=count, oldest_overdue_seconds=late, grace_seconds=grace)


def _notifications(now: dt.datetime, wanted: list[str]) -> dict:
    day_ago = now - dt.timedelta(hours=24)
    counts = Notification.objects.filter(
        Q(status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING])
        | Q(status=NotificationStatus.FAILED, created_at__gte=day_ago),
    ).aggregate(
        pending=Count("pk", filter=Q(status=NotificationStatus.PENDING)),
        sending=Count("pk", filter=Q(status=NotificationStatus.SENDING)),
        failed=Count("pk", filter=Q(status=NotificationStatus.FAILED)),
    )
    checks = {}
    if "stuck_notifications" in wanted:
        stuck = stuck_notifications(now).aggregate(count=Count("pk"), oldest=Min("next_attempt_at"))
        numbers = {"count": stuck["count"], "pending": counts["pending"], "sending": counts["sending"]}
        if stuck["count"]:
            waiting = _seconds(now - stuck["oldest"])
            checks["stuck_notifications"] = _check(
                False, f"{_plural(stuck['count'], 'notification is', 'notifications are')} due but not moving "
                       f"(waiting up to {_duration(waiting)}); the outbox sweep re-sends them every "
                       f"{_duration(TASK_INTERVALS[SWEEP_TASK])}, so rows that stay here mean the worker or the "
                       "broker is not working.",
                oldest_waiting_seconds=waiting, **numbers)
        else:
            checks["stuck_notifications"] = _check(
                True, f"No notification is stuck ({counts['pending']} pending, {counts['sending']} sending).", **numbers)
    if "failed_notifications" in wanted:
        failed = counts["failed"]
        checks["failed_notifications"] = _check(
            not failed,
            f"{_plural(failed, 'notification', 'notifications')} failed in the last 24 hours and need a person "
            "(admin: Notifications, filter by status)." if failed else "No notification failed in the last 24 hours.",
            count=failed)
    return checks


def _alerts_without_notification(now: dt.datetime) -> dict:
    """Alerts whose current step has no notification. For a few seconds after a check-in that is normal (the
    worker writes the rows); longer than the grace, the fast path was lost and the sweep has not caught up."""
    grace = settings.HEALTH_ALERT_GRACE_SECONDS
    found = alerts_missing_notifications(now).aggregate(
        count=Count("pk"), late=Count("pk", filter=Q(updated_at__lt=now - dt.timedelta(seconds=grace))))
    numbers = {"count": found["count"], "late": found["late"], "grace_seconds": grace}
    if found["late"]:
        return _check(False, f"{_plural(found['late'], 'open alert has', 'open alerts have')} had nobody told for "
                             f"more than {_duration(grace)}: the outbox sweep is not running or failing.", **numbers)
    if found["count"]:
        return _check(True, f"{_plural(found['count'], 'alert is', 'alerts are')} being notified now.", **numbers)
    return _check(True, "Every open alert's current step has its notifications.", **numbers)


def _readings_grading(now: dt.datetime) -> dict:
    """Device readings waiting for grading (clinical-rules §10): how many patients, and since when the oldest.
    Readings past a limit are graded ahead of the rest (the default queue); the ordinary ones wait on the
    `readings` queue, which a heavy ingest or too few workers can leave behind."""
    limit = settings.HEALTH_READINGS_GRADING_SECONDS
    found = StreamGrading.objects.filter(pending_since__isnull=False).aggregate(
        waiting=Count("pk"), oldest=Min("waiting_since"))
    age = _seconds(now - found["oldest"]) if found["oldest"] else 0
    numbers = {"waiting": found["waiting"], "oldest_seconds": age, "limit_seconds": limit}
    if age > limit:
        return _check(False, f"Device readings of {_plural(found['waiting'], 'patient', 'patients')} wait for "
                             f"grading, the oldest for {_duration(age)}: the workers are not keeping up with the "
                             "readings, or none takes from the `readings` queue.", **numbers)
    if found["waiting"]:
        return _check(True, f"Device readings of {_plural(found['waiting'], 'patient', 'patients')} are being "
                            f"graded (the oldest asked {_duration(age)} ago).", **numbers)
    return _check(True, "No device readings wait for grading.", **numbers)


def _seconds(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds()))


def _duration(seconds: int) -> str:
    """6 min 19 s, 2 h 5 min, 45 s."""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds // 60, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"
