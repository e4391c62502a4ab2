"""Celery tasks: thin wrappers taking ids and calling services. Beat only triggers the scans; the
database says what is due, so a missed tick or a restarted beat catches up on the next pass.

Each task is named after the service it runs, with `_task` (`outbox_sweep_task` runs `outbox_sweep`).
Services never import this module: they hand work over by task name through
notifications/services/enqueue.py, and this module imports the services."""

import logging

from celery import shared_task

from notifications.services import alerts, delivery, device_silence, digest, reminders, sweep
from notifications.services.delivery import with_db_retry
from notifications.services.health import heartbeat_record, task_recorded

logger = logging.getLogger(__name__)


# No task retries through the broker (countdown messages a worker holds unacknowledged are lost or fatal
# in a broker outage): a lost database connection is ridden out inside the task (with_db_retry), a
# failed delivery waits in its row (`next_attempt_at`) for the outbox sweep.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def notification_deliver_task(self, notification_id: int) -> str:
    return delivery.notification_deliver(notification_id=notification_id, task_id=self.request.id or "")


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def alert_notify_now_task(self, alert_id: int, kind: str) -> None:
    with_db_retry(lambda: alerts.alert_notify_now(alert_id=alert_id, kind=kind, task_id=self.request.id or ""),
                  what=f"notifying alert {alert_id}")


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def alerts_escalate_due_task() -> int:
    return alerts.alerts_escalate_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def reminders_advance_due_task() -> int:
    """Every minute: schedules for patients without one, then the due rows in batches until none is due
    (bounded per tick: reminders.TICK_MAX_ROWS, TICK_MAX_SECONDS). Returns the rows advanced."""
    reminders.reminders_ensure_states()
    return reminders.reminders_advance_due(now=_now()).total()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reminder_reschedule_task(patient_id: int) -> str:
    """After a complete check-in: move the patient's next reminder on (off the web request). If this never
    runs, nothing is lost: the scan looks for a check-in on the expected date before reminding."""
    return with_db_retry(lambda: _reschedule(patient_id), what=f"rescheduling patient {patient_id}")


def _reschedule(patient_id: int) -> str:
    from tracker.models import Patient

    patient = Patient.objects.select_related("center").filter(pk=patient_id).first()
    if patient is None:
        return "no patient"
    state = reminders.reminder_reschedule(patient=patient)
    return "rescheduled" if state else "no active course"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def readings_grade_task(patient_id: int, since_iso: str) -> int:
    """Grade a patient's device readings from `since_iso` on (clinical-rules §10), after a batch was stored.
    Idempotent: a task run twice, or a sweep that got there first, opens nothing twice. Returns the findings."""
    import datetime as dt

    from monitoring.services.stream_grading import readings_grade

    since = dt.datetime.fromisoformat(since_iso)
    return with_db_retry(lambda: readings_grade(patient_id=patient_id, since=since).findings,
                         what=f"grading the readings of patient {patient_id}")


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def readings_grade_missed_task() -> int:
    """Every minute: grade readings no task graded (a lost task or signal). Returns the patients graded."""
    from monitoring.services.stream_grading import readings_grade_missed

    return readings_grade_missed()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def device_silence_scan_task() -> dict:
    """Every minute: streaming devices silent in a risk period (clinical-rules §10), in batches."""
    return device_silence.device_silence_scan()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def digests_send_due_task() -> int:
    return digest.digests_send_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def window_ends_notify_task() -> int:
    return digest.window_ends_notify()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def outbox_sweep_task() -> dict:
    return sweep.outbox_sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def idempotency_purge_task() -> int:
    from tracker.idempotency import idempotency_purge

    return idempotency_purge()


@shared_task(acks_late=True, reject_on_worker_lost=True)
@task_recorded
def reading_partitions_maintain_task() -> dict:
    from tracker.reading_storage import reading_partitions_maintain

    return reading_partitions_maintain()


# Each scan above records its last success and failure (task_recorded). The heartbeat records only that a
# worker took it from the broker and wrote to the database; a late one is dropped, not run twice.
@shared_task(bind=True, expires=60)
def worker_heartbeat_task(self) -> str:
    heartbeat_record(self.name)
    return self.request.hostname or ""


def _now():
    from django.utils import timezone

    return timezone.now()


# Renamed tasks keep their former names for one release, so that messages already queued under them (and
# beat rows not yet renamed by migration 0009) still run: each old name runs the new task's function with
# its options. Remove these in the release after the rename. The worker heartbeat has no alias: its
# messages expire after 60 s.
def _keep_old_name(old_name: str, task, *, bind: bool = False) -> None:
    function = getattr(task.__wrapped__, "__func__", task.__wrapped__)  # a bound task's, unbound
    if bind:
        shared_task(name=old_name, bind=True, acks_late=True, reject_on_worker_lost=True)(function)
    else:
        shared_task(name=old_name, acks_late=True, reject_on_worker_lost=True)(function)


for _old_name, _task, _bind in (
    ("notifications.tasks.deliver_notification", notification_deliver_task, True),
    ("notifications.tasks.notify_alert_changed", alert_notify_now_task, True),
    ("notifications.tasks.scan_escalations", alerts_escalate_due_task, False),
    ("notifications.tasks.scan_reminders", reminders_advance_due_task, False),
    ("notifications.tasks.reschedule_reminders", reminder_reschedule_task, False),
    ("notifications.tasks.scan_digests", digests_send_due_task, False),
    ("notifications.tasks.scan_window_ends", window_ends_notify_task, False),
    ("notifications.tasks.sweep_outbox", outbox_sweep_task, False),
    ("notifications.tasks.purge_idempotency_keys", idempotency_purge_task, False),
):
    _keep_old_name(_old_name, _task, bind=_bind)
